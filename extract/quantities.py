"""`insightkb_quantities`: numbers quoted in claims, normalised to value (+ upper bound), unit, kind.

"10 billion tokens" -> 1e10 tokens; "one-fifth the cost" -> ratio 0.2 of cost; "0.6 seconds
faster" -> -0.6 s (latency); "every 2-3 months" -> 2..3 months; "~100x the Chinchilla
optimum" -> ratio 100; "eight figures" -> money 1e7..1e8 USD; "$5M" -> 5e6 USD; "90%".
Number words, scales, fractions, units and currencies are data (data/quantities.jsonl).
"""
from __future__ import annotations

import re
from typing import Any

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.tokens import Doc, Token

from extract.claims import claims_of
from extract.lexicon import read_jsonl

MODELS = "insightkb_models"
_NUMERIC = re.compile(
    r"^(?P<approx>[~≈])?(?P<cur>[$€£])?(?P<num>\d[\d,]*(?:\.\d+)?)(?P<scale>k|K|m|M|b|B|bn|mn|t|T)?(?P<suffix>x|X|%)?$"
)
_YEAR = re.compile(r"^(19|20)\d\d$")


@Language.factory("insightkb_quantities", default_config={"lexicon": "quantities.jsonl"})
def make_quantities(nlp: Language, name: str, lexicon: str) -> "QuantityParser":
    return QuantityParser(lexicon)


class QuantityParser:
    """Walk each claim's tokens and read number + scale + unit groups."""

    def __init__(self, lexicon: str) -> None:
        self.words: dict[str, dict[str, dict[str, Any]]] = {}
        for row in read_jsonl(lexicon):
            table = self.words.setdefault(row["kind"], {})
            for form in row["forms"]:
                table[form.lower()] = row

    def _is(self, kind: str, token: Token) -> dict[str, Any] | None:
        return self.words.get(kind, {}).get(token.lower_)

    def __call__(self, doc: Doc) -> Doc:
        claims = claims_of(doc)
        if not claims:
            return doc
        blocked = {i for span in doc.spans.get(MODELS, []) for i in range(span.start, span.end)}
        for claim in claims:
            claim["quantities"] = self.parse(doc, claim["start"], claim["end"], blocked)
        return doc

    def parse(self, doc: Doc, start: int, end: int, blocked: set[int]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        i = start
        while i < end:
            found = self._read(doc, i, end, blocked)
            if found is None:
                i += 1
                continue
            q, i = found
            out.append(q)
        return out

    def _number(self, doc: Doc, i: int, end: int) -> tuple[float, int, dict[str, Any]] | None:
        """A number starting at token i: (value, next index, flags)."""
        tok = doc[i]
        m = _NUMERIC.match(tok.text)
        flags: dict[str, Any] = {}
        if m:
            if _YEAR.match(tok.text) and not m.group("suffix"):
                return None
            value = float(m.group("num").replace(",", ""))
            if m.group("scale"):
                value *= self.words["scale"][m.group("scale").lower()]["value"]
                flags["scaled"] = True
            if m.group("cur"):
                flags["currency"] = self.words["currency"][m.group("cur")]["unit"]
            if m.group("suffix") in ("x", "X"):
                flags["ratio"] = True
            if m.group("suffix") == "%":
                flags["percent"] = True
            flags["digits"] = True
            j = i + 1
        else:
            row = self._is("number", tok)
            if row is None:
                return None
            value = float(row["value"])
            j = i + 1
            if tok.lower_ in ("a", "an", "single", "double", "triple", "couple"):
                flags["weak"] = True
        while j < end and self._is("scale", doc[j]):
            value *= self._is("scale", doc[j])["value"]
            flags["scaled"] = True
            flags.pop("weak", None)
            j += 1
        return value, j, flags

    def _read(self, doc: Doc, i: int, end: int, blocked: set[int]) -> tuple[dict[str, Any], int] | None:
        if i in blocked:
            return None
        tok = doc[i]
        currency = None
        first = i
        if self._is("currency", tok) and tok.text in ("$", "€", "£") and i + 1 < end:
            currency = self._is("currency", tok)["unit"]
            i += 1
        approx = tok.text in ("~", "≈")
        if approx and i + 1 < end:
            i += 1
        if first > 0 and self._is("vague", doc[first - 1]):
            return None  # "a few hundred dollars", "several million": no value to store
        got = self._number(doc, i, end)
        if got is None:
            return None
        value, j, flags = got
        currency = currency or flags.get("currency")
        value_max = None
        kind = None
        unit = None
        # fractions: "one-fifth", "a third", "two thirds"
        k = j + 1 if j < end and doc[j].text == "-" else j
        if k < end and self._is("fraction", doc[k]) and not (
            flags.get("weak") and not (k + 1 < end and doc[k + 1].lower_ in ("of", "the"))
        ):
            value *= self._is("fraction", doc[k])["value"]
            j = k + 1
            unit, _ref_end = self._reference(doc, j, end)
            return self._make(doc, first, j, value, None, unit or "x", "ratio"), j
        if flags.get("weak") and not flags.get("scaled"):
            return None
        # ranges: "2-3 months", "2 to 3 months"
        if (j + 1 < end and doc[j].lower_ in self.words["range"] and not flags.get("percent")
                and not flags.get("ratio")):
            nxt = self._number(doc, j + 1, end)
            if nxt is not None and nxt[0] > value:
                value_max, j, more = nxt
                flags.update({k2: v for k2, v in more.items() if k2 in ("percent", "ratio")})
        if flags.get("percent") or (j < end and self._is("unit", doc[j]) and self._is("unit", doc[j])["unit"] == "%"):
            if not flags.get("percent"):
                j += 1
            return self._make(doc, first, j, value, value_max, "%", "percent"), j
        if flags.get("ratio") or (j < end and self._is("ratio", doc[j])):
            if not flags.get("ratio"):
                j += 1
            unit, ref_end = self._reference(doc, j, end)
            return self._make(doc, first, ref_end if unit else j, value, value_max, unit or "x", "ratio"), j
        if j < end and self._is("figures", doc[j]) and not flags.get("digits"):
            n = int(value)
            return self._make(doc, first, j + 1, 10.0 ** (n - 1), 10.0 ** n, currency or "USD", "money"), j + 1
        if currency:
            return self._make(doc, first, j, value, value_max, currency, "money"), j
        # unit: up to three modifier tokens ("high-quality") before a known unit
        look = j
        for step in range(0, 4):
            if look >= end:
                break
            cand = doc[look]
            row = self._is("unit", cand) or self._is("currency", cand)
            if row and not (cand.text in ("s", "m") and step > 0):
                unit = row["unit"]
                kind = row.get("quantity_kind", "money" if row["kind"] == "currency" else "count")
                stop = look + 1
                if kind == "duration" and stop < end and self._is("comparative", doc[stop]):
                    comp = self._is("comparative", doc[stop])
                    value = comp["sign"] * value
                    value_max = comp["sign"] * value_max if value_max is not None else None
                    kind = comp["quantity_kind"]
                    stop += 1
                return self._make(doc, first, stop, value, value_max, unit, kind), stop
            if not (cand.is_alpha or cand.text == "-") or cand.is_stop:
                break
            look += 1
        # a plain count of something: "two key reasons", "5 insights"
        if flags.get("digits") or value >= 2:
            for look in (j, j + 1):
                if look < end:
                    cand = doc[look]
                    if (cand.is_alpha and cand.is_lower and cand.lower_.endswith("s") and len(cand) > 3
                            and cand.lower_ not in STOP_WORDS):
                        return self._make(doc, first, look + 1, value, value_max, cand.lower_, "count"), look + 1
                    if not cand.is_alpha or cand.lower_ in STOP_WORDS:
                        break
            if flags.get("digits") and flags.get("scaled"):
                return self._make(doc, first, j, value, value_max, None, "count"), j
        return None

    def _reference(self, doc: Doc, j: int, end: int) -> tuple[str | None, int]:
        """The thing a ratio is of: "the cost", "the Chinchilla optimum" -> "cost", "chinchilla optimum"."""
        k = j
        if k < end and doc[k].lower_ in ("of",):
            k += 1
        if not (k < end and doc[k].lower_ in ("the", "their", "its", "a", "our", "your")):
            return None, j  # "3x year over year": a bare ratio, not a ratio of something
        k += 1
        words = []
        while (k < end and doc[k].is_alpha and doc[k].lower_ not in STOP_WORDS and len(words) < 3
               and not self._is("not_reference", doc[k])):
            words.append(doc[k].lower_)
            k += 1
        return " ".join(words) or None, k

    @staticmethod
    def _make(doc: Doc, start: int, end: int, value: float, value_max: float | None, unit: str | None,
              kind: str | None) -> dict[str, Any]:
        span = doc[start:end]
        return {
            "text": span.text, "value": value, "value_max": value_max, "unit": unit, "kind": kind,
            "start_char": span.start_char, "end_char": span.end_char,
        }
