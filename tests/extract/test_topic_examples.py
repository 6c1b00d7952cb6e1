"""Each shipped topic record's example sentences (our own, kb/data/topics.jsonl) reach that topic,
and the rules read the stance each is labelled with for nearly all of them."""
from __future__ import annotations

import pytest

from kb.topics import shipped_topics

EXAMPLES = [(t["slug"], e["text"], e["stance"]) for t in shipped_topics() for e in t["examples"]]


def test_every_topic_has_examples_of_both_stances():
    for topic in shipped_topics():
        assert {e["stance"] for e in topic["examples"]} >= {"supports", "opposes"}, topic["slug"]


@pytest.mark.parametrize("topic,text,stance", EXAMPLES, ids=[f"{t}:{s[:30]}" for t, s, _x in EXAMPLES])
def test_example_reaches_its_topic(nlp, topic, text, stance):
    from extract.evaluate import predict

    assert any(topic in c["topics"] for c in predict(nlp, text))


def test_rules_read_the_examples_stances(nlp):
    from extract.evaluate import predict

    right = sum(any(c["topics"].get(topic, {}).get("stance") == stance for c in predict(nlp, text))
                for topic, text, stance in EXAMPLES)
    assert right >= len(EXAMPLES) - 2, f"{right} of {len(EXAMPLES)}"
