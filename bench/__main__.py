"""`python -m bench [NAME ...]`: run every benchmark module in bench/ (or the named ones).

Each module `bench/NAME.py` exposes `main(argv: list[str]) -> None` and prints its figures as
ratios against a baseline measured in the same process.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))
    wanted = [a for a in argv if not a.startswith("-")] or names
    unknown = set(wanted) - set(names)
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have: {', '.join(names)}", file=sys.stderr)
        return 2
    for name in wanted:
        print(f"== bench {name}", flush=True)
        importlib.import_module(f"bench.{name}").main([a for a in argv if a.startswith("-")])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
