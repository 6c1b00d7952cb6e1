"""digest.insight: the claim plus the least context, cleaned, attributed, never cut."""
from __future__ import annotations

from digest.insight import clean, headline, is_cut, leans_back, make_insight, source_name


def test_leading_anaphor_gets_the_sentence_before_from_its_passage():
    doc = ("Intro paragraph.\n\nTeams now post-train open-weights models on their own data. "
           "This approach offers significant benefits, including lower cost and latency.")
    start = doc.index("This approach")
    ins = make_insight(doc[start:], doc, start, len(doc), passage=(doc.index("Teams"), len(doc)))
    assert ins.lead == "Teams now post-train open-weights models on their own data."
    assert ins.text.startswith("This approach") and not ins.unresolved


def test_first_sentence_of_a_passage_takes_the_paragraph_before():
    doc = "Enterprise chatbots launched in spring.\n\nInitial adoption spikes, then usage drops off within 90 days."
    start = doc.index("Initial")
    ins = make_insight(doc[start:], doc, start, len(doc), passage=(start, len(doc)))
    assert ins.lead == "Enterprise chatbots launched in spring."


def test_a_long_self_contained_claim_gets_no_lead():
    doc = "Something before. " + "Bloomberg spent eight figures on BloombergGPT, only for GPT-4 to make it obsolete weeks later."
    start = doc.index("Bloomberg")
    assert make_insight(doc[start:], doc, start, len(doc)).lead == ""


def test_speaker_becomes_attribution_and_bullets_and_markup_go():
    ins = make_insight("Darth Vader: I am your father.", None, None, None, speaker=None)
    assert ins.speaker == "Darth Vader" and ins.text == "I am your father."
    assert clean("- Proprietary data drives **real** differentiation, *after* launch.") == \
        "Proprietary data drives real differentiation, after launch."
    assert clean("1. See [the paper](https://x.example/p) and `code`[^note].") == "See the paper and code."
    assert clean("snake_case_names stay") == "snake_case_names stay"


def test_a_trailing_ellipsis_is_continued_to_the_end_of_the_sentence():
    doc = "Usage drops off... unless the tool is in the workflow. Next sentence."
    end = doc.index("...") + 3
    ins = make_insight(doc[:end], doc, 0, end)
    assert ins.text == "Usage drops off... unless the tool is in the workflow."
    assert is_cut("the harness is evolvable: each task family keeps its own harness,…")
    assert not is_cut("It ends well. …") and not is_cut("A whole sentence.")


def test_headline_says_topic_and_stance_in_words():
    prop = "Fine-tuning your own model is a poor investment because base models improve so fast."
    assert headline("Fine-tuning obsolescence", prop, "opposes", "x") == "Against: fine-tuning your own model is a poor investment"
    assert headline("Fine-tuning obsolescence", prop, "supports", "x").startswith("For: fine-tuning")
    assert headline("Latency", "Low latency matters.", "neutral", "Voice bots need answers in 300 ms.").startswith("On latency: Voice bots")
    assert leans_back("These models retain quality.") and not leans_back("There is a path.")


def test_source_names_read_like_names():
    assert source_name("The Batch", "https://x") == "The Batch"
    assert source_name(None, "https://www.deeplearning.ai/feed/") == "deeplearning.ai"
    assert source_name(None, "/work/shared/corpus/feeds/olshansk__feed_meta_ai.xml") == "olshansk__feed_meta_ai"
