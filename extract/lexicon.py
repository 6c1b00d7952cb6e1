"""Find and read the pattern and lexicon files shipped in extract/data/."""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import srsly


def data_path(name: str | Path) -> Path:
    """`name` as given when absolute or existing, else the file of that name in extract/data/."""
    path = Path(name)
    if path.is_absolute() or path.exists():
        return path
    return Path(str(resources.files("extract.data").joinpath(str(name))))


def read_jsonl(name: str | Path) -> list[dict[str, Any]]:
    """Every record of a JSONL pattern/lexicon file, in order."""
    return list(srsly.read_jsonl(data_path(name)))


def entries(name: str | Path, kind: str) -> list[dict[str, Any]]:
    """The records of one `kind` in a lexicon file."""
    return [row for row in read_jsonl(name) if row.get("kind") == kind]
