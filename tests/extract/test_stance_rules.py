"""General stance rules, each checked on sentences written for this test (none from the gold files)."""
from __future__ import annotations

import pytest

from extract.cues import split_hyphens
from extract.evaluate import predict
from extract.valence import valence_words

FO = "finetuning-obsolescence"
EA = "enterprise-adoption"
OW = "open-weights"
DQ = "distillation-quantization"


def stance(nlp, text: str, topic: str) -> str:
    claims = predict(nlp, text)
    assert claims, text
    assert topic in claims[0]["topics"], (text, claims[0]["topics"])
    return claims[0]["topics"][topic]["stance"]


@pytest.mark.parametrize("text, topic, expected", [
    # leaving verbs: what is left behind counts reversed, and a negation reverses that again
    ("Most insurers have now graduated from pilots and run AI in daily claims handling.", EA, "supports"),
    ("Retailers have moved beyond pilots and now run AI in every store.", EA, "supports"),
    ("Hospital networks rarely get past the pilot phase with clinical AI tools.", EA, "opposes"),
    # alternatives: "in favour of X" prefers X, "rather than X" turns X down; a scope stops there
    ("Agencies are dropping closed APIs in favor of open-source models they control.", OW, "supports"),
    ("Agencies are dropping open-source models in favor of closed APIs.", OW, "opposes"),
    ("Banks now run open-weights models rather than closed APIs.", OW, "supports"),
    ("Banks now run closed APIs rather than open-weights models.", OW, "opposes"),
    # quantifier negators ("few", "little"), but not "a few"
    ("Few of the banks we interviewed run open-source models in production.", OW, "opposes"),
    ("A few banks run open-source models in production.", OW, "supports"),
    ("The quantized checkpoint lost little accuracy on our translation suite.", DQ, "supports"),
    # "has yet to" negates
    ("Mechanistic interpretability has yet to explain a single production model end to end.",
     "interpretability", "opposes"),
    # importance predicates judge their subject; negated, they deny it
    ("GPU supply is rarely the key constraint for small research labs.", "gpu-supply", "opposes"),
    ("Our custom fine-tuned claims model paid for itself within a quarter.", FO, "opposes"),
    # "X beats Y" praises X; the passive swaps the sides
    ("Our distilled model beat the original on every support benchmark.", DQ, "supports"),
    ("Our distilled model was beaten by the original on every support benchmark.", DQ, "opposes"),
    # praising the contrary pole ("closed models" for open-weights) opposes
    ("Closed-source models remain far more reliable than open ones.", OW, "opposes"),
    # a negated predicate is the claim, not the cue in its subject
    ("Cutting the model size did not reduce our inference costs, since idle capacity dominated.",
     "inference-cost", "opposes"),
    # moving away from something rejects it; from the contrary pole, it endorses the topic
    ("Banks are moving away from closed APIs.", OW, "supports"),
    ("Startups are moving away from open-weights models after a wave of security incidents.", OW, "opposes"),
    # a trend is read on the pole named before it
    ("Closed models are losing ground to open ones in regulated industries.", OW, "supports"),
    # a concessive phrase is outside the scope of the negation that follows it
    ("Despite the hype, few buyers care about latency under a second.", "latency", "opposes"),
    # idioms of praise and endorsement
    ("Open-weights models are here to stay.", OW, "supports"),
    ("Fine-tuning is no silver bullet for most products.", FO, "supports"),
    ("Smart teams are doubling down on fine-tuning for their core workflows.", FO, "opposes"),
    # what decides, or is secondary, is judged as the subject of the clause
    ("Latency decides whether users stick with a voice product.", "latency", "supports"),
    ("For most internal tools latency is a secondary concern.", "latency", "opposes"),
    # hyphenated lexicon words match although the tokenizer splits them
    ("Sub-second latency is non-negotiable for trading desks.", "latency", "supports"),
    # obsolescence, sameness and failure words; "ended" in "open-ended" ends nothing
    ("By the time a fine-tuned model ships, a better base model has usually made it redundant.", FO, "supports"),
    ("Quantized checkpoints behave almost identically to the originals.", DQ, "supports"),
    ("Distilled students hallucinate far more than their teachers on open-ended questions.", DQ, "opposes"),
    # easing ends what comes before it
    ("Chip shortages have eased and cloud GPUs are easy to rent again.", "gpu-supply", "opposes"),
    # switching is the contrary pole of switching costs: what is said of it counts reversed
    ("Once a team has tuned prompts for one model, switching is rarely worth the effort.",
     "switching-costs", "supports"),
    ("Switching models is worth it whenever prices drop.", "switching-costs", "opposes"),
    # "not only" does not negate
    ("Open-weights models not only match closed APIs on cost, they often beat them on price.", OW, "supports"),
    # a rejecting verb turns down its object, not its adjuncts
    ("We abandoned our distillation effort after three months of regressions.", DQ, "opposes"),
    # retrieval is the contrary pole of fine-tuning obsolescence: praising it supports the proposition
    ("Retrieval is flawless for most support tasks.", FO, "supports"),
    ("Retrieval beats fine-tuned models on most support tasks.", FO, "supports"),
    # survival verbs under negation
    ("Wrappers around a single vendor's API rarely survive a platform shift.", "application-layer", "opposes"),
    # a benefit, then a cost after "but": the cost is the point
    ("Distilling the model halved our serving bill, but the answers became noticeably worse on long contracts.",
     DQ, "opposes"),
    ("Quantization is fast and cheap, but it breaks down on math.", DQ, "opposes"),
    ("Open models were hard to set up, but once running they have been rock solid.", OW, "supports"),
    # diverting spend away from an approach turns it down; toward it, endorses it
    ("Companies should redirect their fine-tuning spend toward retrieval.", FO, "supports"),
    ("Shift the money you would spend on fine-tuning into evaluation.", FO, "supports"),
    # moves: the destination is endorsed, the origin left
    ("Several banks moved their document pipelines onto open-weights models this year.", OW, "supports"),
    ("Teams are moving workloads from open-source models back to closed APIs.", OW, "opposes"),
    ("We never moved any workload to open-weights models, and we never will.", OW, "opposes"),
    # comparatives with "than": the first side wins (or loses, for "slower", "more expensive")
    ("Open-weights models are cheaper than closed APIs for most workloads.", OW, "supports"),
    ("Closed APIs are faster than open-weights models for long contexts.", OW, "opposes"),
    ("Closed models are more expensive than open ones at scale.", OW, "supports"),
    ("Open-weights models are still slower than the best closed APIs on long prompts.", OW, "opposes"),
    # the consequences of scarcity assert it
    ("Half the startups we spoke to delayed their product launches because they could not secure enough H100s.",
     "gpu-supply", "supports"),
    # the burden of changing supports switching costs; changing routinely opposes them
    ("Switching to a new provider means rewriting hundreds of prompts and retesting every workflow.",
     "switching-costs", "supports"),
    ("Her team swaps models every month without any trouble.", "switching-costs", "opposes"),
    # negative quantifier subjects negate the verb; a second negation cancels the first
    ("No one at the conference thought latency mattered for batch analytics.", "latency", "opposes"),
    ("Nobody disputes that open models are catching up.", OW, "supports"),
    # a semicolon ends a scope: the second clause's verb does not reach back
    ("Nobody here thinks latency justifies a smaller model; our analysts happily wait.", "latency", "opposes"),
    # a condition opening the sentence stays outside the negation that follows
    ("Under a billion tokens, fine-tuning rarely beats good prompting.", "token-thresholds", "supports"),
    ("Unless you have at least ten billion tokens of clean data, custom training is a waste.",
     "token-thresholds", "supports"),
    # a clause before the comma is outside the negation of the clause after it
    ("Inference bills keep falling, so serving cost is no longer what keeps CFOs up at night.",
     "inference-cost", "supports"),
    # losing value or an edge; paying one's way
    ("Every time a new frontier model ships, our custom model loses its edge.", FO, "supports"),
    ("Custom models still pay their way when the task is narrow and stable.", FO, "opposes"),
    # GPUs easy to rent, or impossible to get
    ("H100s are now easy to rent by the hour.", "gpu-supply", "opposes"),
    ("We could not rent enough GPUs for the training run.", "gpu-supply", "supports"),
    # a leaving act as the subject leaves nothing behind
    ("Once the workflows are built around one vendor's quirks, leaving is expensive.", "switching-costs", "supports"),
    # asking for and buying something endorses it; negated, it turns it down
    ("Not a single customer asked us for an open-weights deployment this year.", OW, "opposes"),
    ("Open-weights models are improving fast, yet most enterprises still buy closed APIs.", OW, "opposes"),
    # nobody can tell a compressed model apart: indistinguishable
    ("The quantized model runs on a laptop, and our testers could not tell it apart from the original.", DQ, "supports"),
    ("Listeners immediately noticed the difference when we swapped in the distilled voice model.", DQ, "opposes"),
    ("Hardly anyone still believes that GPU supply limits what startups can build.", "gpu-supply", "opposes"),
    # stopping something turns it down
    ("We stopped fine-tuning last year and have not missed it.", FO, "supports"),
    # catching failures is what interpretability promises; "yet to" denies it
    ("Interpretability tools have yet to catch a single real failure in production.", "interpretability", "opposes"),
    # what powers products is endorsed
    ("Open models now power most of the copilots we reviewed.", OW, "supports"),
    # with both poles named, a judging word counts for the one it is said of
    ("Open-weights models are free to download, but the closed APIs are still more reliable.", OW, "opposes"),
    # idioms of worth and of being crushed
    ("Our two-year-old fine-tuned model still earns its keep in claims processing.", FO, "opposes"),
    ("Wrapper startups get flattened whenever the model vendor ships a new feature.", "application-layer", "opposes"),
    ("Insurers have rolled generative AI out to every claims desk.", EA, "supports"),
])
def test_general_rule(nlp, text, topic, expected):
    assert stance(nlp, text, topic) == expected


def test_general_valence_words_judge_the_topic_only_when_said_of_it(nlp):
    # "dreadful" and "amazing" are in no hand list: they come from the VADER lexicon
    assert stance(nlp, "Distilled models are dreadful on legal questions.", DQ) == "opposes"
    assert stance(nlp, "Quantized models are amazing for classification.", DQ) == "supports"
    assert stance(nlp, "Dreadful support tickets still reach our distilled model.", DQ) == "neutral"
    # looked up by lemma too: VADER rates "wreck", not "wrecked"
    assert stance(nlp, "Quantization to 4 bits wrecked the model's reasoning on long contexts.", DQ) == "opposes"


def test_cues_record_why(nlp):
    claims = predict(nlp, "Few of the banks we interviewed run open-source models in production.")
    cues = claims[0]["topics"][OW]["cues"]
    assert any("Few" in c and "run" in c for c in cues), cues


def test_leaving_in_place_is_not_leaving(nlp):
    claims = predict(nlp, "Most hospitals leave their pilot projects in place for years.")
    assert not any("leave" in c for c in claims[0]["topics"].get(EA, {}).get("cues", []))


def test_valence_words_from_the_package():
    row = {"package": "vaderSentiment", "file": "vader_lexicon.txt", "min_abs": 1.5, "exclude": ["great"]}
    words = valence_words(row)
    assert words["dreadful"] == -1 and words["amazing"] == 1
    assert "great" not in words  # excluded by the row
    assert ":)" not in words  # words of letters only, no emoticons
    assert all(w.replace("-", "").replace("'", "").isalpha() for w in words)


def test_missing_valence_package_gives_no_words():
    assert valence_words({"package": "no_such_package_xyz", "file": "x.txt"}) == {}


def test_split_hyphens():
    assert split_hyphens([{"LOWER": {"IN": ["key", "go-to"]}}]) == [
        [{"LOWER": {"IN": ["key"]}}], [{"LOWER": "go"}, {"ORTH": "-"}, {"LOWER": "to"}]]
    assert split_hyphens([{"LEMMA": "drop"}, {"LOWER": "off"}]) == [[{"LEMMA": "drop"}, {"LOWER": "off"}]]


def test_set_phrases_judge_nothing(nlp):
    claims = predict(nlp, "For what it is worth, we ran open-weights models in production all year.")
    cues = claims[0]["topics"][OW]["cues"]
    assert not any("worth" in c for c in cues), cues


def test_a_relative_clause_only_says_which_model(nlp):
    claims = predict(nlp, "The fine-tuned model we built last spring is already outclassed by the latest general release.")
    assert not any("built" in c for c in claims[0]["topics"][FO]["cues"])
