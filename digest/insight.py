"""Turn a stored claim into an insight that stands alone: the claim plus the least context.

- markup and list bullets are cleaned ("- ", "* ", "1. ", **bold**, *em*, `code`, [text](url));
- a transcript line's "Speaker: " prefix becomes an attribution ("Gillian, on Buzzsprout");
- a claim that leans on the sentence before (a leading anaphor: this, these, it, they, such ...)
  or is too short to carry its subject gets the previous sentence of its passage as a lead;
- nothing is ever cut: a claim that ends in "..." is continued to the end of its sentence;
- a one-line headline says topic and stance in words ("Against: fine-tuning your own model is a
  poor investment").
"""
from __future__ import annotations

import re
from dataclasses import dataclass

#: First words that point back at something said before.
ANAPHORS = frozenset(
    """this these that those it its they their them such he she his her both former latter
    then so but and also however instead yet still otherwise similarly likewise meanwhile
    therefore thus hence here another other others which""".split()
)
_BULLET = re.compile(r"^\s*(?:[-*•·–—>]+|\d{1,2}[.)]|[a-z][.)])\s+")
_HEADING = re.compile(r"^\s*#{1,6}\s+")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)\s]+)\)")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EM = re.compile(r"(?<![\w*])([*_])(?=\S)([^*_\n]+?)(?<=\S)\1(?![\w*])")
_CODE = re.compile(r"`([^`]+)`")
_FOOTNOTE = re.compile(r"\[\^[^\]]*\]")
_SPEAKER = re.compile(r"^([A-Z][\w.'’-]*(?:\s[A-Z][\w.'’-]*){0,3}):\s+(?=\S)")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9])")
_ELLIPSIS = re.compile(r"(\.\.\.|…)\s*$")
#: A claim shorter than this (characters) rarely names its subject; give it the sentence before.
SHORT = 80
LEAD_MAX = 320


def clean(text: str) -> str:
    """Markup and bullets removed, whitespace collapsed."""
    text = " ".join((text or "").split())
    for _ in range(2):
        text = _BULLET.sub("", text)
        text = _HEADING.sub("", text)
    text = _FOOTNOTE.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    text = _BOLD.sub(r"\2", text)
    text = _EM.sub(r"\2", text)
    text = text.replace("**", "")
    return text.strip()


def first_word(text: str) -> str:
    m = re.match(r"[\"'“‘(]*([A-Za-z]+)", text or "")
    return m.group(1).lower() if m else ""


def leans_back(text: str) -> bool:
    """True when the sentence starts with a word that refers to what came before."""
    return first_word(text) in ANAPHORS


def split_speaker(text: str, speaker: str | None) -> tuple[str | None, str]:
    """(speaker, text without a "Speaker: " prefix); the stored speaker wins when present."""
    m = _SPEAKER.match(text)
    if m and (not speaker or m.group(1).strip().lower() == speaker.strip().lower() or len(m.group(1)) < 40):
        return (speaker or m.group(1)).strip(), text[m.end():]
    return (speaker.strip() if speaker else None), text


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


@dataclass
class Insight:
    """What the reader sees of one claim."""

    text: str
    lead: str = ""
    speaker: str | None = None

    @property
    def full(self) -> str:
        return f"{self.lead} {self.text}".strip()

    @property
    def unresolved(self) -> bool:
        """True if the shown text still starts by pointing at something it does not show."""
        return leans_back(self.full)


def make_insight(
    claim_text: str, document_text: str | None, start: int | None, end: int | None,
    passage: tuple[int, int] | None = None, speaker: str | None = None,
) -> Insight:
    """The claim with the least context that makes it readable (see the module docstring)."""
    body = claim_text
    doc = document_text or ""
    if doc and start is not None and end is not None and 0 <= start < end <= len(doc):
        if _ELLIPSIS.search(body):
            body = _continue(doc, end, passage, body)
    who, body = split_speaker(clean(body), speaker)
    lead = ""
    if doc and start is not None and (leans_back(body) or len(body) < SHORT):
        lead = _lead(doc, start, passage, speaker)
    if lead and len(lead) > LEAD_MAX and not leans_back(body):
        lead = ""
    if body and body[0].islower() and not lead:
        body = body[0].upper() + body[1:]
    return Insight(text=body, lead=lead, speaker=who)


def _continue(doc: str, end: int, passage: tuple[int, int] | None, body: str) -> str:
    """The claim continued past a trailing ellipsis to the end of its sentence, within the passage."""
    limit = passage[1] if passage else min(len(doc), end + 400)
    rest = doc[end:limit]
    m = re.search(r"[.!?](?=\s|$)", rest)
    if not m:
        return body
    return body + " " + " ".join(rest[: m.end()].split())


def _lead(doc: str, start: int, passage: tuple[int, int] | None, speaker: str | None) -> str:
    """The sentence(s) before the claim, from its passage (else from the paragraph before)."""
    p_start = passage[0] if passage else max(0, doc.rfind("\n\n", 0, start))
    before = doc[p_start:start].strip()
    if not before:
        prev_end = doc.rfind("\n\n", 0, max(0, p_start - 1))
        before = doc[max(0, prev_end):p_start].strip() if p_start > 0 else ""
    if not before:
        return ""
    picked: list[str] = []
    for s in reversed(sentences(before)):
        _, s = split_speaker(clean(s), speaker)
        if not s:
            continue
        picked.insert(0, s)
        if not leans_back(s) or len(picked) == 2 or sum(len(x) for x in picked) > LEAD_MAX:
            break
    lead = " ".join(picked)
    if lead and not re.search(r"[.!?:…\"”’)]$", lead):
        lead += ":" if lead.endswith((" as follows", "following")) else "."
    return lead


def short_proposition(proposition: str, limit: int = 72) -> str:
    """The gist of a topic's proposition for a headline, lower-cased first letter, whole words."""
    text = re.sub(r"\s*\([^)]*\)", "", " ".join(proposition.split())).rstrip(".")
    for marker in (" because ", " instead of ", "; ", ": ", " - "):
        i = text.find(marker)
        if 20 < i:
            text = text[:i]
    if len(text) > limit and ", " in text[20:]:
        text = text[: text.index(", ", 20)]
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0]
    return (text[0].lower() + text[1:]) if text[:2] != text[:2].upper() else text


def headline(label: str | None, proposition: str | None, stance: str, text: str) -> str:
    """One skimmable line: "For: ...", "Against: ..." (the topic's proposition), or "On <topic>: <gist>"."""
    if label and proposition and stance in ("supports", "opposes"):
        return f"{'For' if stance == 'supports' else 'Against'}: {short_proposition(proposition)}"
    words = clean(text).split()
    gist = " ".join(words[:9]).rstrip(",;:")
    if len(words) > 9:
        gist += " …"
    return f"On {label.lower() if label and label[:2] != label[:2].upper() else label}: {gist}" if label else gist


def is_cut(text: str) -> bool:
    """True for a claim that stops mid-sentence ("... the harness,…"): it cannot be shown whole."""
    t = (text or "").rstrip()
    return bool(_ELLIPSIS.search(t)) and not re.search(r"[.!?][\"'”’)]*\s*(\.\.\.|…)$", t)


def source_name(title: str | None, url: str | None) -> str:
    """A source as a reader names it: its title, else its web host, else its file's name."""
    title = " ".join((title or "").split())
    if title:
        return title
    url = url or ""
    m = re.match(r"^[a-z][a-z0-9+.-]*://(?:[^@/]*@)?([^/:?#]+)", url, re.I)
    if m:
        host = m.group(1).lower()
        return host[4:] if host.startswith("www.") else host
    stem = re.split(r"[\\/]", url.rstrip("/\\"))[-1]
    return re.sub(r"\.(xml|rss|atom|eml|mbox|html?|vtt|srt|json|txt)$", "", stem, flags=re.I) or "a source"
