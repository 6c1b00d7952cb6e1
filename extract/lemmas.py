"""`insightkb_lemmatizer`: lower-cased lookup lemmas for every token, without a tagger.

Topic and stance patterns match on LEMMA, so "fine-tuned", "fine-tuning" and "Fine-tune"
all reach `fine - tune`. The table is spaCy's English `lemma_lookup` from
spacy-lookups-data (installed as a package; nothing downloads at run time).
"""
from __future__ import annotations

import numpy
from spacy.attrs import LEMMA, LOWER
from spacy.language import Language
from spacy.lookups import Table
from spacy.tokens import Doc
from spacy.util import load_language_data, registry


@Language.factory("insightkb_lemmatizer")
def make_lemmatizer(nlp: Language, name: str) -> "LookupLemmatizer":
    return LookupLemmatizer(nlp)


class LookupLemmatizer:
    """Set `token.lemma_` to the lookup lemma of the lower-cased form (itself when unknown)."""

    def __init__(self, nlp: Language) -> None:
        raw = load_language_data(registry.lookups.get(nlp.lang)["lemma_lookup"])
        self.table = Table.from_dict(raw, name="lemma_lookup")
        self.forms = frozenset(raw)  # every form the table knows, as text (its keys are hashes)
        self.strings = nlp.vocab.strings
        self._cache: dict[int, int] = {}

    def __call__(self, doc: Doc) -> Doc:
        if not len(doc):
            return doc
        cache = self._cache
        lowers = doc.to_array([LOWER]).reshape(-1).tolist()
        lemmas = []
        for lower in lowers:
            lemma = cache.get(lower)
            if lemma is None:
                text = self.strings[lower]
                lemma = self.strings.add(self.table.get(text, text).lower())
                if len(cache) < 500_000:
                    cache[lower] = lemma
            lemmas.append(lemma)
        doc.from_array([LEMMA], numpy.array(lemmas, dtype="uint64").reshape(-1, 1))
        return doc
