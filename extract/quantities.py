"""`insightkb_quantities`: numbers quoted in claims, normalised to value (+ upper bound), unit, kind.

"10 billion tokens" -> 1e10 tokens; "150ms" -> 0.15 s; "2–10 seconds" -> 2..10 s; "one-fifth the
cost" -> 0.2 x; "0.6 seconds faster" -> -0.6 s (latency); "~100x the Chinchilla optimum" -> 100 x;
"eight figures" -> 1e7..1e8 USD; "$20K+" -> 20000 USD; "a 13B-parameter model", "7B" -> parameters;
"300 tokens/sec" -> 300 tokens/s; "$2/hour" -> 2 USD/hour; "80GB" -> 80 GB; "4-bit", "int4" -> 4 bits.
Bare numbers listed before one with a unit share it ("7, 13 and 70 billion parameters").
Not quantities: list counts in prose ("three reasons", "the 5 stories"), years, dates, versions
and model names ("GPT-4", "Llama 3.1", "8x7B").

Tokens are first cut into pieces (digits, letters, one symbol each), so a unit glued to its
number ("150ms", "80GB", "<2s", "20K+") reads like a spaced one. Every word list, scale, unit
conversion and rate denominator is data (data/quantities.jsonl).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.attrs import LOWER, SHAPE
from spacy.strings import get_string_id
from spacy.tokens import Doc

from extract.claims import claims_of
from extract.lexicon import read_jsonl

MODELS = "insightkb_models"
_PIECE = re.compile(r"\d[\d,]*(?:\.\d+)*|[^\W\d_]+|\S")
_NUMBER = re.compile(r"^\d{1,3}(?:,\d{3})+$|^\d+(?:\.\d+)?$")
_DIGITS = re.compile(r"\d")


@dataclass
class Piece:
    """A digit run, a letter run or one symbol of a token, with its character offsets."""

    text: str
    lower_: str
    start_char: int
    end_char: int
    token: int  # index of the token it comes from
    glued: bool  # no space between it and the piece before

    @property
    def is_alpha(self) -> bool:
        return self.text.isalpha()

    @property
    def is_lower(self) -> bool:
        return self.text.islower()

    @property
    def is_stop(self) -> bool:
        return self.lower_ in STOP_WORDS

    def __len__(self) -> int:
        return len(self.text)


def pieces_of(doc: Doc, start: int, end: int) -> list[Piece]:
    """The tokens doc[start:end] cut into pieces; tokens without a digit stay whole."""
    out: list[Piece] = []
    for tok in doc[start:end]:
        if tok.is_space:
            continue
        if not _DIGITS.search(tok.text) and not (tok.text.endswith("+") and len(tok) > 1):
            out.append(Piece(tok.text, tok.lower_, tok.idx, tok.idx + len(tok), tok.i,
                             bool(out) and out[-1].end_char == tok.idx))
            continue
        for m in _PIECE.finditer(tok.text):
            text = m.group().rstrip(",") if m.group()[0].isdigit() else m.group()
            s = tok.idx + m.start()
            out.append(Piece(text, text.lower(), s, s + len(text), tok.i, bool(out) and out[-1].end_char == s))
    return out


@Language.factory("insightkb_quantities", default_config={"lexicon": "quantities.jsonl"})
def make_quantities(nlp: Language, name: str, lexicon: str) -> "QuantityParser":
    return QuantityParser(lexicon)


class QuantityParser:
    """Walk each claim's pieces and read number + scale + unit groups."""

    def __init__(self, lexicon: str) -> None:
        self.words: dict[str, dict[str, dict[str, Any]]] = {}
        for row in read_jsonl(lexicon):
            table = self.words.setdefault(row["kind"], {})
            for form in row["forms"]:
                table[form if row.get("case_sensitive") else form.lower()] = row

        # words that can begin a quantity, and words whose presence makes a sentence worth reading
        self.starters = set(self.words.get("number", {})) | set(self.words.get("sign", {})) | {
            form for form, row in self.words.get("currency", {}).items() if row.get("symbol")}
        cues = {form for form, row in self.words.get("number", {}).items() if not row.get("weak")} | set(
            self.words.get("fraction", {})) | {form for form in self.words.get("scale", {}) if len(form) > 2}
        self.cue_ids = {get_string_id(form) for form in cues}
        self._shapes: dict[int, bool] = {}

    def _is(self, kind: str, piece: Piece) -> dict[str, Any] | None:
        table = self.words.get(kind, {})
        return table.get(piece.text) or table.get(piece.lower_)

    def __call__(self, doc: Doc) -> Doc:
        claims = claims_of(doc)
        if not claims:
            return doc
        blocked = {i for span in doc.spans.get(MODELS, []) for i in range(span.start, span.end)}
        shapes, lowers = doc.to_array([SHAPE, LOWER]).T.tolist()
        for claim in claims:
            lo, hi = claim["start"], claim["end"]
            if any(self._digit_shape(doc, x) for x in shapes[lo:hi]) or not self.cue_ids.isdisjoint(lowers[lo:hi]):
                claim["quantities"] = self.parse(doc, lo, hi, blocked)
            else:
                claim["quantities"] = []  # no digit and no number word: nothing to read
        return doc

    def _digit_shape(self, doc: Doc, shape: int) -> bool:
        """Whether a token of this shape ("dd", "dddxx", "$d") holds a digit (cached per shape)."""
        found = self._shapes.get(shape)
        if found is None:
            found = self._shapes[shape] = "d" in doc.vocab.strings[shape]
        return found

    def parse(self, doc: Doc, start: int, end: int, blocked: set[int]) -> list[dict[str, Any]]:
        """The quantities in doc[start:end]."""
        if start >= end:
            return []
        span = doc[start:end]
        text = (span.text, span.start_char)  # the claim's text and where it starts (doc.text would build it all)
        ps = pieces_of(doc, start, end)
        out: list[dict[str, Any]] = []
        i = 0
        while i < len(ps):
            p = ps[i]
            if not (p.text[0].isdigit() or p.lower_ in self.starters):
                i += 1
                continue
            found = self._read(doc, text, ps, i, blocked)
            if found is None:
                shared = self._shared_unit(doc, text, ps, i, blocked)
                if shared is None:
                    i += 1
                    continue
                listed, i = shared
                out += listed
                continue
            q, i = found
            out.append(q)
        return out

    def _shared_unit(self, doc: Doc, text: tuple[str, int], ps: list[Piece], i: int,
                     blocked: set[int]) -> tuple[list[dict[str, Any]], int] | None:
        """Bare numbers listed before one that has a scale or unit share it: "7, 13 and 70 billion
        parameters", "7B, 13B, and 65B" aside, "the 8 or 70B models" -> each number in that unit."""
        numbers = [i]
        k = i
        while True:
            if not (_NUMBER.match(ps[k].text) and not _is_year(ps[k].text)) or self._identifier(doc, ps, k):
                return None
            nxt = k + 1
            while nxt < len(ps) and self._is("list_joiner", ps[nxt]):
                nxt += 1
            if nxt == k + 1 or nxt >= len(ps) or not _NUMBER.match(ps[nxt].text):
                return None  # not a list of numbers
            found = self._read(doc, text, ps, nxt, blocked)
            if found is not None:
                break
            numbers.append(nxt)
            k = nxt
        last, stop = found
        plain = float(ps[nxt].text.replace(",", ""))
        if last["value_max"] is not None or not plain or not last["unit"] or last["start_char"] != ps[nxt].start_char:
            return None
        values = [float(ps[n].text.replace(",", "")) for n in numbers]
        if all(b - a == 1 for a, b in zip(values + [plain], values[1:] + [plain])):
            return None  # counting out loud ("1, 2, 3, 4 lines"), not sizes
        factor = last["value"] / plain
        listed = [self._make(text, ps, n, n + 1, _scaled(value, factor) or 0.0, None, last["unit"], last["kind"])
                  for n, value in zip(numbers, values)]
        return listed + [last], stop

    def _number(self, ps: list[Piece], i: int) -> tuple[float, int, dict[str, Any]] | None:
        """A number starting at piece i: (value, next index, flags)."""
        end = len(ps)
        p = ps[i]
        flags: dict[str, Any] = {}
        if _NUMBER.match(p.text):
            value = float(p.text.replace(",", ""))
            flags["digits"] = True
            j = i + 1
            # a scale letter glued to the digits: "20K", "1.5B", "$5M"
            if j < end and ps[j].glued and self._is("scale", ps[j]) and len(ps[j]) <= 2:
                value *= self._is("scale", ps[j])["value"]
                flags.update(scaled=True, scale=self._is("scale", ps[j])["value"], glued_scale=ps[j].lower_)
                j += 1
        else:
            row = self._is("number", p)
            if row is None:
                return None
            value = float(row["value"])
            j = i + 1
            if row.get("weak"):
                flags["weak"] = True
        if j + 1 < end and ps[j].text in ("+", "-") and ps[j].glued and self._is("scale", ps[j + 1]) \
                and len(ps[j + 1]) > 1:
            j += 1  # "600+ billion", "two-billion"
        while j < end and self._is("scale", ps[j]) and (len(ps[j]) > 1 or ps[j].glued or ps[j].text.isupper()) \
                and not (len(ps[j]) == 1 and j + 1 < end and ps[j + 1].glued and ps[j + 1].text[0].isdigit()):
            # (a letter glued to digits names something: "B200", "T4")
            scale = self._is("scale", ps[j])["value"]
            value *= scale
            flags["scaled"] = True
            flags["scale"] = flags.get("scale", 1.0) * scale
            flags.pop("weak", None)
            j += 1
        if j < end and ps[j].text == "+" and ps[j].glued:
            j += 1  # "$20K+", "4+ hours": at least
        return value, j, flags

    def _identifier(self, doc: Doc, ps: list[Piece], i: int) -> bool:
        """A version, a model name, a date or a label number, not a measurement."""
        p = ps[i]
        if i > 0 and p.glued and ps[i - 1].is_alpha and not self._is("currency", ps[i - 1]):
            return True  # "int8", "H100", "v2"
        if i > 1 and ps[i - 1].text in ("-", ".") and ps[i - 1].glued and p.glued and ps[i - 2].is_alpha \
                and not (i > 2 and self._is("scale", ps[i - 2]) and _NUMBER.match(ps[i - 3].text)):
            return True  # "GPT-4", "Llama-3"; not the upper end of "$200M-800M"
        if p.text.count(".") > 1:
            return True  # "3.1.2"
        if self._accelerator(doc, p) is not None:
            return True  # "RTX 4090", "two 3090s": a card's name
        nxt = ps[i + 1] if i + 1 < len(ps) else None
        if nxt is not None and nxt.glued and nxt.lower_ == "x" and i + 2 < len(ps) and ps[i + 2].glued \
                and _DIGITS.match(ps[i + 2].text):
            return True  # "8x7B"
        if i > 0 and self._is("label", ps[i - 1]):
            return True  # "version 2", "Figure 3", "March 5"
        if i > 0 and not ps[i - 1].glued and ps[i - 1].text[:1].isupper() and ps[i - 1].is_alpha \
                and doc[ps[i - 1].token].is_sent_start is not True and self._is("number", ps[i - 1]) is None \
                and not self._is("approx", ps[i - 1]) and "." in p.text:
            return True  # "Llama 3.1", "Claude 3.5"
        return False

    def _read(self, doc: Doc, text: tuple[str, int], ps: list[Piece], i: int, blocked: set[int]) -> tuple[dict[str, Any], int] | None:
        end = len(ps)
        if ps[i].token in blocked:
            return None
        first = i
        currency = None
        currency_factor = 1.0
        while i + 1 < end and self._is("sign", ps[i]):
            i += 1  # "~100x", "<2s", ">10k", "≈3"
        if self._is("currency", ps[i]) and self._is("currency", ps[i]).get("symbol") and i + 1 < end:
            currency = self._is("currency", ps[i])["unit"]
            i += 1
        if first > 0 and self._is("vague", ps[first - 1]):
            return None  # "a few hundred dollars", "several million": no value to store
        precision = self._is("precision", ps[i - 1]) if i > 0 and ps[i].glued and ps[i].text.isdigit() else None
        if precision and int(ps[i].text) in precision["widths"]:
            return self._make(text, ps, i - 1, i + 1, float(ps[i].text), None, precision["unit"], "count"), i + 1
        if ps[i].token in blocked or self._identifier(doc, ps, i):
            return None
        got = self._number(ps, i)
        if got is None:
            return None
        value, j, flags = got
        if not math.isfinite(value):
            return None  # a run of digits too long for a float
        if flags.get("digits") and _is_year(ps[i].text) and not flags.get("scaled") and not (
                j < end and (self._is("unit", ps[j]) or self._is("ratio", ps[j]) or ps[j].text == "%")):
            return None
        value_max = None
        # fractions: "one-fifth", "a third", "two thirds"
        k = j + 1 if j < end and ps[j].text == "-" else j
        if k < end and self._is("fraction", ps[k]) and not (
            flags.get("weak") and not (k + 1 < end and ps[k + 1].lower_ in ("of", "the"))
        ):
            value *= self._is("fraction", ps[k])["value"]
            j = k + 1
            ref_end = self._reference(ps, j)
            return self._make(text, ps, first, ref_end, value, None, "x", "ratio"), j
        if flags.get("weak") and not flags.get("scaled"):
            return None
        if first > 1 and ps[first - 1].lower_ == "of" and self._is("ratio_lead", ps[first - 2]) and not currency:
            return self._make(text, ps, first - 2, j, value, None, "x", "ratio"), j  # "a factor of two"
        # orders of magnitude: "two orders of magnitude" -> 100 x (a `magnitude` row of the lexicon)
        magnitude = self._is("magnitude", ps[j]) if j < end else None
        if magnitude and j + len(magnitude["then"]) < end and value <= magnitude["max_count"] \
                and all(ps[j + 1 + k].lower_ == word for k, word in enumerate(magnitude["then"])):
            stop = j + 1 + len(magnitude["then"])
            return self._make(text, ps, first, stop, float(magnitude["base"]) ** value, None, "x", "ratio"), stop
        # ranges: "2-3 months", "2–10 seconds", "2 to 3 months", "10 to 100 million dollars"
        if j + 1 < end and self._is("range", ps[j]) and not (ps[j].text == "%" or self._is("ratio", ps[j])):
            at = j + 1
            again = self._is("currency", ps[at]) if currency and at + 1 < end else None
            if again and again.get("symbol") and again["unit"] == currency:
                at += 1  # the symbol said again: "$8,000-$9,000"
            nxt = self._number(ps, at) if not self._identifier(doc, ps, at) else None
            if nxt is not None:
                upper, j2, more = nxt
                if more.get("scaled") and not flags.get("scaled") and value * more["scale"] <= upper:
                    value *= more["scale"]
                    flags.update(scaled=True, scale=more["scale"])
                if upper > value:
                    value_max, j = upper, j2
        if j < end and self._is("currency", ps[j]) and not currency and (flags.get("digits") or flags.get("scaled")):
            row = self._is("currency", ps[j])  # "0.01$", "20¢", "six billion dollars"
            currency, currency_factor = row["unit"], row.get("factor", 1.0)
            j += 1
        if j < end and self._is("unit", ps[j]) and self._is("unit", ps[j])["unit"] == "%":
            return self._make(text, ps, first, j + 1, value, value_max, "%", "percent"), j + 1
        if j < end and ps[j].lower_ == "x" and ps[j].glued:
            gpus = self._times_accelerator(doc, ps, j)
            if gpus is not None:  # "8x H100", "4x Nvidia A100": a count of cards
                row, stop = gpus
                return self._make(text, ps, first, stop, value, value_max, row["unit"], row["quantity_kind"]), stop
        if j < end and self._is("ratio", ps[j]):
            j += 1
            ref_end = self._reference(ps, j)
            return self._make(text, ps, first, max(ref_end, j), value, value_max, "x", "ratio"), j
        if j < end and self._is("figures", ps[j]) and not flags.get("digits"):
            n = int(value)
            return self._make(text, ps, first, j + 1, 10.0 ** (n - 1), 10.0 ** n, currency or "USD", "money"), j + 1
        if currency:
            value, value_max = _scaled(value, currency_factor), _scaled(value_max, currency_factor)
            unit, stop = self._per(ps, j, currency, money=True)
            return self._make(text, ps, first, stop, value, value_max, unit, "money"), stop
        # unit: up to three modifier words ("high-quality", "hand-labelled") before a known unit
        look, step = j, 0
        while step < 4 and look < end:
            cand = ps[look]
            plural = self._accelerator(doc, cand)
            if plural is not None:  # "416 A100 GPUs", "eight H100s"
                after = _after_token(ps, look)
                if plural:
                    row = self._accelerator_row(doc, cand)
                    return self._make(text, ps, first, after, value, value_max, row["unit"], row["quantity_kind"]), after
                look, step = after, step + 1
                continue
            row = self._is("unit", cand) or (self._is("currency", cand) if not cand.text in ("$", "€", "£") else None)
            if row and row.get("digits_only") and not flags.get("digits"):
                row = None  # "10-shot" counts examples, "zero-shot" and "one-shot" name a technique
            if row and row.get("scaled_only") and not flags.get("scaled"):
                row = None  # "8k context" counts tokens, "3 context windows" does not
            if row and row.get("one_is_idiom") and value == 1 and not flags.get("digits"):
                return None  # "for one example", "one great example": a phrase, not a count
            if row and not (len(cand) == 1 and (step > 0 or self._decade(ps, first, look))):
                factor = row.get("factor", 1.0)
                unit = row["unit"]
                kind = row.get("quantity_kind", "money" if row["kind"] == "currency" else "count")
                value, value_max = _scaled(value, factor), _scaled(value_max, factor)
                stop = look + 1
                then = row.get("then", {})
                at = stop + 1 if then and stop + 1 < end and ps[stop].text == "-" else stop
                if then and at < end and ps[at].lower_ in then:
                    unit, stop = then[ps[at].lower_], at + 1  # "GPU hours", "GPU-hours"
                if kind == "duration" and stop < end and self._is("comparative", ps[stop]):
                    comp = self._is("comparative", ps[stop])
                    value = comp["sign"] * value
                    value_max = comp["sign"] * value_max if value_max is not None else None
                    kind = comp["quantity_kind"]
                    stop += 1
                unit, stop = self._per(ps, stop, unit, money=kind == "money")  # "a hundred bucks an hour"
                return self._make(text, ps, first, stop, value, value_max, unit, kind), stop
            if self._ends_modifiers(cand):
                break
            look, step = look + 1, step + 1
        # a model size said in words: "a 405 billion model" (a million and up, before a model noun)
        model_noun = self._is("model_noun", ps[j]) if j < end and flags.get("scaled") else None
        if model_noun and flags.get("scale", 1.0) >= model_noun["min_scale"] and not currency:
            return self._make(text, ps, first, j, value, value_max, model_noun["unit"], model_noun["quantity_kind"]), j
        # a model size: "7B", "a 1.5B model"
        glued = flags.get("glued_scale")
        if glued and self._is("bare_scale", ps[j - 1]):
            if first > 0 and not ps[first].glued and (
                    _NUMBER.match(ps[first - 1].text) or ps[first - 1].token in blocked
                    or (ps[first - 1].text[:1].isupper() and doc[ps[first - 1].token].is_sent_start is not True)):
                return None  # part of a model's name: "Llama 3.1 405B", "Nemotron 340B"
            row = self._is("bare_scale", ps[j - 1])
            return self._make(text, ps, first, j, value, value_max, row["unit"], row["quantity_kind"]), j
        # a count of something as evidence: "120 production agents", "8,000 annotated contracts";
        # not a list count in prose ("three reasons", "the 5 stories")
        if flags.get("digits") or flags.get("scaled"):
            if not flags.get("scaled") and first > 0 and self._is("list_opener", ps[first - 1]):
                return None
            if j < end and ps[j].text == "-" and ps[j].glued:
                return None  # a compound adjective ("128-gig versions", "3-layer nets") whose noun is no unit
            look, step = j, 0
            while step < 4 and look < end:
                cand = ps[look]
                if self._accelerator(doc, cand) is False:
                    look, step = _after_token(ps, look), step + 1  # "8 A100 nodes"
                    continue
                if cand.is_alpha and cand.is_lower and not cand.glued and (self._is("count_noun", cand) or (
                        cand.lower_.endswith("s") and len(cand) > 3 and not cand.is_stop)):
                    return self._make(text, ps, first, look + 1, value, value_max, cand.lower_, "count"), look + 1
                if self._ends_modifiers(cand):
                    break
                look, step = look + 1, step + 1
        elif not (first > 0 and self._is("list_opener", ps[first - 1])):
            # a number in words counts only people and agents ("seven people", "five to seven engineers"):
            # "three reasons", "two ways" are list counts in prose
            # "one" before a plural is a pronoun: "one thing people forget", "the one people ask about"
            for look in range(j, min(j + 5, end) if value != 1 or value_max else j):
                cand = ps[look]
                if self._is("count_noun", cand) and not cand.glued:
                    return self._make(text, ps, first, look + 1, value, value_max, cand.lower_, "count"), look + 1
                hyphened = cand.text == "-" or (look + 1 < end and ps[look + 1].text == "-" and ps[look + 1].glued) \
                    or (cand.glued and ps[look - 1].text == "-")
                if not hyphened and (not cand.is_alpha or cand.is_stop):
                    break  # modifiers may be hyphenated: "nine full-time employees"
        if flags.get("scaled") and self._after_money_verb(ps, first):
            return self._make(text, ps, first, j, value, value_max, "USD", "money"), j  # "spent 150k on"
        return None  # a bare number ("50k", "70 billion"): without its unit it says nothing measurable

    def _after_money_verb(self, ps: list[Piece], first: int) -> bool:
        """Whether a verb of paying comes just before the number ("spent 150k", "paid around 90K")."""
        k = first - 1
        while k >= 0 and first - k <= 3 and (self._is("approx", ps[k]) or ps[k].lower_ in ("of", "upwards", "like")):
            k -= 1
        return k >= 0 and self._is("money_verb", ps[k]) is not None

    def _times_accelerator(self, doc: Doc, ps: list[Piece], j: int) -> tuple[dict[str, Any], int] | None:
        """The accelerator row and end index when "x" at j is followed by a card's name ("8x H100")."""
        k = j + 1
        if k < len(ps) and self._is("vendor", ps[k]):
            k += 1
        if k < len(ps) and not ps[k].glued and self._accelerator(doc, ps[k]) is not None:
            return self._accelerator_row(doc, ps[k]), _after_token(ps, k)
        return None

    def _accelerator_row(self, doc: Doc, piece: Piece) -> dict[str, Any]:
        """The lexicon row of the accelerator the piece's token names, singular or plural ("H100s")."""
        name = doc[piece.token].lower_
        names = self.words["accelerator"]
        return names.get(name) or names[name[:-1]]

    def _accelerator(self, doc: Doc, piece: Piece) -> bool | None:
        """Whether the piece's token names an accelerator ("A100", "4090"): True when plural ("H100s"),
        False when singular, None when it names none."""
        names = self.words.get("accelerator")
        if not names:
            return None
        low = doc[piece.token].lower_
        if low in names:
            after = doc[piece.token + 1].text if piece.token + 1 < len(doc) else ""
            return after in ("'s", "’s")  # "64 H100's": a plural with an apostrophe
        return True if low.endswith("s") and low[:-1] in names else None

    def _ends_modifiers(self, piece: Piece) -> bool:
        """Whether a piece ends the run of modifier words between a number and its noun
        ("2,000 very clean labels", "a 128-gig card"): anything but a word or hyphen, or a stop word
        other than an intensifier."""
        return not (piece.is_alpha or piece.text == "-") or (piece.is_stop and not self._is("intensifier", piece))

    @staticmethod
    def _decade(ps: list[Piece], first: int, look: int) -> bool:
        """"the 1990s", "the '80s": a glued s after a round number is a decade, not seconds."""
        number = ps[look - 1].text
        if ps[look].glued and number.endswith("00"):
            return True  # "100s of examples", "1000s": a plural, not seconds
        if ps[look].glued and look + 1 < len(ps) and ps[look + 1].lower_ == "of":
            return True  # "10s of thousands"
        return ps[look].glued and number.endswith("0") and (
            _is_year(number) or (first > 0 and ps[first - 1].lower_ in ("the", "'", "’")))

    def _per(self, ps: list[Piece], j: int, unit: str, money: bool = False) -> tuple[str, int]:
        """A rate: "tokens/sec", "tokens per second", "$2/hour", "$30 an hour" -> (unit/denominator, next index).

        Money is a rate per hour only (a price per month or year stays an amount in USD)."""
        if j + 1 < len(ps) and (ps[j].lower_ in ("/", "per") or (money and ps[j].lower_ in ("a", "an"))):
            row = self._is("per", ps[j + 1])
            if row and row.get("money" if money else "count"):
                return f"{unit}/{row['unit']}", j + 2
            thing = ps[j + 1]
            if money and ps[j].lower_ in ("/", "per") and thing.is_alpha and thing.is_lower and not thing.is_stop \
                    and not (self._is("unit", thing) or self._is("scale", thing) or self._is("number", thing)):
                return f"{unit}/{thing.lower_}", j + 2  # "$3.5 per unit", "$600 per engineer"
        return unit, j

    def _reference(self, ps: list[Piece], j: int) -> int:
        """Where the thing a ratio is of ends ("the cost", "the Chinchilla optimum"); j when there is none."""
        k = j
        if k < len(ps) and ps[k].lower_ in ("of",):
            k += 1
        if not (k < len(ps) and self._is("reference_determiner", ps[k])):
            return j  # "3x year over year": a bare ratio, not a ratio of something
        k += 1
        words = 0
        while (k < len(ps) and ps[k].is_alpha and not ps[k].is_stop and words < 3
               and not self._is("not_reference", ps[k])):
            words += 1
            k += 1
        return k if words else j

    @staticmethod
    def _make(text: tuple[str, int], ps: list[Piece], start: int, end: int, value: float, value_max: float | None,
              unit: str | None, kind: str | None) -> dict[str, Any]:
        start_char, end_char = ps[start].start_char, ps[end - 1].end_char
        return {
            "text": text[0][start_char - text[1]:end_char - text[1]], "value": value, "value_max": value_max, "unit": unit,
            "kind": kind, "start_char": start_char, "end_char": end_char,
        }


def _after_token(ps: list[Piece], i: int) -> int:
    """The index of the first piece after the token piece i belongs to."""
    k = i
    while k < len(ps) and ps[k].token == ps[i].token:
        k += 1
    return k


def _scaled(value: float | None, factor: float) -> float | None:
    if value is None or factor == 1.0:
        return value
    return round(value * factor, 12)


def _is_year(text: str) -> bool:
    return len(text) == 4 and text[:2] in ("19", "20") and text.isdigit()
