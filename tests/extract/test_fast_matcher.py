"""FastMatcher (one-word index, first-word groups, next-word filter) finds exactly what spaCy's
Matcher finds, for the stance and attribution cues and the sender boilerplate as well."""
from __future__ import annotations

import json

from spacy.matcher import Matcher

from extract.cues import split_hyphens
from extract.lexicon import read_jsonl
from extract_helpers import GOLD

EXTRA = [
    "Few teams, and only a few vendors, say fine-tuning pays off; a few-shot prompt is not only cheaper but faster.",
    "Thanks for reading! Forward this to a colleague. Unsubscribe here. Related on the blog: GPU supply.",
    "Startups are moving away from closed APIs in favour of open-weights models, rather than renting GPUs.",
]


def _texts() -> list[str]:
    texts = [json.loads(line)["text"] for path in sorted(GOLD.glob("*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts + EXTRA


def _prepared(nlp, text: str):
    doc = nlp.make_doc(text)
    for name in ("insightkb_segmenter", "insightkb_lemmatizer"):
        doc = nlp.get_pipe(name)(doc)
    return doc


def _same_matches(nlp, fast, plain) -> int:
    """Assert equal matches on every text; how many the plain Matcher found."""
    found = 0
    for text in _texts():
        doc = _prepared(nlp, text)
        assert set(fast(doc)) == set(plain(doc)), text[:80]
        found += len(plain(doc))
    return found


def test_cue_matches_equal_a_plain_matcher(nlp):
    fast = nlp.get_pipe("insightkb_cues").matcher
    plain = Matcher(nlp.vocab)
    for path in ("stance_lexicon.jsonl", "attribution.jsonl"):
        for i, row in enumerate(read_jsonl(path)):
            if "pattern" in row and row.get("kind") != "valence_source":
                plain.add(f"{path}:{i}", split_hyphens(row["pattern"]))
    assert _same_matches(nlp, fast, plain) > 500


def test_boilerplate_matches_equal_a_plain_matcher(nlp):
    fast = nlp.get_pipe("insightkb_claims").matcher
    plain = Matcher(nlp.vocab)
    from extract.claims import boilerplate_key

    for i, row in enumerate(read_jsonl("boilerplate.jsonl")):
        plain.add(boilerplate_key(i, row), [row["pattern"]])
    assert _same_matches(nlp, fast, plain) > 20
