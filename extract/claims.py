"""`insightkb_claims`: which sentences assert something a reader could agree or disagree with.

Rules, in order, each recorded as the reason a sentence is not a claim: no words (noise),
markup left over, a question, a header (a line without terminal punctuation), too short,
too long, boilerplate (greetings, sign-offs, the sender's own lines, credits, calls to
action, navigation, form messages, sign-up pitches, AI-content disclaimers, post openers,
bylines: patterns in data/boilerplate.jsonl; a row with `max_words` applies to short sentences
only, a `lead` row cuts its match off the front of the sentence and keeps the rest), link
furniture (a URL or a closing "here" with a word such as "available", "paper", "slides"). A claim sentence that only
elaborates the previous one (it opens with "This ..." or leans on a pronoun and names no
topic of its own) joins it, so the claim keeps the offsets of the whole span.
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Any

from spacy.attrs import IS_ALPHA, IS_PUNCT, IS_SPACE, LIKE_NUM, LIKE_URL, LOWER, ORTH
from spacy.language import Language
from spacy.strings import get_string_id
from spacy.tokens import Doc, Span

from extract.lexicon import FastMatcher, expand_first_token, read_jsonl

CLAIMS = "insightkb_claims"
REJECTED = "insightkb_rejected"
TOPICS = "insightkb_topics"
_CLOSERS = frozenset(['"', "'", "”", "’", ")", "]", "*", "»", "_"])
_TERMINAL = frozenset([".", "!", "。", "…"])
_MARKUP_IDS = frozenset(get_string_id(t) for t in ("<", ">", "/>", "</", "{", "}", "=", "&", ";"))
_CLOSER_IDS = frozenset(get_string_id(t) for t in _CLOSERS)
_QUESTION_ID = get_string_id("?")
_OPENING_QUOTES = frozenset(['"', "“", "'", "‘"])


class _Attrs:
    """Token attributes of a doc as plain lists (no Token objects in the per-sentence rules)."""

    def __init__(self, doc: Doc) -> None:
        if len(doc):
            (self.alpha, self.space, self.punct, self.orth, self.num, self.url,
             self.lower) = doc.to_array([IS_ALPHA, IS_SPACE, IS_PUNCT, ORTH, LIKE_NUM, LIKE_URL, LOWER]).T.tolist()
        else:
            self.alpha = self.space = self.punct = self.orth = self.num = self.url = self.lower = []


@Language.factory(
    "insightkb_claims",
    default_config={
        "boilerplate": "boilerplate.jsonl",
        "min_words": 4,
        "max_tokens": 120,
        "max_sentences": 4,
        "anaphora": ["this", "these", "that", "those", "it", "they", "them", "such"],
        "openers": ["this", "these", "that", "it", "such"],
        "link_words": ["available", "paper", "slides", "code", "repo", "repository", "github", "website", "page",
                       "link", "notes", "recording", "video", "demo", "blog", "report", "docs"],
        "link_max_words": 30,
        "fragment_max_words": 8,
        "tag_questions": ["right", "you know", "no", "correct", "yeah", "huh", "eh", "ok", "okay", "true",
                          "don't you think", "wouldn't you say", "isn't it", "aren't they", "don't they",
                          "doesn't it", "wouldn't it", "won't it", "didn't they", "isn't that", "would they",
                          "is it", "do they", "does it", "can't it", "haven't they", "hasn't it"],
    },
)
def make_claims(
    nlp: Language, name: str, boilerplate: str, min_words: int, max_tokens: int, max_sentences: int,
    anaphora: list[str], openers: list[str], link_words: list[str], link_max_words: int,
    fragment_max_words: int, tag_questions: list[str],
) -> "ClaimDetector":
    return ClaimDetector(nlp, boilerplate, min_words, max_tokens, max_sentences, anaphora, openers,
                         link_words, link_max_words, fragment_max_words, tag_questions)


def boilerplate_key(i: int, row: dict[str, Any]) -> str:
    """The matcher key of boilerplate row i: its label, or label#i for a row with its own settings."""
    return f"{row['label']}#{i}" if ("lead" in row or "max_words" in row) else row["label"]


def claims_of(doc: Doc) -> list[dict[str, Any]]:
    """The claims found in `doc` (plain dicts: token and char offsets, then the later steps' fields)."""
    return doc.user_data.setdefault(CLAIMS, [])


class ClaimDetector:
    """Decide per sentence, then merge elaborating sentences into the claim before them."""

    def __init__(self, nlp: Language, boilerplate: str, min_words: int, max_tokens: int,
                 max_sentences: int, anaphora: list[str], openers: list[str], link_words: list[str] = (),
                 link_max_words: int = 30, fragment_max_words: int = 8, tag_questions: list[str] = ()) -> None:
        self.matcher = FastMatcher(nlp.vocab, validate=True)
        self.rows: dict[str, dict[str, Any]] = {}  # matcher key -> boilerplate row
        for i, row in enumerate(read_jsonl(boilerplate)):
            key = boilerplate_key(i, row)
            self.rows[key] = row
            self.matcher.add(key, expand_first_token(row["pattern"]))
        self.link_words = {nlp.vocab.strings.add(w) for w in link_words}
        self.link_max_words = link_max_words
        self.fragment_max_words = fragment_max_words
        self.tag_questions = {t.lower() for t in tag_questions}
        self.here = nlp.vocab.strings.add("here")
        self.link_preps = {nlp.vocab.strings.add(w) for w in ("at", "on", "via", "from", ":", "website", "page")}
        self.min_words = min_words
        self.max_tokens = max_tokens
        self.max_sentences = max_sentences
        self.anaphora = {nlp.vocab.strings.add(w) for w in anaphora}
        self.openers = [tuple(o.split()) for o in openers]
        self.strings = nlp.vocab.strings

    def __call__(self, doc: Doc) -> Doc:
        attrs = _Attrs(doc)
        sents = list(doc.sents)
        starts = [sent.start for sent in sents]
        boiler: dict[int, list[tuple[str, int | None]]] = {}
        leads: dict[int, tuple[int, str]] = {}  # sentence start -> (where the claim may start, label)
        for match_id, start, end in self.matcher(doc):
            sent_start = starts[bisect_right(starts, start) - 1]
            row = self.rows[self.strings[match_id]]
            if "lead" in row:
                if start == sent_start:
                    leads[sent_start] = (self._lead_end(doc, start, row), row["label"])
                continue
            boiler.setdefault(sent_start, []).append((row["label"], row.get("max_words")))
        topic_tokens = {t for span in doc.spans.get(TOPICS, []) for t in range(span.start, span.end)}
        claims: list[dict[str, Any]] = []
        rejected: list[list[Any]] = []
        previous_end = -1
        for sent in sents:
            if sent.start in leads:
                cut, label = leads[sent.start]
                rejected.append([sent.start_char, doc[cut - 1].idx + len(doc[cut - 1]), label])
                sent = doc[cut:sent.end] if cut < sent.end else doc[sent.end:sent.end]
                if not len(sent):
                    previous_end = -1
                    continue
            reason = self.reject_reason(sent, boiler.get(sent.start), attrs)
            if reason:
                if reason != "blank":
                    rejected.append([sent.start_char, sent.end_char, reason])
                previous_end = -1
                continue
            last = claims[-1] if claims else None
            if (
                last is not None
                and previous_end == sent.start
                and len(last["sents"]) < self.max_sentences
                and self.elaborates(sent, topic_tokens, doc[last["start"]:last["end"]])
            ):
                last["sents"].append([sent.start, _trim_end(sent)])
                last["end"] = _trim_end(sent)
            else:
                claims.append({"start": sent.start, "end": _trim_end(sent), "sents": [[sent.start, _trim_end(sent)]]})
            previous_end = _next_start(sent)
        for claim in claims:
            last = doc[claim["end"] - 1]
            claim["start_char"], claim["end_char"] = doc[claim["start"]].idx, last.idx + len(last)
            claim["confidence"] = 0.6 + 0.1 * min(3, len(claim["sents"]) - 1) / 3
            claim.setdefault("topics", {})
            claim.setdefault("quantities", [])
            claim.setdefault("entities", [])
            claim.setdefault("speaker", None)
        doc.user_data[CLAIMS] = claims
        doc.user_data[REJECTED] = rejected
        return doc

    def _asserts(self, sent: Span, body: list[int], k: int, a: _Attrs) -> bool:
        """A sentence ending in "?" that still asserts: a tag question ("..., right?", "..., isn't
        it?"), a question it reports in quotes ('she asked: "Did it work?"'), or one after a
        colon that frames it ("The real challenge is: who labels the data?")."""
        doc = sent.doc
        commas = [n for n in range(k) if doc[body[n]].text == ","]
        if commas and k - commas[-1] <= 4:
            tail = doc[body[commas[-1]] + 1:body[k]].text.lower().strip()
            if tail in self.tag_questions:
                return True
        if k + 1 < len(body) and any(doc[i].text in _OPENING_QUOTES for i in body[3:k]):
            return True  # the "?" sits inside a quote that closes the sentence
        colon = next((n for n in range(k) if doc[body[n]].text == ":"), None)
        return colon is not None and sum(a.alpha[i] for i in body[:colon]) >= 4

    @staticmethod
    def _lead_end(doc: Doc, start: int, row: dict[str, Any]) -> int:
        """Where a lead ("Generated by org/model-name") ends: its tokens, and with `lead_word` the word after."""
        cut = min(start + int(row["lead"]), len(doc))
        if row.get("lead_word") and cut < len(doc):
            cut += 1
            while cut < len(doc) and not doc[cut - 1].whitespace_:
                cut += 1
        return cut

    def reject_reason(self, sent: Span, boilerplate: list[tuple[str, int | None]] | None, a: _Attrs) -> str | None:
        lo, hi = sent.start, sent.end
        n_words = sum(a.alpha[lo:hi])
        n_words += min(n_words, sum(a.num[lo:hi]))  # "It's more than $100,000." counts its number, table residue does not
        if not n_words:
            blank = all(a.space[i] or a.punct[i] for i in range(lo, hi))
            return "blank" if blank else "noise"
        body = [i for i in range(lo, hi) if not a.space[i]]
        if sum(1 for i in body if a.orth[i] in _MARKUP_IDS) * 4 > len(body):
            return "markup"
        k = len(body) - 1
        while k > 0 and a.orth[body[k]] in _CLOSER_IDS:
            k -= 1
        end = sent.doc[body[k]].text
        asked = end == "?" or any(a.orth[i] == _QUESTION_ID for i in body[-3:])
        if asked and not self._asserts(sent, body, k, a):
            return "question"
        if end not in _TERMINAL and not end.endswith(".") and not (asked and end == "?"):
            return "header" if end != ":" else "lead-in"
        if n_words < self.min_words:
            return "too short"
        if n_words <= self.fragment_max_words and end.endswith(("...", "…")):
            return "fragment"  # a short line trailing off ("So there's that piece...")
        if len(body) > self.max_tokens:
            return "run-on"
        for label, max_words in boilerplate or ():
            if max_words is None or n_words <= max_words:
                return label
        if n_words <= self.link_max_words and any(a.lower[i] in self.link_words for i in body):
            last = body[k - 1] if k else body[0]
            # "... available at example.org", a URL spelled out ("https://...", "www."), or a closing "here"
            before = body[k - 2] if k > 1 else body[0]
            if (a.url[last] and a.lower[before] in self.link_preps) or a.lower[last] == self.here or any(
                    a.url[i] and sent.doc[i].lower_.startswith(("http", "www.")) for i in body):
                return "link"
        return None

    def elaborates(self, sent: Span, topic_tokens: set[int], previous: Span) -> bool:
        """Names no topic of its own and opens with "This ..." or leans on a pronoun; or opens
        with "This ..." after a sentence that named no topic (an example, then its lesson)."""
        lowers = [t.lower_ for t in sent[:3] if not t.is_punct]
        opens = any(tuple(lowers[: len(o)]) == o for o in self.openers)
        if not any(t.i in topic_tokens for t in sent):
            return opens or any(t.lower in self.anaphora for t in sent[:3])
        return opens and not any(t.i in topic_tokens for t in previous)


def _trim_end(sent: Span) -> int:
    """The sentence's end without trailing whitespace tokens."""
    end = sent.end
    while end > sent.start and sent.doc[end - 1].is_space:
        end -= 1
    return end


def _next_start(sent: Span) -> int:
    """Where the next sentence of the same line starts; -1 after a line break."""
    doc = sent.doc
    if sent.end < len(doc) and not any("\n" in t.text or "\n" in t.whitespace_ for t in sent[-1:]) \
            and not (sent.end < len(doc) and doc[sent.end].is_space and "\n" in doc[sent.end].text):
        trailing = [t for t in sent if t.is_space and "\n" in t.text]
        return -1 if trailing else sent.end
    return -1
