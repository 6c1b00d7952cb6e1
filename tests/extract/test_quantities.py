"""Quantities in the forms real AI writing uses, on sentences written for these tests.

Normalisation follows ../shared/LABELING.md: durations under a day in seconds, memory in GB,
model sizes in parameters, rates as unit/denominator, ratios in x; list counts in prose,
years, dates, versions and model names are not quantities.
"""
from __future__ import annotations

import pytest

from extract.quantities import MODELS


def quantities(nlp, text: str) -> list[tuple]:
    """(text, value, upper, unit) of every quantity the parser reads in the whole text."""
    doc = nlp(text)
    blocked = {i for span in doc.spans.get(MODELS, []) for i in range(span.start, span.end)}
    found = nlp.get_pipe("insightkb_quantities").parse(doc, 0, len(doc), blocked)
    return [(q["text"], q["value"], q["value_max"], q["unit"]) for q in found]


@pytest.mark.parametrize("text, expected", [
    # a unit glued to the number
    ("Our p50 latency fell to 150ms once the cache was warm.", ("150ms", 0.15, None, "s")),
    ("Each replica needs an 80GB card to hold the weights.", ("80GB", 80.0, None, "GB")),
    ("Cold starts take 3s on the smallest instance.", ("3s", 3.0, None, "s")),
    ("The adapter file is only 200MB on disk.", ("200MB", 0.2, None, "GB")),
    # en-dash and hyphen ranges
    ("A reasoning model thinks for 2–10 seconds before it answers.", ("2–10 seconds", 2.0, 10.0, "s")),
    ("Retrieval adds 100-300ms to every request we serve.", ("100-300ms", 0.1, 0.3, "s")),
    ("Each nightly job runs 5-10 minutes on a single node.", ("5-10 minutes", 300.0, 600.0, "s")),
    ("The round brought in 20 to 40 million dollars for the lab.", ("20 to 40 million dollars", 2e7, 4e7, "USD")),
    ("Hosting the demo runs $4,000-$6,000 a year in fees.", ("$4,000-$6,000", 4000.0, 6000.0, "USD")),
    ("A spot run costs $5–$12 on most clouds.", ("$5–$12", 5.0, 12.0, "USD")),
    ("Context windows grew to 1-2k tokens per turn in our logs.", ("1-2k tokens", 1000.0, 2000.0, "tokens")),
    # comparison signs
    ("Callers expect a reply in <2s or they hang up.", ("<2s", 2.0, None, "s")),
    ("The benchmark needs >10k examples to be stable.", (">10k examples", 1e4, None, "examples")),
    # suffixed money and model sizes
    ("A custom fine-tune still costs $20K+ at most agencies.", ("$20K+", 2e4, None, "USD")),
    ("A 7B model now matches last year's frontier on our evals.", ("7B", 7e9, None, "parameters")),
    ("We trained a 13B-parameter model on our own tickets.", ("13B-parameter", 1.3e10, None, "parameters")),
    ("The 1.5B variant fits on a phone.", ("1.5B", 1.5e9, None, "parameters")),
    ("Serving a 405 billion model is beyond most small teams.", ("405 billion", 4.05e11, None, "parameters")),
    ("The eight billion model runs on a laptop.", ("eight billion", 8e9, None, "parameters")),
    # rates
    ("The hosted endpoint streams 300 tokens/sec for a single user.", ("300 tokens/sec", 300.0, None, "tokens/s")),
    ("A rented accelerator costs $2/hour on the spot market.", ("$2/hour", 2.0, None, "USD/hour")),
    ("Hand review costs $3.5 per document at our vendor.", ("$3.5 per document", 3.5, None, "USD/document")),
    ("The course is $600 per engineer this autumn.", ("$600 per engineer", 600.0, None, "USD/engineer")),
    ("We got there with 6,000-10,000 clean labels.", ("6,000-10,000 clean labels", 6000.0, 10000.0, "examples")),
    ("Spot capacity goes for $3 an hour at night.", ("$3 an hour", 3.0, None, "USD/hour")),
    ("Eight rented cards cost more than a hundred bucks an hour.", ("hundred bucks an hour", 100.0, None, "USD/hour")),
    ("Monthly traffic is closing in on 1 quadrillion tokens.", ("1 quadrillion tokens", 1e15, None, "tokens")),
    ("The pod pairs 16 CPUs with 4 TPUs for the run.", ("4 TPUs", 4.0, None, "GPUs")),
    ("Decoding reaches 90 tokens per second on a laptop.", ("90 tokens per second", 90.0, None, "tokens/s")),
    # adjectives between number and noun; "as few as"; bits
    ("The team wrote 2,000 hand-labelled examples in a week.", ("2,000 hand-labelled examples", 2000.0, None, "examples")),
    ("Quality held up with as few as 30 examples per class.", ("30 examples", 30.0, None, "examples")),
    ("Weights were squeezed to 4-bit precision without losing accuracy.", ("4-bit", 4.0, None, "bits")),
    ("Serving cost dropped to 20¢ per thousand calls.", ("20¢", 0.2, None, "USD")),
    ("The index reached 100 million+ monthly users within a year.", ("100 million+ monthly users", 1e8, None, "users")),
    ("Prices fell by two orders of magnitude in three years.", ("two orders of magnitude", 100.0, None, "x")),
    ("Distilled students are 10-30x smaller than their teachers.", ("10-30x", 10.0, 30.0, "x")),
    # counts of people in digits or words, ranges with a glued scale on both ends, intensifiers
    ("The whole post-training effort was about 25 people.", ("25 people", 25.0, None, "people")),
    ("Our eval team is nine to eleven people on a good week.", ("nine to eleven people", 9.0, 11.0, "people")),
    ("They ran rejection sampling for three iterations.", ("three iterations", 3.0, None, "iterations")),
    ("The buildout will cost $200M-800M over the decade.", ("$200M-800M", 2e8, 8e8, "USD")),
    ("You are better off with 2,000 very clean labels.", ("2,000 very clean labels", 2000.0, None, "examples")),
])
def test_real_forms(nlp, text, expected):
    assert expected in quantities(nlp, text)


@pytest.mark.parametrize("text", [
    "There are three reasons this approach wins over prompting.",
    "Two ways to win remain: price and speed.",
    "The first two engineers quit in March.",
    "Five labs have already published their own versions.",
    "The 5 stories below explain what changed this week.",
    "In 2024 the team rewrote the pipeline from scratch.",
    "The March 5 release fixed the tokenizer bug.",
    "Version 2 of the library dropped the old API.",
    "GPT-4 and Llama 3.1 both failed the test.",
    "It runs on H100 machines with v2 drivers.",
    "Mixtral 8x7B was the first open mixture we tried.",
    "The 1990s had expert systems, not language models.",
])
def test_not_quantities(nlp, text):
    assert quantities(nlp, text) == []


def test_counts_as_evidence_are_kept(nlp):
    found = quantities(nlp, "The firm now runs 120 production agents and 8,000 annotated contracts.")
    assert ("120 production agents", 120.0, None, "agents") in found
    assert ("8,000 annotated contracts", 8000.0, None, "contracts") in found


def test_a_year_followed_by_a_unit_is_a_number(nlp):
    assert ("2000 examples", 2000.0, None, "examples") in quantities(nlp, "Fine-tuning on 2000 examples was enough.")


def test_offsets_point_at_the_text(nlp):
    text = "Latency dropped to 150ms and the card has 80GB of memory."
    doc = nlp(text)
    for q in nlp.get_pipe("insightkb_quantities").parse(doc, 0, len(doc), set()):
        assert text[q["start_char"]:q["end_char"]] == q["text"]


def test_absurd_numbers_are_refused_not_raised(nlp):
    assert all(q[3] != "x" for q in quantities(nlp, "Scaling gave 4000 orders of magnitude more compute, they claim."))
    assert quantities(nlp, "The lab bought " + "9" * 400 + " GPUs last year.") == []


@pytest.mark.parametrize("text, expected", [
    ("They serve a two-billion parameter model on phones.", ("two-billion parameter", 2e9, None, "parameters")),
    ("The lab trained on 300 B tokens of web text.", ("300 B tokens", 3e11, None, "tokens")),
    ("Our workstation card has 48 gigs of memory.", ("48 gigs", 48.0, None, "GB")),
    ("The cluster now processes 4T tokens per month.", ("4T tokens", 4e12, None, "tokens")),
    ("Renting the box costs $15,000/month in total.", ("$15,000", 15000.0, None, "USD")),
])
def test_more_real_forms(nlp, text, expected):
    assert expected in quantities(nlp, text)


@pytest.mark.parametrize("text", [
    "Llama 3.1 405B answered every question in the test.",
    "Teams collected 100s of examples before the launch.",
    "A zero-shot prompt outperforms the tuned baseline here.",
    "The context window holds 32k and rarely fills.",
])
def test_names_plurals_and_bare_numbers_are_not_quantities(nlp, text):
    assert quantities(nlp, text) == []


@pytest.mark.parametrize("text, expected", [
    ("The lab released checkpoints at 3, 8 and 22 billion parameters last spring.",
     [("3", 3e9, None, "parameters"), ("8", 8e9, None, "parameters"), ("22 billion parameters", 2.2e10, None, "parameters")]),
    ("Sizes of 2, 9, and 27B parameters cover most of our teams.",
     [("2", 2e9, None, "parameters"), ("9", 9e9, None, "parameters"), ("27B parameters", 2.7e10, None, "parameters")]),
    ("We tried timeouts of 4, 6 and 12 seconds on the agent.",
     [("4", 4.0, None, "s"), ("6", 6.0, None, "s"), ("12 seconds", 12.0, None, "s")]),
    ("Discounts reached 15, 25 and 40% by the end of the quarter.",
     [("15", 15.0, None, "%"), ("25", 25.0, None, "%"), ("40%", 40.0, None, "%")]),
])
def test_listed_numbers_share_the_unit_of_the_last(nlp, text, expected):
    assert quantities(nlp, text) == expected


def test_counting_out_loud_is_not_a_list_of_sizes(nlp):
    assert [q[0] for q in quantities(nlp, "Read it again: 1, 2, 3, 4 pages and you are done.")] == ["4 pages"]


@pytest.mark.parametrize("text, expected", [
    ("Moving the weights from int8 to int4 halved the memory we need.", [("int8", 8.0, None, "bits"), ("int4", 4.0, None, "bits")]),
    ("We keep the adapters in bf16 and the base in NF4.", [("bf16", 16.0, None, "bits"), ("NF4", 4.0, None, "bits")]),
])
def test_number_formats_are_bit_widths(nlp, text, expected):
    assert quantities(nlp, text) == expected


@pytest.mark.parametrize("text", ["Revenue rose in Q4 as the H100 supply eased.", "The int7 type is not a real format."])
def test_other_glued_names_are_not_bit_widths(nlp, text):
    assert not any(q[3] == "bits" for q in quantities(nlp, text))


def test_a_k_shot_prompt_counts_its_examples(nlp):
    assert quantities(nlp, "A 10-shot prompt outperforms the tuned baseline here.") == [("10-shot", 10.0, None, "examples")]
    assert quantities(nlp, "One-shot prompting rarely holds up on contracts.") == []


@pytest.mark.parametrize("text, expected", [
    ("The lab rented 512 H100 GPUs for the pretraining run.", [("512 H100 GPUs", 512.0, None, "GPUs")]),
    ("Our sweep ran on 64 A100s for three weeks.", [("64 A100s", 64.0, None, "GPUs"), ("three weeks", 3.0, None, "weeks")]),
    ("A hobbyist can fine-tune it on two 4090s at home.", [("two 4090s", 2.0, None, "GPUs")]),
    ("They moved the job to 16 Nvidia L40S cards last spring.", [("16 Nvidia L40S cards", 16.0, None, "cards")]),
])
def test_an_accelerator_name_between_a_count_and_its_noun(nlp, text, expected):
    assert quantities(nlp, text) == expected


def test_an_accelerator_name_alone_is_no_number(nlp):
    assert quantities(nlp, "The RTX 4090 sold out in a day at most shops.") == []


def test_a_scaled_count_before_context_counts_tokens(nlp):
    assert quantities(nlp, "The new release supports a 128k context out of the box.") == [("128k context", 128000.0, None, "tokens")]
    assert ("3 context", 3.0, None, "tokens") not in quantities(nlp, "We kept 3 context windows open at once.")


def test_a_factor_of_n_is_a_ratio(nlp):
    assert quantities(nlp, "Batching cut our bill by a factor of three overnight.") == [("factor of three", 3.0, None, "x")]


def test_one_example_is_a_phrase_not_a_count(nlp):
    assert quantities(nlp, "For one example, look at how the eval drifted.") == []
    assert quantities(nlp, "We only had 1 example per class to start.") == [("1 example", 1.0, None, "examples")]


def test_a_number_in_words_before_hyphenated_modifiers_and_people(nlp):
    assert quantities(nlp, "The launch took nine full-time engineers a whole quarter.") == [
        ("nine full-time engineers", 9.0, None, "engineers")]
    assert quantities(nlp, "Here are three well-worn reasons to wait.") == []


@pytest.mark.parametrize("text, expected", [
    ("The cluster grew to 20,000 B200s by spring.", [("20,000 B200s", 20000.0, None, "GPUs")]),
    ("Serving it took 5,000 to 10,000 T4s at peak.", [("5,000 to 10,000 T4s", 5000.0, 10000.0, "GPUs")]),
    ("You can try it on a T4 GPU from the free tier.", []),
])
def test_an_accelerator_name_is_not_a_scale_letter(nlp, text, expected):
    assert quantities(nlp, text) == expected


@pytest.mark.parametrize("text, expected", [
    ("Each node in that pod carries 8x Nvidia H100 boards.", [("8x Nvidia H100", 8.0, None, "GPUs")]),
    ("We rented a 4x A100 box for the week.", [("4x A100", 4.0, None, "GPUs")]),
])
def test_n_times_an_accelerator_counts_gpus(nlp, text, expected):
    assert quantities(nlp, text) == expected


def test_gpu_hours_are_their_own_unit(nlp):
    assert quantities(nlp, "The final run used 2.1M GPU hours end to end.") == [("2.1M GPU hours", 2100000.0, None, "GPU-hours")]
    assert quantities(nlp, "Our lab owns 300 GPUs in two racks.") == [("300 GPUs", 300.0, None, "GPUs")]


@pytest.mark.parametrize("text, expected", [
    ("Most hobbyists stay in the 7 billion range for now.", [("7 billion", 7e9, None, "parameters")]),
    ("Teams like the 7-8 billion range for local use.", [("7-8 billion", 7e9, 8e9, "parameters")]),
    ("Both the 8 and 70 billion variants shipped today.", [("8", 8e9, None, "parameters"), ("70 billion", 7e10, None, "parameters")]),
])
def test_a_bare_model_size_before_a_size_word(nlp, text, expected):
    assert quantities(nlp, text) == expected


@pytest.mark.parametrize("text, expected", [
    ("We spent 150k on the cluster last year.", [("150k", 150000.0, None, "USD")]),
    ("She was paid around 90K for the contract.", [("90K", 90000.0, None, "USD")]),
    ("That box is worth 30k at list price.", [("30k", 30000.0, None, "USD")]),
])
def test_a_bare_amount_after_a_money_verb_is_money(nlp, text, expected):
    assert quantities(nlp, text) == expected


@pytest.mark.parametrize("text", [
    "The repo passed 150k stars in a month.",
    "We processed 150k last week without trouble.",
    "They spent 2 weeks on the eval harness.",
])
def test_a_bare_amount_without_a_money_verb_is_not_money(nlp, text):
    assert not any(q[3] == "USD" for q in quantities(nlp, text))


def test_a_price_per_million_tokens_stays_an_amount(nlp):
    # labellers record "$X per million tokens" as X USD (8 of 10 in train), as they do prices per month
    assert quantities(nlp, "It costs $2.50 per million tokens either way.") == [("$2.50", 2.5, None, "USD")]


def test_one_as_a_pronoun_counts_nothing(nlp):
    assert quantities(nlp, "One thing people forget is eval drift.") == []
    assert quantities(nlp, "The most important one people ask about is cost.") == []
    assert quantities(nlp, "We added two engineers in May.") == [("two engineers", 2.0, None, "engineers")]


def test_power_is_in_gigawatts(nlp):
    assert quantities(nlp, "They plan 5 gigawatt data centers in Texas.") == [("5 gigawatt", 5.0, None, "GW")]
    assert quantities(nlp, "The site draws 300MW at peak load.") == [("300MW", 0.3, None, "GW")]


def test_a_bare_trillion_counts_tokens(nlp):
    assert quantities(nlp, "The new base model saw ~15T before its cooldown.") == [("~15T", 15e12, None, "tokens")]
    assert quantities(nlp, "The fund manages $5T in assets.") == [("$5T", 5e12, None, "USD")]


def test_an_accelerator_plural_with_an_apostrophe(nlp):
    assert quantities(nlp, "With 64 H100's you can try a lot of ideas.") == [("64 H100", 64.0, None, "GPUs")]
