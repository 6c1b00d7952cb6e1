"""Locate the bundled demo sources (`samples/`) and turn `sources.toml` into Source records."""
from __future__ import annotations

import tomllib
from pathlib import Path

from kb.records import Source

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"


def sample_sources(samples_dir: Path = SAMPLES_DIR) -> list[Source]:
    """The demo's sources, with file paths made absolute."""
    manifest = samples_dir / "sources.toml"
    data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    out = []
    for entry in data.get("source", []):
        url = entry["url"]
        if "://" not in url:
            url = str((samples_dir / url).resolve())
        out.append(Source(url=url, kind=entry["kind"], title=entry.get("title")))
    return out
