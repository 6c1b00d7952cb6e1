"""Every command has help text with an Example block."""
from __future__ import annotations

import click
from click.testing import CliRunner

from insightkb.cli import cli


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + (name,))


def test_every_command_has_help_with_an_example() -> None:
    runner = CliRunner()
    missing = []
    for path, command in _commands(cli):
        result = runner.invoke(cli, [*path, "--help"])
        if result.exit_code != 0 or not (command.help or "").strip():
            missing.append(" ".join(path))
        elif not isinstance(command, click.Group) and "Example" not in result.output:
            missing.append(" ".join(path) + " (no Example)")
    assert missing == []


def test_init_creates_a_kb(tmp_path) -> None:
    kb = tmp_path / "new.db"
    result = CliRunner().invoke(cli, ["--kb", str(kb), "init"])
    assert result.exit_code == 0, result.output
    assert kb.exists() and "schema v" in result.output
