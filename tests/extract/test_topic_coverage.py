"""Topic vocabulary coverage: the ways people talk about each topic reach it, near-misses don't.

Sentences written for this test (not taken from the gold files). Each REACHES case names a
topic the sentence must be tagged with; each MISSES case names a topic it must not get, for
wording that is close to a topic word but means something else.
"""
from __future__ import annotations

import json

import pytest

TOPICS = "insightkb_topics"

REACHES = [
    # finetuning-obsolescence: customising a model by training it, base models overtaking that work
    ("finetuning-obsolescence", "Our custom-trained triage model still beats the general one."),
    ("finetuning-obsolescence", "They retrained the classifier on last quarter's tickets."),
    ("finetuning-obsolescence", "Instruction-tuned variants are easy to produce now."),
    ("finetuning-obsolescence", "Few teams need to build their own model anymore."),
    ("finetuning-obsolescence", "Task-specific models keep winning on narrow extraction jobs."),
    ("finetuning-obsolescence", "A specialised model for invoice parsing paid for itself."),
    ("finetuning-obsolescence", "Each stronger base model wipes out months of that work."),
    ("finetuning-obsolescence", "The tuned checkpoint was superseded within a quarter."),
    ("finetuning-obsolescence", "Nobody knows whether foundation models will plateau next year."),
    ("finetuning-obsolescence", "SFT on a few thousand pairs was all it took."),
    # latency
    ("latency", "Shoppers abandon the chat after any noticeable delay."),
    ("latency", "Time-to-first-token matters more than total generation time."),
    ("latency", "The assistant feels sluggish on mobile."),
    ("latency", "We need sub-second answers for the phone line."),
    ("latency", "The p95 figure doubled after the upgrade."),
    # token-thresholds
    ("token-thresholds", "A modest dataset of clean examples was enough for the task."),
    ("token-thresholds", "The amount of training data you need is smaller than people think."),
    ("token-thresholds", "Most firms never reach the critical mass of data this requires."),
    ("token-thresholds", "After de-duplication only a fraction of the corpus was left."),
    ("token-thresholds", "Five hundred labelled examples moved accuracy by ten points."),
    # inference-cost
    ("inference-cost", "Our hosting bill tripled once the feature went live."),
    ("inference-cost", "The cost per query is what kills the business case."),
    ("inference-cost", "Smaller models are far cheaper to serve at this volume."),
    ("inference-cost", "They slashed their API spend by routing easy requests elsewhere."),
    ("inference-cost", "Gross margins suffer when every answer calls the largest model."),
    # proprietary-data
    ("proprietary-data", "Exclusive claims data is the one thing rivals cannot buy."),
    ("proprietary-data", "Years of first-party usage logs give them an edge."),
    ("proprietary-data", "The data flywheel only turns if users keep correcting the output."),
    ("proprietary-data", "Access to unique data decides who wins this market."),
    ("proprietary-data", "Whoever controls the data controls the outcome."),
    # application-layer
    ("application-layer", "The winners will own the customer relationship, not the weights."),
    ("application-layer", "Value accrues to whoever sits closest to the user."),
    ("application-layer", "Vertical AI companies are raising larger rounds this year."),
    ("application-layer", "Models are being commoditised faster than anyone expected."),
    ("application-layer", "A thin wrapper has no defence once the lab ships the same feature."),
    ("application-layer", "The model layer is crowded; the money is elsewhere."),
    # distillation-quantization
    ("distillation-quantization", "An int4 build of the model fits on a single card."),
    ("distillation-quantization", "The student model matched its teacher on most benchmarks."),
    ("distillation-quantization", "Lower-precision weights barely changed the answers."),
    ("distillation-quantization", "They ship a slimmed-down version for laptops."),
    ("distillation-quantization", "Sparse MoE designs keep the active parameter count low."),
    # gpu-supply
    ("gpu-supply", "New data centres are waiting on power connections."),
    ("gpu-supply", "Hyperscalers have booked most of next year's capacity."),
    ("gpu-supply", "Startups still struggle to find enough compute for a training run."),
    ("gpu-supply", "Spot prices for cloud instances fell again this month."),
    ("gpu-supply", "The supply crunch eased once the new fabs came online."),
    # enterprise-adoption
    ("enterprise-adoption", "Most proofs of concept never get a budget line."),
    ("enterprise-adoption", "Uptake among insurers has been slower than vendors promised."),
    ("enterprise-adoption", "Half the projects are stuck in pilot purgatory."),
    ("enterprise-adoption", "Only a third of those projects ever moved into production."),
    ("enterprise-adoption", "Large organisations are deploying assistants across every department."),
    # switching-costs
    ("switching-costs", "Swapping one provider for another took an afternoon."),
    ("switching-costs", "Prompt portability is a myth at this level of tuning."),
    ("switching-costs", "The big labs want you tied to a single vendor."),
    ("switching-costs", "Teams hedge with a multi-provider setup from day one."),
    ("switching-costs", "Nobody wants to rewrite every prompt for a new model."),
    ("switching-costs", "Most teams switch providers at least once a year."),
    # model-depreciation
    ("model-depreciation", "A frontier model has a shelf life of about six months."),
    ("model-depreciation", "Labs cannot amortise a training run over such a short window."),
    ("model-depreciation", "The checkpoint lost most of its value when the successor shipped."),
    ("model-depreciation", "Investors are starting to treat model training as sunk cost."),
    # open-weights
    ("open-weights", "Self-hosted models keep patient records inside the hospital."),
    ("open-weights", "Open models are now the default for internal tools."),
    ("open-weights", "Proprietary models still lead on long-context reasoning."),
    ("open-weights", "The lab decided to release the weights under a permissive licence."),
    ("open-weights", "Llama derivatives power most of the hobbyist tools."),
    # interpretability
    ("interpretability", "Sparse autoencoders surface features that humans can name."),
    ("interpretability", "Regulators will not accept a black-box credit model."),
    ("interpretability", "We still cannot explain why the model refuses some requests."),
    ("interpretability", "Explainable systems are easier to get past compliance review."),
    # wordings that name no topic word
    ("finetuning-obsolescence", "We spent a quarter tuning a model that the next release made pointless."),
    ("latency", "Callers hang up if the bot takes more than a second to reply."),
    ("token-thresholds", "You need far less data than most vendors claim."),
    ("inference-cost", "Token prices dropped again, and the unit cost of an answer with them."),
    ("proprietary-data", "Their moat is the interaction data from ten million users."),
    ("application-layer", "Startups building on top of the big models capture most of the value."),
    ("application-layer", "Integrations with the tools customers already use are harder to copy than any model."),
    ("distillation-quantization", "Four-bit weights cut memory use by three quarters."),
    ("gpu-supply", "Compute is still rationed at the big clouds."),
    ("enterprise-adoption", "Banks have moved dozens of generative AI use cases into production."),
    ("switching-costs", "Our prompts would not transfer cleanly to another model."),
    ("switching-costs", "Once a team is built around one vendor, leaving is painful."),
    ("model-depreciation", "The value of a trained model decays as soon as a better one ships."),
    ("open-weights", "They host the weights themselves to keep data off third-party servers."),
    ("interpretability", "Researchers can now trace which internal features drive a model's answer."),
    ("latency", "Our agents feel sluggish because each step waits on a large model."),
    ("inference-cost", "The economics of serving long contexts are brutal."),
    ("proprietary-data", "Healthcare startups win on patient records nobody else can get."),
    ("application-layer", "The model is a component; the product around it is the business."),
    ("gpu-supply", "Compute scarcity is over for inference workloads."),
    ("switching-costs", "Nobody is locked in anymore."),
    ("switching-costs", "Teams route requests across several providers to avoid reliance on a single vendor."),
    ("open-weights", "Companies prefer to download the weights and inspect them."),
    # more wordings (a second vocabulary pass, from error classes on unseen text)
    ("inference-cost", "The smaller model is four times cheaper per request."),
    ("model-depreciation", "Last year's checkpoint is now worth a fraction of what we paid for it."),
    ("model-depreciation", "Classifiers we trained two years ago still earn their keep."),
    ("token-thresholds", "Twelve thousand labelled tickets were enough to beat the prompt."),
    ("proprietary-data", "Their edge is the data flywheel from millions of support chats."),
    ("proprietary-data", "Corrections from clinicians flow back into the training set every night."),
    ("interpretability", "The team can isolate individual neurons that track sarcasm."),
    ("interpretability", "Nobody can yet explain why a model prefers one citation over another."),
    ("enterprise-adoption", "Retailers now spend millions a year on AI assistants."),
    ("enterprise-adoption", "Few of them have AI that runs in production yet."),
    ("open-weights", "Regulated buyers still pick a closed vendor with an indemnity clause."),
    ("open-weights", "Nobody wants a model they have to patch themselves."),
    ("application-layer", "Apps without their own models hand most of their margin to the labs."),
    ("latency", "Analysts happily wait ten seconds for a thorough answer."),
    ("distillation-quantization", "The compact model behaves almost like the original on our evals."),
    ("finetuning-obsolescence", "Analysts expect another leap in raw capability by spring."),
    ("finetuning-obsolescence", "Hospitals want specialized open-source models they can audit."),
    ("model-depreciation", "A model ages like milk, not like wine."),
    ("model-depreciation", "Each adapter goes stale as soon as the base model moves."),
    ("model-depreciation", "The residual value of last year's checkpoint is close to zero."),
    ("proprietary-data", "They sit on claims data no competitor can match."),
    ("token-thresholds", "Nobody knows how many labelled examples the task really needs."),
    ("interpretability", "Few tools let you look inside the model while it answers."),
    ("open-weights", "The lab shipped it under a permissive licence."),
    ("application-layer", "The model is becoming a commodity; the workflow is not."),
    ("gpu-supply", "The new campus needs two gigawatts before a single rack is lit."),
    ("finetuning-obsolescence", "Prompting a general model got us further than training one."),
    ("token-thresholds", "Their dataset was far too small for anything custom."),
    ("application-layer", "The value lies in the workflow, not in the weights."),
    ("enterprise-adoption", "Few generative AI projects ever reach production."),
    ("interpretability", "Lenders must explain the model's decisions to every applicant."),
    ("latency", "The first token arrives before the user looks up."),
    ("latency", "Each step takes more than two seconds on the big model."),
    ("inference-cost", "Our API costs fell once easy queries went to a small model."),
    ("token-thresholds", "Data quantity matters less than label quality."),
    ("application-layer", "Model makers are moving up the stack into finished products."),
    ("application-layer", "Anything built on their APIs is one launch away from irrelevance."),
    ("application-layer", "Apps that sit on someone else's model own very little."),
    ("enterprise-adoption", "Budgets for generative AI doubled at most insurers."),
    ("open-weights", "The weights are free to download and modify."),
    ("interpretability", "Neuron-level analysis is still crude."),
    ("latency", "A two-second delay halves the conversion rate."),
]

MISSES = [
    ("switching-costs", "Adoption is not as simple as flipping a switch and hoping."),
    ("switching-costs", "They locked in a lower price for the next two years."),
    ("enterprise-adoption", "The new model is slower in production than in the demo."),
    ("enterprise-adoption", "A retail CTO told us the rollback took a week."),
    ("gpu-supply", "Silicon Valley investors are cooling on the sector."),
    ("finetuning-obsolescence", "The product team retrained staff on the new tools."),
    ("finetuning-obsolescence", "They changed the model's behaviour with a single prompt."),
    ("latency", "The fast pace of releases makes planning hard."),
    ("latency", "Base models improve quickly."),
    ("inference-cost", "Operating costs rose because of new hires."),
    ("inference-cost", "The bill passed the senate last week."),
    ("token-thresholds", "Big data projects of the last decade rarely paid off."),
    ("distillation-quantization", "The low-rank adapters were trained overnight."),
    ("application-layer", "Latency hurts the user experience on every screen."),
    ("application-layer", "Most teams keep their own workflows."),
    ("interpretability", "Under the hood, the app calls a hosted model."),
    ("open-weights", "Weights and biases are updated by gradient descent."),
    ("model-depreciation", "Their life changed when the startup was acquired."),
    ("proprietary-data", "The survey asked users about their experience."),
    ("switching-costs", "She switched careers after a decade in finance."),
    ("inference-cost", "The cheaper seats in the hall sold out first."),
    ("open-weights", "They download the app on their phones."),
    ("enterprise-adoption", "Vendor churn is the silent killer of AI budgets."),
    ("inference-cost", "Their sales team shipped three features and closed a record deal."),
    # words of a topic's vocabulary said about something else
    ("finetuning-obsolescence", "Every new model release reshuffles the leaderboard."),
    ("finetuning-obsolescence", "Startups that lack their own models depend on the labs' roadmaps."),
    ("token-thresholds", "The provider now charges less per token than last year."),
    ("gpu-supply", "The Inference Hour interviewed two founders this week."),
    ("interpretability", "Customers asked us to identify features they would pay for."),
    ("latency", "Take a second to read the terms before you sign."),
    ("finetuning-obsolescence", "Training one new hire takes a month."),
    ("interpretability", "The chief executive explained the decision to the board."),
    ("model-depreciation", "Yesterday's headlines go stale by lunchtime."),
    ("latency", "Users wait for the weekly digest to land."),
    ("proprietary-data", "Founders keep a tight feedback loop with their first customers."),
    ("application-layer", "The tech stack is mostly Python and Postgres."),
    ("open-weights", "Entry is free to anyone who signs up."),
]


def topics_of(nlp, text: str) -> set[str]:
    doc = nlp(text)
    return {span.id_ for span in doc.spans[TOPICS]}


@pytest.mark.parametrize("topic,text", REACHES, ids=[f"{t}:{s[:30]}" for t, s in REACHES])
def test_wording_reaches_topic(nlp, topic, text):
    assert topic in topics_of(nlp, text)


@pytest.mark.parametrize("topic,text", MISSES, ids=[f"{t}:{s[:30]}" for t, s in MISSES])
def test_near_miss_stays_off_topic(nlp, topic, text):
    assert topic not in topics_of(nlp, text)


def test_every_topic_has_coverage_cases():
    from kb.topics import shipped_topics

    slugs = {t["slug"] for t in shipped_topics() if t["patterns"]}
    assert slugs == {t for t, _s in REACHES}


def test_claims_carry_the_topics(nlp):
    """Topics reach the claim records too, not only the ruler's spans."""
    from extract.evaluate import predict

    claims = predict(nlp, "Swapping one provider for another took an afternoon, and the hosting bill fell by half.")
    assert claims
    assert {"switching-costs", "inference-cost"} <= set(claims[0]["topics"])


def test_ruler_finds_what_a_plain_matcher_finds(nlp):
    """The topic ruler's shortcuts (one-word index, first-word groups, next-word filter) change
    no match: same (pattern, start, end) as spaCy's Matcher over every pattern, on every gold text."""
    from spacy.matcher import Matcher

    from extract.rulers import topic_entries
    from extract_helpers import GOLD
    from kb.topics import shipped_topics

    ruler = nlp.get_pipe("insightkb_topic_ruler")
    plain = Matcher(nlp.vocab)
    for entry in topic_entries(shipped_topics()):
        plain.add(repr((entry["label"], entry.get("id", ""))), [entry["pattern"]])
    texts = [json.loads(line)["text"] for path in sorted(GOLD.glob("*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts += [text for _topic, text in REACHES + MISSES]
    checked = 0
    for text in texts:
        doc = nlp.make_doc(text)
        for name in ("insightkb_segmenter", "insightkb_lemmatizer"):
            doc = nlp.get_pipe(name)(doc)
        assert set(ruler.matcher(doc)) == set(plain(doc)), text[:80]
        checked += len(plain(doc))
    assert checked > 300
