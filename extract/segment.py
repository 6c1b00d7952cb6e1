"""`insightkb_segmenter`: sentence boundaries from punctuation and line breaks, without a parser.

Newsletter text is made of lines (titles, list items, paragraphs), so a line break always
ends a sentence; inside a line, sentences end at terminal punctuation as in spaCy's
Sentencizer (closing quotes and brackets stay with the sentence they close). A trailing-off
ellipsis ("...", "…") ends a sentence when the next word is capitalised ("GPUs... What do you
think?"), not when the thought goes on ("we tried... and failed").
"""
from __future__ import annotations

import numpy
from spacy.attrs import IS_PUNCT, IS_SPACE, ORTH, SENT_START
from spacy.language import Language
from spacy.pipeline import Sentencizer
from spacy.tokens import Doc

TERMINAL = frozenset(Sentencizer.default_punct_chars)
_NOT_START = numpy.uint64(-1 & 0xFFFFFFFFFFFFFFFF)


@Language.factory("insightkb_segmenter")
def make_segmenter(nlp: Language, name: str) -> "Segmenter":
    return Segmenter()


class Segmenter:
    """Mark sentence starts after terminal punctuation and after any line break."""

    def __init__(self) -> None:
        from spacy.strings import get_string_id

        self.terminal = {get_string_id(p) for p in TERMINAL}
        self.ellipsis = {get_string_id(p) for p in ("...", "…", "....")}

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        if not n:
            return doc
        # token attributes as plain ints: no Token objects in the loop
        spaces, puncts, terminal = doc.to_array([IS_SPACE, IS_PUNCT, ORTH]).T.tolist()
        starts = numpy.zeros((n, 1), dtype="uint64")
        seen_terminal = False
        new_line = True
        for i in range(n):
            if spaces[i]:
                starts[i, 0] = _NOT_START if i else 1
                if "\n" in doc[i].text:
                    new_line = True
                continue
            is_terminal = terminal[i] in self.terminal or (
                terminal[i] in self.ellipsis and self._capital_follows(doc, i, n, spaces, puncts))
            begins = new_line or (seen_terminal and not puncts[i] and not is_terminal)
            starts[i, 0] = 1 if begins or i == 0 else _NOT_START
            if begins:
                seen_terminal = False
            new_line = False  # a token's own trailing whitespace is one space at most
            if is_terminal:
                seen_terminal = True
        doc.from_array([SENT_START], starts)
        return doc

    @staticmethod
    def _capital_follows(doc: Doc, i: int, n: int, spaces: list[int], puncts: list[int]) -> bool:
        """Whether the first word after token i (past spaces and quotes) is capitalised."""
        j = i + 1
        while j < n and (spaces[j] or puncts[j]):
            j += 1
        return j < n and doc[j].text[:1].isupper() and doc[j].text != "I"
