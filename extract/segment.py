"""`insightkb_segmenter`: sentence boundaries from punctuation and line breaks, without a parser.

Newsletter text is made of lines (titles, list items, paragraphs), so a line break always
ends a sentence; inside a line, sentences end at terminal punctuation as in spaCy's
Sentencizer (closing quotes and brackets stay with the sentence they close).
"""
from __future__ import annotations

from spacy.language import Language
from spacy.pipeline import Sentencizer
from spacy.tokens import Doc

TERMINAL = frozenset(Sentencizer.default_punct_chars)


@Language.factory("insightkb_segmenter")
def make_segmenter(nlp: Language, name: str) -> "Segmenter":
    return Segmenter()


class Segmenter:
    """Mark sentence starts after terminal punctuation and after any line break."""

    def __call__(self, doc: Doc) -> Doc:
        seen_terminal = False
        new_line = False
        for i, token in enumerate(doc):
            if i == 0:
                token.is_sent_start = True
                seen_terminal = token.text in TERMINAL
                new_line = "\n" in token.text or "\n" in token.whitespace_
                continue
            if token.is_space:
                token.is_sent_start = False
                if "\n" in token.text:
                    new_line = True
                continue
            starts = new_line or (seen_terminal and not token.is_punct and token.text not in TERMINAL)
            token.is_sent_start = starts
            if starts:
                seen_terminal = False
            new_line = "\n" in token.whitespace_
            if token.text in TERMINAL:
                seen_terminal = True
        return doc
