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
