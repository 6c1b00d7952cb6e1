"""`insightkb_cues`: find every stance and attribution cue once, for the steps after it.

Negators, concessions, endorsing/rejecting verbs, topic cues, hedges (data/stance_lexicon.jsonl)
and speech verbs and roles (data/attribution.jsonl) are matched in one pass. `insightkb_focus`
uses them to decide which sentences need a parse, `insightkb_stance` and
`insightkb_attribution` read them instead of matching again.
"""
from __future__ import annotations

from typing import Any

from spacy.attrs import LEMMA, LOWER
from spacy.language import Language
from spacy.tokens import Doc

from extract.claims import claims_of
from extract.lexicon import FastMatcher, read_jsonl
from extract.valence import valence_words

CUES = "insightkb_cues"
SIGN = {"supports": 1, "opposes": -1}


@Language.factory("insightkb_cues", default_config={"lexicons": ["stance_lexicon.jsonl", "attribution.jsonl"]})
def make_cues(nlp: Language, name: str, lexicons: list[str]) -> "CueFinder":
    return CueFinder(nlp, lexicons)


def cues_of(doc: Doc) -> list[list[Any]]:
    """[kind, topic or None, polarity, start, end] for every cue in `doc`, by start."""
    return doc.user_data.get(CUES, [])


def split_hyphens(pattern: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """A one-token pattern whose words include hyphenated ones ("go-to", "non-negotiable") as
    that pattern plus one pattern per hyphenated word, token by token: the tokenizer splits them."""
    if len(pattern) != 1:
        return [pattern]
    spec = pattern[0]
    attr = next((k for k in ("LOWER", "LEMMA", "ORTH", "TEXT") if k in spec), None)
    if attr is None or len(spec) != 1:
        return [pattern]
    value = spec[attr]
    words = value["IN"] if isinstance(value, dict) and set(value) == {"IN"} else [value] if isinstance(value, str) else []
    hyphenated = [w for w in words if "-" in w.strip("-")]
    if not hyphenated:
        return [pattern]
    out: list[list[dict[str, Any]]] = []
    rest = [w for w in words if w not in hyphenated]
    if rest:
        out.append([{attr: {"IN": rest}}])
    for word in hyphenated:
        parts = word.lower().split("-")
        tokens: list[dict[str, Any]] = []
        for i, part in enumerate(parts):
            if i:
                tokens.append({"ORTH": "-"})
            tokens.append({"LOWER": part})
        out.append(tokens)
    return out


class CueFinder:
    """Match every lexicon entry that has a pattern; store the matches on the doc."""

    def __init__(self, nlp: Language, lexicons: list[str]) -> None:
        self.strings = nlp.vocab.strings
        self.matcher = FastMatcher(nlp.vocab, validate=True)
        self.meta: dict[str, list[Any]] = {}
        self.valence: dict[int, int] = {}  # lower-case word hash -> +1 / -1 (general valence lexicon)
        # match id -> (words that must not precede it, that must not follow within 6 tokens, that must
        # not come right after it):
        # "few" is a negator, "a few" is not; "leave X" leaves it behind, "leave X in place" keeps it;
        # "not only" does not negate
        self.guards: dict[int, tuple[set[str], set[str], set[str]]] = {}
        for path in lexicons:
            for i, row in enumerate(read_jsonl(path)):
                if row.get("kind") == "valence_source":
                    self._add_valence(f"{path}:{i}", row)
                    continue
                if "pattern" not in row:
                    continue
                polarity = SIGN.get(row.get("stance", ""), 0)
                if row["kind"] in ("evaluative", "trend"):
                    polarity = 1 if row.get("valence") == "positive" else -1
                key = f"{path}:{i}"
                # endorsing/rejecting predicates that judge their subject ("X pays off") say so in `role`
                self.meta[key] = [row["kind"], row.get("topic", row.get("role")), polarity]
                self.matcher.add(key, split_hyphens(row["pattern"]))
                if row.get("not_after") or row.get("not_followed_by") or row.get("not_before"):
                    self.guards[self.strings[key]] = (
                        {w.lower() for w in row.get("not_after", [])},
                        {w.lower() for w in row.get("not_followed_by", [])},
                        {w.lower() for w in row.get("not_before", [])},
                    )

    def _allowed(self, doc: Doc, match_id: int, start: int, end: int) -> bool:
        before, after, next_word = self.guards[match_id]
        if start > 0 and doc[start - 1].lower_ in before:
            return False
        if end < len(doc) and doc[end].lower_ in next_word:
            return False
        return not any(t.lower_ in after for t in doc[end:end + 6])

    def _add_valence(self, key: str, row: dict[str, Any]) -> None:
        """Words of a general valence lexicon (see extract.valence), looked up word by word."""
        for word, polarity in valence_words(row).items():
            self.valence[self.strings.add(word)] = polarity

    def _valence_cues(self, doc: Doc, matches: list[tuple[int, int, int]]) -> list[list[Any]]:
        """General valence words in the claim sentences that name a topic, where no lexicon entry
        matched: stance only reads them there, so the rest of the text is not looked at."""
        starts = sorted(span.start for span in doc.spans.get("insightkb_topics", []))
        if not starts:
            return []
        found: list[tuple[int, int]] = []
        lowers = None
        k = 0
        for claim in claims_of(doc):
            for start, end in claim["sents"]:
                while k < len(starts) and starts[k] < start:
                    k += 1
                if k == len(starts) or starts[k] >= end:
                    continue
                if lowers is None:
                    lowers = doc.to_array([LOWER, LEMMA])
                get = self.valence.get
                for i, (lower, lemma) in enumerate(lowers[start:end].tolist(), start):
                    polarity = get(lower) or get(lemma)  # "wrecked" is rated as "wreck"
                    if polarity:
                        found.append((i, polarity))
        if not found:
            return []
        taken = {i for _m, s, e in matches for i in range(s, e)}
        return [["valence", None, polarity, i, i + 1] for i, polarity in found if i not in taken]

    def __call__(self, doc: Doc) -> Doc:
        if not doc.user_data.get("insightkb_claims"):
            doc.user_data[CUES] = []
            return doc
        matches = self.matcher(doc)
        if self.guards:
            matches = [m for m in matches if m[0] not in self.guards or self._allowed(doc, *m)]
        cues = [[*self.meta[self.strings[match_id]], start, end] for match_id, start, end in matches]
        if self.valence:  # a hand-kept entry on the same words says more than the general lexicon
            cues = sorted(cues + self._valence_cues(doc, matches), key=lambda c: (c[3], c[4]))
        doc.user_data[CUES] = cues
        return doc
