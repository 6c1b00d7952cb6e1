"""kb and cluster import nothing of ours; ingest, transcribe, extract and digest import only kb."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"insightkb", "ingest", "transcribe", "extract", "kb", "digest", "cluster"}
ALLOWED = {"kb": set(), "ingest": {"kb"}, "transcribe": {"kb"}, "extract": {"kb"}, "digest": {"kb"}, "cluster": set()}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_it_may(package: str) -> None:
    bad = {}
    for path in (ROOT / package).rglob("*.py"):
        extra = _imports(path) - ALLOWED[package] - {package}
        if extra:
            bad[str(path.relative_to(ROOT))] = sorted(extra)
    assert bad == {}


_SQL = __import__("re").compile(r"\b(SELECT\s+\S|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b")


def test_ingest_has_no_sql() -> None:
    """Ingest asks kb questions by name (documents.exists, sources.url_taken, ...); SQL lives in kb."""
    found = {str(p.relative_to(ROOT)): m.group(0) for p in (ROOT / "ingest").rglob("*.py")
             for m in [_SQL.search(p.read_text(encoding="utf-8"))] if m}
    assert found == {}
