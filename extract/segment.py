"""`insightkb_segmenter`: sentence boundaries from punctuation and line breaks, without a parser.

Newsletter text is made of lines (titles, list items, paragraphs), so a line break always
ends a sentence; inside a line, sentences end at terminal punctuation as in spaCy's
Sentencizer (closing quotes and brackets stay with the sentence they close).
"""
from __future__ import annotations

import numpy
from spacy.attrs import SENT_START
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

    def __call__(self, doc: Doc) -> Doc:
        starts = numpy.zeros((len(doc), 1), dtype="uint64")
        seen_terminal = False
        new_line = True
        for token in doc:
            if token.is_space:
                starts[token.i, 0] = _NOT_START if token.i else 1
                if "\n" in token.text:
                    new_line = True
                continue
            text = token.text
            begins = new_line or (seen_terminal and not token.is_punct and text not in TERMINAL)
            starts[token.i, 0] = 1 if begins or token.i == 0 else _NOT_START
            if begins:
                seen_terminal = False
            new_line = "\n" in token.whitespace_
            if text in TERMINAL:
                seen_terminal = True
        if len(doc):
            doc.from_array([SENT_START], starts)
        return doc
