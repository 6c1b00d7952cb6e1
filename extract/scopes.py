"""Scopes of stance cues in one sentence: what a negator, a verb, a judging word reaches.

From the dependency parse where `insightkb_focus` parsed the sentence, else from the words up to
the next clause break. `insightkb_stance` (extract/stance.py) asks these questions of each cue.
"""
from __future__ import annotations

from dataclasses import dataclass

from spacy.tokens import Doc, Span, Token

_SUBJECTS = {"nsubj", "nsubjpass", "csubj", "csubjpass", "expl"}
_BREAKS = {",", ";", ":", "—", "–", "(", ")", "but", "which", "while", "whereas", "because", "although", "though", "unlike"}
_STRONG_BREAKS = {";", "but", "while", "whereas", "although", "though", "unlike", "except"}
_TOWARD = {"to", "onto", "into", "toward", "towards"}
_AWAY = {"off", "from", "away"}
_PRONOUNS = {"we", "they", "you", "i", "he", "she"}
_DESTINATION_ENDS = {"because", "which", "so", "since", "after", "before", "when", "once", "until", "as", "if", ".", ";"}
_FRONTED = {"prep", "advmod", "npadvmod", "advcl"}
_COPULAS = {"be", "become", "seem", "remain", "prove", "look", "sound", "feel", "stay"}
_FUNCTION = {"for", "to", "at", "in", "on", "of", "with", "by", "from", "and", "or", "but", "than", "as", "if",
             "when", "because", "so", "enough", "the", "a", "an", "that", "this", "it", "they", "we", "you",
             "is", "are", "was", "were", "be", "not", "too", "very", "only", "also", "now", "yet", "still"}
_DETERMINERS = {"the", "a", "an", "our", "their", "its", "your", "his", "her", "my", "this", "these", "those"}
ANAPHORS = {"it", "this", "that", "them", "these", "those"}
_LEAVE_ENDS = _BREAKS | {"and", "to", "into", "for", "toward", "towards"}
_PASSIVE_BEFORE = {"be", "get", "is", "was", "were", "are", "been", "being"}

@dataclass
class Cue:
    """One cue of the sentence: its lexicon kind, token span, topic (topic cues) and polarity."""

    kind: str
    start: int
    end: int
    topic: str | None = None
    polarity: int = 0


def negations(negators: list[Cue]) -> int:
    """How many distinct negations: overlapping matches ("is ending" and "ending") count once."""
    count, last_end = 0, -1
    for neg in sorted(negators, key=lambda n: n.start):
        if neg.start >= last_end:
            count += 1
        last_end = max(last_end, neg.end)
    return count


def in_relative(scope: "Scopes", cue: Cue, after: int) -> bool:
    """Whether the cue sits in a relative clause ("..., which is the one thing it cannot get wrong")."""
    if scope.parsed is not None:
        return any(node.dep_ == "relcl" for node in scope._tok(cue.start).ancestors) or \
            scope._tok(cue.start).dep_ == "relcl"
    return any(scope.doc[i].lower_ in ("which", "who", "whom", "whose") for i in range(after, cue.start))


def superlative(doc: Doc, cue: Cue) -> bool:
    """ "the best closed models" ranks, it does not recommend ("is best kept for" does)."""
    return cue.kind == "recommend" and doc[cue.start].lower_ == "best" and cue.start > 0 \
        and doc[cue.start - 1].lower_ in _DETERMINERS


class Scopes:
    """Scopes of cue words in one sentence: from its parse when there is one, else a window."""

    def __init__(self, doc: Doc, start: int, end: int, parsed: Span | None,
                 word_sets: dict[str, frozenset[str]]) -> None:
        self.doc = doc
        self.concessive = word_sets["concessive"]
        self.quantifiers = word_sets["negating_quantifiers"]
        self.start = start
        self.end = end
        self.parsed = parsed
        self.cuts: list[int] = []  # starts of "in favour of", "instead of", "rather than"
        self._semicolons: list[int] | None = None

    def _tok(self, i: int) -> Token:
        assert self.parsed is not None
        return self.parsed[i - self.start]

    def _back(self, ids: set[int]) -> set[int]:
        """Token indices of the parsed sentence -> indices in the document."""
        assert self.parsed is not None
        shift = self.start - self.parsed.start
        return {shift + i for i in ids}

    def of(self, cue: Cue, kind: str) -> set[int]:
        """Doc token indices that a negator, rejecting, endorsing or leaving cue acts on.

        A scope stops at an alternative that follows the cue: in "abandoning closed APIs in
        favour of open models" the open models are not abandoned.
        """
        covered = self._of(cue, kind)
        lo, hi = self._segment(cue.start)
        if lo > self.start or hi < self.end:  # "; users happily wait": a semicolon ends every scope
            covered = {i for i in covered if lo <= i < hi}
        if cue.kind != "alternative":
            cut = next((c for c in self.cuts if c > cue.start), None)
            if cut is not None:
                covered = {i for i in covered if i < cut}
        return covered

    def _of(self, cue: Cue, kind: str) -> set[int]:
        if kind == "leave":
            return self._left(cue)
        if cue.kind == "alternative":  # "in favour of X", "rather than X": X, up to the clause break
            return self._window(cue.end, stop_at_comma=True)
        if kind in ("endorse", "reject") and cue.topic == "subject":
            return self._predicate(cue)
        if kind == "quantifier":  # "Few of them run X", "lost little accuracy": the whole clause
            if self.parsed is None:
                return self._clause(cue)
            kind = "negator"
        if kind == "ends":  # "The GPU crunch is over": what ends is what comes before
            out: set[int] = set()
            for i in range(cue.start - 1, self.start - 1, -1):
                if self.doc[i].lower_ in _BREAKS:
                    break
                out.add(i)
            return out
        if self.parsed is None:
            return self._window(cue.end, stop_at_comma=kind not in ("endorse", "recommend"))
        tok = self._tok(cue.start)
        if tok.dep_ in ("neg", "advmod", "det", "preconj", "aux", "nsubj", "nsubjpass") and kind != "reject" \
                or tok.lower_ in ("increasingly",):
            head = tok.head
        else:
            head = tok
        if kind == "negator" and tok.lower_ == "no" and tok.head.lower_ in ("longer", "more"):
            head = tok.head.head  # "Fine-tuning is no longer a science project": the clause is negated
        if kind == "negator":  # "Nobody ...", "not one of them switched", "no team ...": the verb is negated
            node = tok
            while node.dep_ not in _SUBJECTS and node.head is not node and node.dep_ in ("det", "neg", "advmod", "nsubj", "amod", "nummod", "pobj", "prep"):
                node = node.head
            if node.dep_ in _SUBJECTS:
                head = node.head
            elif tok.lower_ in self.quantifiers and node.dep_ in ("dobj", "attr", "npadvmod"):
                head = node.head  # "lost little accuracy": what was lost is negated
        covered = {t.i for t in head.subtree}
        if kind == "negator":  # "Below five billion tokens, we have never seen ...": the condition is not denied
            subject = next((c for c in head.children if c.dep_ in _SUBJECTS), None)
            first = subject.left_edge.i if subject is not None else tok.i
            for child in head.children:
                edge = child.right_edge.i
                if child.dep_ in _FRONTED | {"ccomp", "parataxis", "conj"} and edge < min(first, tok.i) and edge + 1 < len(self.parsed.doc) \
                        and self.parsed.doc[edge + 1].text == ",":
                    covered -= {t.i for t in child.subtree}
            opener = self.parsed[0]
            if opener.dep_ in _FRONTED | {"mark"} and opener.i != tok.i:  # the parse may not nest the opener
                comma = next((t.i for t in self.parsed if t.i < tok.i and t.text == ","), None)
                if comma is not None:
                    covered -= set(range(opener.i, comma))
        if kind == "reject" and head is tok and any(c.dep_ == "dobj" for c in tok.children):
            # "abandoned the effort after months of regressions": the object is rejected, not the adjuncts
            for child in tok.children:
                if child.dep_ in ("prep", "advcl", "npadvmod") and child.i > tok.i and child.lower_ not in ("on", "to"):
                    covered -= {t.i for t in child.subtree}
        for child in head.children:
            if child.dep_ in _SUBJECTS and kind in ("negator", "reject") and child.i != tok.i \
                    and not any(t.i == tok.i for t in child.subtree):
                covered -= {t.i for t in child.subtree}
            if child.dep_ in ("relcl", "advcl") and kind in ("negator", "reject"):
                covered -= {t.i for t in child.subtree}
            if child.dep_ in ("prep", "mark") and child.lower_ in self.concessive and kind in ("negator", "reject"):
                covered -= {t.i for t in child.subtree}  # "Despite the hype, few care": the hype is not denied
            if child.dep_ == "conj" and kind in ("negator", "reject") and child.i > tok.i \
                    and any(g.dep_ in _SUBJECTS for g in child.children):
                covered -= {t.i for t in child.subtree}  # "could not tell, and the bill dropped"
        for child in head.children:  # "not X but Y": Y is not negated
            if child.dep_ == "conj" and any(c.lower_ in ("but", "rather") for c in head.children if c.dep_ == "cc"):
                covered -= {t.i for t in child.subtree}
            if child.dep_ == "attr":
                for grand in child.children:
                    if grand.dep_ == "conj" and any(c.lower_ in ("but", "rather") for c in child.children):
                        covered -= {t.i for t in grand.subtree}
        covered.discard(tok.i)
        return self._back(covered)

    def _segment(self, i: int) -> tuple[int, int]:
        """The doc token range between the semicolons around token i, within the sentence."""
        if self._semicolons is None:
            self._semicolons = [j for j in range(self.start, self.end) if self.doc[j].text == ";"]
        lo, hi = self.start, self.end
        for j in self._semicolons:
            if j < i:
                lo = j + 1
            else:
                hi = j
                break
        return lo, hi

    def destinations(self, after: int) -> tuple[set[int], set[int]]:
        """Words after a moving verb: where things go ("to", "onto", "into") and where they come from
        ("off", "from"), up to the clause's end."""
        toward: set[int] = set()
        away: set[int] = set()
        mode: set[int] | None = None
        for i in range(after, min(self.end, after + 16)):
            word = self.doc[i].lower_
            if word in _STRONG_BREAKS or word in _DESTINATION_ENDS:
                break
            if word in _TOWARD:
                mode = toward
            elif word in _AWAY:
                mode = away
            elif mode is not None:
                mode.add(i)
        return toward, away

    def in_relative_clause(self, cue: Cue) -> bool:
        """Whether the cue is the verb of a relative clause ("the model we built last spring")."""
        if self.parsed is not None:
            return self._tok(cue.start).dep_ == "relcl"
        # unparsed: a contact clause, "the model we built", "the GPUs they rent"
        return cue.start - 2 >= self.start and self.doc[cue.start - 1].lower_ in _PRONOUNS \
            and self.doc[cue.start - 2].is_alpha and self.doc[cue.start - 2].lower_ not in _FUNCTION

    def clausal_subject(self, cue: Cue) -> bool:
        """Whether the cue is a gerund that opens the subject of its clause ("Switching providers is ...")."""
        if self.parsed is not None:
            tok = self._tok(cue.start)
            return tok.dep_ in ("csubj", "csubjpass") or (tok.dep_ in _SUBJECTS and tok.lower_.endswith("ing"))
        return self.doc[cue.start].lower_.endswith("ing") and self._opens_clause(cue.start)

    def _left(self, cue: Cue) -> set[int]:
        """What a leaving verb leaves: "leave the pilot stage", "move beyond pilots"."""
        if self.parsed is None:
            out: set[int] = set()
            for i in range(cue.end, self.end):
                if self.doc[i].lower_ in _LEAVE_ENDS:
                    break
                out.add(i)
            return out
        tok = self._tok(cue.start)
        covered: set[int] = set()
        for child in tok.children:
            if child.dep_ in ("dobj", "pobj") or (child.dep_ == "prep" and child.lower_ in ("beyond", "past", "from")):
                covered |= {t.i for t in child.subtree}
        if cue.end - cue.start > 1:  # "move beyond", "move on from": the preposition is in the cue
            last = self._tok(cue.end - 1)
            covered |= {t.i for t in last.subtree} - {last.i}
        return self._back(covered)

    def _predicate(self, cue: Cue) -> set[int]:
        """What a judging predicate judges: its subject too ("X pays off", "Latency is rarely key")."""
        if self.parsed is None:
            back: set[int] = set()
            for i in range(cue.start - 1, self.start - 1, -1):
                if self.doc[i].lower_ in _BREAKS:
                    break
                back.add(i)
            return back | self._window(cue.end, stop_at_comma=True)
        node = self._tok(cue.start)
        while node.dep_ in ("amod", "compound", "attr", "acomp", "advmod", "dobj", "prt", "npadvmod", "acl", "relcl") \
                and node.head is not node:
            node = node.head
        covered = {t.i for t in node.subtree}
        covered.discard(self._tok(cue.start).i)
        return self._back(covered)

    def _opens_clause(self, i: int) -> bool:
        """Whether token i is within the first two words of its clause (likely its subject)."""
        for j in range(i - 1, max(self.start, i - 3) - 1, -1):
            if self.doc[j].lower_ in _BREAKS:
                return True
        return i - self.start <= 2

    def _clause(self, cue: Cue) -> set[int]:
        """The words from the previous clause break to the next one, without the cue."""
        out = self._window(cue.end, stop_at_comma=True)
        for i in range(cue.start - 1, self.start - 1, -1):
            if self.doc[i].lower_ in _BREAKS:
                break
            out.add(i)
        return out

    def defeat_side(self, cue: Cue, topic: set[int]) -> int:
        """+1 when the topic is the winner of "X beats Y", -1 when it is the loser, else 0.

        Passives swap the sides: "X was outclassed by Y" faults X.
        """
        passive = self.doc[cue.end - 1].lower_ != "than" and (  # "is faster than" is no passive
            (cue.end < self.end and self.doc[cue.end].lower_ == "by") or (
                cue.start > self.start and self.doc[cue.start - 1].lower_ in _PASSIVE_BEFORE))
        before = after = False
        for i in range(cue.start - 1, self.start - 1, -1):
            if self.doc[i].lower_ in _STRONG_BREAKS:
                break
            before = before or i in topic
        after = any(i in topic for i in self._window(cue.end, stop_at_comma=True))
        if before == after:
            return 0
        side = 1 if before else -1
        return -side if passive else side

    def subject_of_negated(self, cue: Cue, negators: list[Cue]) -> bool:
        """Whether the cue sits in the subject of a clause whose predicate a negator denies."""
        for neg in negators:
            if neg.start <= cue.start:
                continue
            if self.parsed is None:
                if not any(self.doc[i].lower_ in _BREAKS for i in range(cue.end, neg.start)):
                    return True
                continue
            verb = self._tok(neg.start).head
            for child in verb.children:
                if child.dep_ in _SUBJECTS and any(t.i == self._tok(cue.start).i for t in child.subtree):
                    return True
        return False

    def predicates(self, cue: Cue, topic: set[int]) -> bool:
        """Whether a word is said of the topic: it modifies the topic noun ("a brittle distilled
        model"), is predicated of it ("open models are dependable", "fine-tuning backfired"), or
        is a verb whose subject or object holds it ("teams love open models")."""
        if self.parsed is not None:
            tok = self._tok(cue.start)
            if tok.dep_ in ("amod", "compound", "nmod"):
                return bool(self._back({tok.head.i}) & topic)
            node = tok
            while node.dep_ in ("acomp", "attr", "advmod", "xcomp", "oprd") and node.head is not node:
                node = node.head
            args = {t.i for c in node.children if c.dep_ in _SUBJECTS | {"dobj", "nsubjpass"} for t in c.subtree}
            return bool(self._back(args) & topic)
        j = cue.end
        while j < self.end and j < cue.end + 2 and (self.doc[j].text == "-" or self.doc[j].lower_ in ("and", ",")):
            j += 1
        if j < self.end and j in topic:
            return True  # premodifier of the topic words
        linked = False
        for i in range(cue.start - 1, max(self.start, cue.start - 8) - 1, -1):
            word = self.doc[i]
            if word.lower_ in _BREAKS:
                return False
            if i in topic:  # "fine-tuning backfired", "open models (really) are a disaster"
                first = i
                while first - 1 in topic:
                    first -= 1
                return linked or cue.start - i <= 3 or self._opens_clause(first)
            linked = linked or word.lemma_ in _COPULAS
        return False

    def evaluates(self, cue: Cue, topic: set[int]) -> bool:
        """Whether an evaluative word judges the topic, not a noun beside it.

        "the best closed models" praises the closed models, not open weights: an adjective
        counts only when the noun it modifies holds the topic words.
        """
        if self.parsed is None:
            after = self.doc[cue.end] if cue.end < self.end else None
            if after is None or not after.is_alpha or after.lower_ in _FUNCTION or after.i in topic:
                return True  # not a premodifier, or it modifies the topic itself
            before = {self.doc[i].lemma_ for i in range(max(self.start, cue.start - 3), cue.start)}
            return bool(before & _COPULAS) or any(i in topic for i in range(cue.end, min(self.end, cue.end + 3)))
        tok = self._tok(cue.start)
        if tok.dep_ in ("amod", "compound") and tok.head.pos_ in ("NOUN", "PROPN"):
            return bool(self._back({t.i for t in tok.head.subtree}) & topic)
        return True

    def describes_subject(self, cue: Cue) -> bool:
        """Whether the cue sits in a relative clause that only says which subject is meant."""
        if self.parsed is None:
            return False
        for node in self._tok(cue.start).ancestors:
            if node.dep_ == "relcl":
                return node.head.dep_ in _SUBJECTS
        return False

    def left_behind(self, cue: Cue) -> bool:
        """Whether the cue sits in the "from X" of a move "from X to Y": X is what is left."""
        if self.parsed is None:
            back = [self.doc[i].lower_ for i in range(max(self.start, cue.start - 3), cue.start)]
            ahead = [self.doc[i].lower_ for i in range(cue.end, min(self.end, cue.end + 4))]
            return "from" in back and not set(back[back.index("from"):]) & _BREAKS \
                and bool({"to", "into"} & set(ahead))
        tok = self._tok(cue.start)
        for node in [tok, *tok.ancestors]:
            if node.dep_ == "pobj" and node.head.lower_ == "from":
                verb = node.head.head
                return any(c.dep_ in ("prep", "dative") and c.lower_ in ("to", "into", "toward", "towards")
                           for c in verb.children)
            if node.dep_ in ("ROOT", "ccomp", "advcl", "relcl", "xcomp"):
                return False
        return False

    def clause(self, cue: Cue) -> set[int]:
        """The concessive clause a contrast cue opens ("Despite ...", "Although ...")."""
        if self.parsed is None:
            return self._window(cue.end, stop_at_comma=True) | set(range(cue.start, cue.end))
        tok = self._tok(cue.start)
        root = tok.head if tok.dep_ == "mark" else tok
        return self._back({t.i for t in root.subtree})

    def _window(self, after: int, stop_at_comma: bool = True) -> set[int]:
        out: set[int] = set()
        breaks = _BREAKS if stop_at_comma else _STRONG_BREAKS
        for i in range(after, self.end):
            if self.doc[i].lower_ in breaks and i > after:
                break
            out.add(i)
        return out
