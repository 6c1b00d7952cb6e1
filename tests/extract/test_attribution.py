"""Who said it: speakers in the forms newsletters use, and sentences that name nobody."""
from __future__ import annotations

import pytest

from extract.evaluate import predict

SAID = [
    ("Dana Whitfield, chief scientist at Corvid Labs, said that small models now win on latency.", "Dana Whitfield"),
    ("Rafael Ortiz warned that GPU rentals will stay tight through next year.", "Rafael Ortiz"),
    ("According to Mei Tanaka, most enterprises still run pilots rather than production systems.", "Mei Tanaka"),
    ("Open-weights models are catching up fast, says Jonas Berg, a partner at Fjord Capital.", "Jonas Berg"),
    ("Keisha Grant, who leads the data team at Lumen, pushed back: retraining every quarter is too expensive.",
     "Keisha Grant"),
    ("Oskar Lind, an investor at Pine Ventures, disagreed, arguing that the application layer keeps the margins.",
     "Oskar Lind"),
    ("An Anthropic researcher cautioned that interpretability tools remain far from production use.",
     "Anthropic researcher"),
]
NOBODY = [
    "We think fine-tuning still pays off for narrow tasks.",
    "Some argue that base models make custom training obsolete.",
    "Note that inference costs fall every quarter.",
    "AI vendors say switching models is now painless.",
]


@pytest.mark.parametrize("text, speaker", SAID)
def test_named_speakers(nlp, text, speaker):
    claims = predict(nlp, text)
    assert claims and claims[0]["speaker"] == speaker


@pytest.mark.parametrize("text", NOBODY)
def test_sentences_that_name_nobody(nlp, text):
    claims = predict(nlp, text)
    assert claims and claims[0]["speaker"] is None


def test_a_timestamped_turn_header_names_the_speaker_of_its_turn(nlp):
    text = ("Priya Raman (00:41:07): Small models already win on latency for support bots. "
            "They cost far less to serve as well. Tom Beck (00:42:15): Frontier prices fall every quarter."
            "\n\nThe vendors expect the gap to close within a year.")
    tom, after = text.index("Tom Beck"), text.index("The vendors")
    expected = [("Priya Raman" if c["start_char"] < tom else "Tom Beck" if c["start_char"] < after else None)
                for c in predict(nlp, text)]
    assert len(expected) >= 3 and [c["speaker"] for c in predict(nlp, text)] == expected


@pytest.mark.parametrize("text", ["Key Takeaway: small models already win on latency for support bots.",
                                  "Update (12:30): small models already win on latency for support bots."])
def test_headings_without_a_turn_name_nobody(nlp, text):
    claims = predict(nlp, text)
    assert claims and claims[0]["speaker"] is None
