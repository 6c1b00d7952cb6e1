"""`insightkb extract` and `insightkb eval` through click, on a real KB file."""
from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from extract import EXTRACTOR_VERSION
from extract_helpers import GOLD, add_seeds

# Other areas' command modules may not be merged yet on this branch: stand in empty ones.
for _name in ("demo", "digest", "ingest", "run", "serve", "sources"):
    _full = f"insightkb.commands.{_name}"
    if importlib.util.find_spec(_full) is None:
        sys.modules[_full] = types.SimpleNamespace(COMMANDS=[])  # type: ignore[assignment]

from insightkb.cli import cli  # noqa: E402


def test_extract_command_is_incremental(kb_path, db):
    add_seeds(db)
    db.conn.close()
    runner = CliRunner()
    first = runner.invoke(cli, ["--kb", str(kb_path), "extract"])
    assert first.exit_code == 0, first.output
    assert "extract: 4 documents, " in first.output and f"extractor {EXTRACTOR_VERSION}," in first.output
    second = runner.invoke(cli, ["--kb", str(kb_path), "extract"])
    assert second.exit_code == 0 and "extract: 0 documents, 0 claims" in second.output


def test_eval_command_prints_scores_and_json(kb_path):
    runner = CliRunner()
    gold = str(GOLD / "seeds.jsonl")
    out = runner.invoke(cli, ["--kb", str(kb_path), "eval", gold])
    assert out.exit_code == 0, out.output
    assert "claim detection" in out.output and "stance (macro-F1)" in out.output
    js = runner.invoke(cli, ["--kb", str(kb_path), "eval", gold, "--json"])
    data = json.loads(js.output)
    assert set(data) >= {"claims", "topics", "stance", "quantities", "speakers"}


def test_eval_bad_gold_file_is_one_line_error(kb_path, tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "abc", "units": [{"text": "not there"}]}\n', encoding="utf-8")
    runner = CliRunner()
    for path, message in ((bad, "unit not found"), (tmp_path / "missing.jsonl", "cannot read gold file")):
        out = runner.invoke(cli, ["--kb", str(kb_path), "eval", str(path)])
        assert out.exit_code == 1 and message in out.output and len(out.output.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["extract", "eval"])
def test_help_ends_with_example(command):
    out = CliRunner().invoke(cli, [command, "--help"])
    assert out.exit_code == 0 and "Example:" in out.output


def test_eval_errors_say_why_a_gold_claim_was_not_taken(kb_path, tmp_path: Path):
    gold = tmp_path / "gold.jsonl"
    text = "Is fine-tuning dead for good?\n\nBase models now improve every three months, so tuning pays less."
    units = [{"text": t, "claim": True, "topics": {}, "quantities": [], "speaker": None} for t in text.split("\n\n")]
    gold.write_text(json.dumps({"id": "why", "text": text, "units": units}) + "\n", encoding="utf-8")
    out = CliRunner().invoke(cli, ["--kb", str(kb_path), "eval", str(gold), "--errors"])
    assert out.exit_code == 0, out.output
    missed = [line for line in out.output.splitlines() if line.startswith("claim FN")]
    assert missed == ["claim FN [why] 'Is fine-tuning dead for good?' (not a claim: question)"]
