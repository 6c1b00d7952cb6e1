"""Look at a document's text before the pipeline: skip what cannot be extracted, clean the rest.

Cleaning never moves a character: markup, entities and control characters are masked with
spaces (block tags with a line break), so claim offsets stay offsets into Document.text.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from spacy.lang.en.stop_words import STOP_WORDS

MAX_CHARS = 1_000_000
CHUNK_CHARS = 50_000
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*?/?>|<!--.*?-->|<!DOCTYPE[^>]*>", re.S)
_HIDDEN = re.compile(r"<(script|style|head|noscript|template)\b.*?</\1\s*>", re.S | re.I)
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]{1,8});")
_BLOCK = {"p", "div", "br", "li", "ul", "ol", "tr", "td", "th", "table", "section", "article", "header",
          "footer", "nav", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "main", "aside"}
_LOOKS_HTML = re.compile(r"</?(p|div|br|span|a|li|ul|ol|table|td|tr|html|body|head|script|style|img|h[1-6]|strong|em|b|i)\b[^<>]*>", re.I)
_WORD = re.compile(r"[^\W\d_]+")
_GARBAGE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ud800-\udfff\ue000-\uf8ff]")


@dataclass
class Screened:
    """The text to extract (same length as the original), how much of it, and what was done."""

    text: str
    limit: int
    skip: str | None = None
    notes: list[str] = field(default_factory=list)

    def chunks(self, size: int = CHUNK_CHARS) -> list[tuple[int, int]]:
        """(start, end) pieces of at most `size` characters, cut at line breaks where possible."""
        out = []
        start = 0
        while start < self.limit:
            end = min(self.limit, start + size)
            if end < self.limit:
                cut = self.text.rfind("\n", start + size // 2, end)
                if cut < 0:
                    cut = self.text.rfind(" ", start + size // 2, end)
                end = cut + 1 if cut > 0 else end
            out.append((start, end))
            start = end
        return out


def screen(text: str | None, *, max_chars: int = MAX_CHARS) -> Screened:
    """Decide whether `text` can be extracted, and mask what must not reach the pipeline."""
    if not text or not text.strip():
        return Screened("", 0, skip="empty text")
    bad = len(_GARBAGE.findall(text))
    if bad / len(text) > 0.05:
        return Screened("", 0, skip=f"binary or garbled text ({bad / len(text):.0%} control or replacement characters)")
    notes: list[str] = []
    if bad:
        text = _GARBAGE.sub(" ", text)
        notes.append(f"{bad} control characters masked")
    if _LOOKS_HTML.search(text):
        text = mask_markup(text)
        notes.append("HTML markup masked")
    words = _WORD.findall(text[:20_000])
    if not words:
        return Screened("", 0, skip="no words")
    if sum(len(w) for w in words) >= 40:
        lang = detect_language(text[:5000], words)
        if lang != "en":
            return Screened("", 0, skip=f"non-English text (detected language: {lang})")
    limit = len(text)
    if limit > max_chars:
        cut = text.rfind("\n", 0, max_chars)
        limit = cut + 1 if cut > max_chars // 2 else max_chars
        notes.append(f"truncated: extracted the first {limit:,} of {len(text):,} characters")
    return Screened(text, limit, notes=notes)


def load_language_identifier() -> None:
    """Load py3langid's model now (about 0.5 s) instead of at the first text that needs it."""
    import py3langid

    py3langid.classify("warm up")


def detect_language(sample: str, words: list[str]) -> str:
    """ISO code of the sample's language; English when its stop-word share says so anyway."""
    lowered = [w.lower() for w in words[:2000]]
    share = sum(1 for w in lowered if w in STOP_WORDS) / max(1, len(lowered))
    if share >= 0.3:  # English function words everywhere: no need to ask the classifier
        return "en"
    import py3langid

    lang, _score = py3langid.classify(sample)
    return "en" if lang == "en" or share >= 0.2 else lang


def mask_markup(text: str) -> str:
    """Replace tags, hidden blocks and entities with spaces of the same length (block tags: a line break)."""
    def blank(m: re.Match[str], newline: bool = False) -> str:
        chunk = m.group(0)
        kept = "".join("\n" if c == "\n" else " " for c in chunk)
        if newline and "\n" not in kept:
            kept = "\n" + kept[1:]
        return kept

    text = _HIDDEN.sub(lambda m: blank(m, True), text)
    text = _TAG.sub(lambda m: blank(m, (m.group(2) or "").lower() in _BLOCK), text)

    def entity(m: re.Match[str]) -> str:
        plain = html.unescape(m.group(0))
        return plain + " " * (len(m.group(0)) - len(plain)) if len(plain) <= len(m.group(0)) else " " * len(m.group(0))

    return _ENTITY.sub(entity, text)
