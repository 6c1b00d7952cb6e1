"""`insightkb digest`, `digest preview` and `subscribers add/remove/list` through click."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from digest_kbdata import SEED_SPECS, add_claims

cli_module = pytest.importorskip("insightkb.cli")
cli = cli_module.cli


@pytest.fixture
def run(kb_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INSIGHTKB_SECRET", "cli-secret")
    for var in ("INSIGHTKB_SMTP_HOST", "INSIGHTKB_SMTP_PORT", "INSIGHTKB_CONFIG", "INSIGHTKB_KB"):
        monkeypatch.delenv(var, raising=False)

    def invoke(*args: str, config: str | None = None):
        pre = ["--kb", str(kb_path)] + (["-c", config] if config else [])
        return CliRunner().invoke(cli, [*pre, *args], catch_exceptions=False)

    return invoke


def test_subscribers_add_list_remove(run):
    ok = run("subscribers", "add", "Ada@Example.ORG", "--name", "Ada", "--topic", "latency")
    assert ok.exit_code == 0 and ok.output == "subscribed: ada@example.org (topics: latency)\n"
    assert run("subscribers", "add", "bob@example.org").exit_code == 0
    listed = run("subscribers", "list").output.splitlines()
    assert listed == ["ada@example.org\tactive\tlatency", "bob@example.org\tactive\tall topics"]
    assert run("subscribers", "remove", "bob@example.org").output == "unsubscribed: bob@example.org\n"
    assert run("subscribers", "list").output.splitlines() == ["ada@example.org\tactive\tlatency"]
    assert "bob@example.org\tunsubscribed" in run("subscribers", "list", "--all").output


@pytest.mark.parametrize("args, message", [
    (["subscribers", "add", "not-an-address"], "Error: not a valid e-mail address: 'not-an-address'"),
    (["subscribers", "add", "a@b.org\nBcc: x@evil.org"], "Error: not a valid e-mail address"),
    (["subscribers", "add", "a@b.org", "--topic", "astrology"], "Error: unknown topic(s): astrology; known:"),
    (["subscribers", "remove", "nobody@example.org"], "Error: no subscriber 'nobody@example.org'"),
    (["digest", "--date", "25/11/2026"], "Error: Invalid value for --date: not a date (YYYY-MM-DD): '25/11/2026'"),
])
def test_bad_input_is_a_one_line_error(run, args, message):
    result = run(*args)
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(lines) == 1 and lines[0].startswith(message), result.output


def test_digest_preview_prints_five_with_scores(run, db):
    add_claims(db, SEED_SPECS)
    result = run("digest", "preview")
    assert result.exit_code == 0
    ranked = [line for line in result.output.splitlines() if line[:2] in {"1.", "2.", "3.", "4.", "5."}]
    assert len(ranked) == 5 and all("[" in line and "]" in line for line in ranked)
    assert result.output.count("   why: ") == 5 and result.output.count("   point #") == 5
    assert db.execute("SELECT count(*) FROM digests").fetchone()[0] == 0  # preview stores nothing


def test_digest_send_to_outbox_then_again_sends_nothing(run, db, tmp_path):
    add_claims(db, SEED_SPECS)
    run("subscribers", "add", "ada@example.org")
    first = run("digest", "--send")
    assert first.exit_code == 0
    assert "built (#" in first.output and "written: " in first.output
    assert ": 1 sent, 0 already delivered" in first.output
    assert len(list((tmp_path / "outbox" / "deliveries").rglob("*.eml"))) == 1
    second = run("digest", "--send")
    assert ": 0 sent, 1 already delivered" in second.output


def test_digest_send_over_smtp_from_config(run, db, tmp_path, smtp_server):
    add_claims(db, SEED_SPECS)
    run("subscribers", "add", "ada@example.org")
    config = tmp_path / "insightkb.toml"
    config.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\nstarttls = false\n'
                      f'[digest]\nsender = "Digest <digest@insightkb.test>"\n')
    result = run("digest", "--send", config=str(config))
    assert result.exit_code == 0, result.output
    assert "(smtp 127.0.0.1:" in result.output
    assert smtp_server.handler.by_rcpt() == {"ada@example.org": 1}


@pytest.mark.parametrize("setting, message", [
    ('timezone = "Mars/Olympus"', "Error: unknown timezone in [digest] timezone: 'Mars/Olympus'"),
    ('sender = "nobody"', "Error: digest sender is not an e-mail address: 'nobody'"),
])
def test_bad_digest_config_is_a_one_line_error(run, tmp_path, setting, message):
    config = tmp_path / "bad.toml"
    config.write_text(f"[digest]\n{setting}\n")
    result = run("digest", config=str(config))
    assert result.exit_code == 1
    assert result.output.strip() == message
