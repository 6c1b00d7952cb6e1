"""The extractor against the hand-labelled gold set: fails below the agreed thresholds."""
from __future__ import annotations

import pytest

from extract.evaluate import evaluate, load_gold
from extract_helpers import GOLD

# stance: macro-F1 over supports/opposes (the figure these files were first held to); stance_3: over
# supports/opposes/neutral, which the rules alone reach 0.70 on.
THRESHOLDS = {"claims": 0.90, "topics": 0.85, "stance": 0.80, "stance_3": 0.70, "quantities": 0.90}


@pytest.fixture(scope="module")
def result(shipped_nlp):
    """The shipped pipeline (rules and learned heads) on every gold file."""
    gold = [doc for path in sorted(GOLD.glob("*.jsonl")) for doc in load_gold(path)]
    return evaluate(shipped_nlp, gold)


def test_gold_set_is_large_and_labelled(result):
    assert result.units >= 200
    assert result.claims.tp + result.claims.fn >= 100  # gold claims
    assert result.stance["opposes"].tp + result.stance["opposes"].fn >= 20


def test_thresholds(result):
    scores = {
        "claims": result.claims.f1,
        "topics": result.topics.f1,
        "stance": result.stance_two_class_f1,
        "stance_3": result.stance_macro_f1,
        "quantities": result.quantities.f1,
    }
    below = {k: round(v, 3) for k, v in scores.items() if v < THRESHOLDS[k]}
    assert not below, f"below threshold: {below}\n" + "\n".join(result.errors)


def test_stance_cases_from_the_design(nlp):
    from extract.evaluate import predict

    def stance(text: str, topic: str) -> str:
        claims = predict(nlp, text)
        assert claims, text
        return claims[0]["topics"][topic]["stance"]

    fo = "finetuning-obsolescence"
    assert stance("The true cost of fine-tuning isn't the initial training but the ongoing maintenance.", fo) == "supports"
    assert stance("Contrary to past momentum, the most advanced AI startups are increasingly adopting and "
                  "fine-tuning open-source models.", fo) == "opposes"
    assert stance("Despite constant new model releases, enterprises don't frequently switch LLMs.",
                  "switching-costs") == "supports"
    assert stance("Enterprises frequently switch LLMs as new models arrive.", "switching-costs") == "opposes"
    assert stance("Early-stage AI startups should resist spending heavily on fine-tuning foundational models.", fo) == "supports"
    assert stance("Early-stage AI startups should invest heavily in fine-tuning their own models.", fo) == "opposes"


def test_quantity_normalisation(nlp):
    from extract.evaluate import predict

    def quantities(text: str) -> list[tuple]:
        return [(q["value"], q["value_max"], q["unit"], q["kind"]) for c in predict(nlp, text) for q in c["quantities"]]

    assert (1e10, None, "tokens", "count") in quantities("You need 10 billion tokens to make it work.")
    assert (0.2, None, "x", "ratio") in quantities("The model runs at one-fifth the cost of its rivals.")
    assert (-0.6, None, "s", "latency") in quantities("The small model answers 0.6 seconds faster than GPT-4.")
    assert (2, 3, "months", "duration") in quantities("Base models improve every 2-3 months.")
    assert (100, None, "x", "ratio") in quantities("Labs train on ~100x the Chinchilla optimum today.")
    assert (1e7, 1e8, "USD", "money") in quantities("Bloomberg spent eight figures on the model.")
    assert (90, None, "days", "duration") in quantities("Usage drops off significantly within 90 days.")
    assert (90, None, "%", "percent") in quantities("Teams shift 90% of workloads to small models.")
    assert (5e6, None, "USD", "money") in quantities("The startup spent $5M on training runs.")
    assert (6, None, "months", "duration") in quantities("Wait times were six months for large orders.")


def test_stance_general_rules(nlp):
    """Rules that are not tied to one wording: scope, moves, superlatives, trends."""
    from extract.evaluate import predict

    def stance(text: str, topic: str) -> str:
        return predict(nlp, text)[0]["topics"][topic]["stance"]

    # "from X to Y": X is what is left behind
    assert stance("CIOs I spoke with are moving money from pilots to production.", "enterprise-adoption") == "supports"
    # "no longer" negates the whole predicate
    assert stance("Fine-tuning is no longer a science project for most product teams.",
                  "finetuning-obsolescence") == "opposes"
    # "the best closed models" ranks the rival, it recommends nothing
    assert stance("Open-source models still trail the best closed models on complex coding tasks.",
                  "open-weights") == "opposes"
    # a negation does not reach into the next clause that has its own subject
    assert stance("In blind tests, users could not tell the difference, and the serving bill dropped by roughly 60%.",
                  "inference-cost") == "supports"
    # trends read through the direction the proposition claims
    assert stance("Enterprise adoption of AI is growing across every industry.", "enterprise-adoption") == "supports"
    assert stance("Enterprise adoption of AI has stalled this year.", "enterprise-adoption") == "opposes"
    # a claim the writer reports and then contradicts does not count for it
    assert stance("Many AI companies claim that proprietary data is their moat, but the evidence is thin.",
                  "proprietary-data") == "opposes"
    # what something lives or dies by is what decides
    assert stance("Voice agents live or die by response time.", "latency") == "supports"
