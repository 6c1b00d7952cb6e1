"""A general valence lexicon (good/bad words) read from an installed package at build time.

The hand-kept evaluative words of data/stance_lexicon.jsonl cover the seeds' vocabulary; unseen
text praises and faults things with many more words ("flawless", "clunky", "botched"). VADER's
lexicon (package vaderSentiment, ~7,500 human-rated words, mean valence -4..+4) supplies them.
A `valence_source` row of the stance lexicon names the package, file, cut-off and the words to
leave out, so the choice is data, and nothing is copied into our files or downloaded at run time.
"""
from __future__ import annotations

import logging
import re
from functools import lru_cache
from importlib import resources
from typing import Any

log = logging.getLogger(__name__)
_WORD = re.compile(r"^[a-z][a-z'-]*[a-z]$")


@lru_cache(maxsize=4)
def _read(package: str, filename: str) -> tuple[tuple[str, float], ...]:
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            try:
                rows.append((parts[0].strip(), float(parts[1])))
            except ValueError:
                continue
    return tuple(rows)


def valence_words(row: dict[str, Any]) -> dict[str, int]:
    """word (lower case) -> +1 / -1 for the words of a `valence_source` row at or beyond `min_abs`.

    Emoticons, abbreviations and multi-word entries are dropped (only words of letters, with
    inner hyphens or apostrophes), so are the row's `exclude` words. A missing package is
    logged and yields no words: the hand lexicon still works without it.
    """
    try:
        rows = _read(row["package"], row["file"])
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        log.warning("valence lexicon %s/%s not available: %s", row["package"], row["file"], exc)
        return {}
    cut = float(row.get("min_abs", 1.5))
    exclude = {w.lower() for w in row.get("exclude", [])}
    out: dict[str, int] = {}
    for word, value in rows:
        if abs(value) < cut or word in exclude or not _WORD.match(word) or len(word) < 3:
            continue
        out[word] = 1 if value > 0 else -1
    return out
