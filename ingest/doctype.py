"""Remove a feed's DOCTYPE by reading the XML prolog, never by searching the whole document.

An internal DTD subset is how entity bombs and external entities get in, and feeds never need
one, so the DOCTYPE goes. A DOCTYPE can only stand in the prolog (after the XML declaration,
comments and processing instructions, before the first element), so that is the only place we
look; `<!DOCTYPE` inside an item's CDATA or text is content and stays. Quoted strings, comments
and processing instructions inside the internal subset are skipped as the XML grammar says, so
a `]` or `>` inside them cannot end the DOCTYPE early.
"""
from __future__ import annotations

import codecs


class BadDoctype(ValueError):
    "The prolog's DOCTYPE never ends"


_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_WIDE_HEADS = ((b"<\x00\x00\x00", "utf-32-le"), (b"\x00\x00\x00<", "utf-32-be"),
               (b"<\x00", "utf-16-le"), (b"\x00<", "utf-16-be"))


def _wide_codec(content: bytes) -> str | None:
    """The UTF-16/32 codec of `content` (from its BOM or its first '<'), None for ASCII-compatible bytes."""
    for bom, codec in _WIDE_BOMS:
        if content.startswith(bom):
            return codec
    for head, codec in _WIDE_HEADS:
        if content.startswith(head):
            return codec
    return None


def _skip_quoted(text: str, i: int) -> int:
    end = text.find(text[i], i + 1)
    if end < 0:
        raise BadDoctype("unterminated quoted string in the DOCTYPE")
    return end + 1


def _skip_past(text: str, i: int, marker: str, what: str) -> int:
    end = text.find(marker, i)
    if end < 0:
        raise BadDoctype(f"unterminated {what} in the DOCTYPE")
    return end + len(marker)


def _doctype_end(text: str, i: int) -> int:
    """Index just after the DOCTYPE whose name starts at `i` (after '<!DOCTYPE')."""
    n = len(text)
    in_subset = False
    while i < n:
        ch = text[i]
        if ch in "\"'":
            i = _skip_quoted(text, i)
        elif in_subset and text.startswith("<!--", i):
            i = _skip_past(text, i + 4, "-->", "comment")
        elif in_subset and text.startswith("<?", i):
            i = _skip_past(text, i + 2, "?>", "processing instruction")
        elif in_subset and ch == "<":  # a markup declaration: <!ENTITY ...>, <!ELEMENT ...> ...
            i += 1
            while i < n and text[i] != ">":
                i = _skip_quoted(text, i) if text[i] in "\"'" else i + 1
            i += 1
        elif ch == "[" and not in_subset:
            in_subset = True
            i += 1
        elif ch == "]" and in_subset:
            in_subset = False
            i += 1
        elif ch == ">" and not in_subset:
            return i + 1
        else:
            i += 1
    raise BadDoctype("the DOCTYPE never ends")


def doctype_span(text: str) -> tuple[int, int] | None:
    """(start, end) of the prolog's DOCTYPE in `text`, or None when the prolog has none."""
    i, n = 0, len(text)
    if text.startswith("\ufeff"):
        i = 1
    while i < n:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if text.startswith("<?", i):
            end = text.find("?>", i + 2)
            if end < 0:
                return None
            i = end + 2
        elif text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            if end < 0:
                return None
            i = end + 3
        elif text[i:i + 9].upper() == "<!DOCTYPE":
            return i, _doctype_end(text, i + 9)
        else:
            return None  # the first element, or text: the prolog is over
    return None


def strip_doctype(content: bytes) -> tuple[bytes, bool]:
    """`content` without its prolog DOCTYPE (and its entity declarations); (bytes, whether one was removed).

    Raises BadDoctype when the DOCTYPE never ends (nothing after it could be parsed safely).
    """
    codec = _wide_codec(content)
    if codec is None:
        # Markup is ASCII in every ASCII-compatible encoding; latin-1 maps bytes to characters 1:1.
        span = doctype_span(content.decode("latin-1"))
        if span is None:
            return content, False
        return content[:span[0]] + content[span[1]:], True
    try:
        text = content.decode(codec)
    except UnicodeDecodeError:
        text = content.decode(codec, errors="replace")
    span = doctype_span(text)
    if span is None:
        return content, False
    return (text[:span[0]] + text[span[1]:]).encode(codec), True
