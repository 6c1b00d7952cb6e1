"""Settings: the example file is valid, bad keys are one-line errors, the secret is shared."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from insightkb.cli import cli
from insightkb.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_example_config_loads_and_matches_the_defaults() -> None:
    loaded = load_settings(ROOT / "insightkb.example.toml")
    assert loaded == Settings()


def test_unknown_key_names_the_file_and_the_key(tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[digest]\nsend_time = '07:00'\n")
    with pytest.raises(ConfigError, match=r"bad.toml.digest: unknown setting 'send_time'"):
        load_settings(path)


def test_cli_reports_config_errors_in_one_line(tmp_path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[digest\n")
    result = CliRunner().invoke(cli, ["-c", str(path), "--kb", str(tmp_path / "k.db"), "init"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "broken.toml" in lines[0]


def test_environment_overrides_secrets(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("INSIGHTKB_SMTP_HOST", "mail.example.org")
    monkeypatch.setenv("INSIGHTKB_SMTP_PORT", "2525")
    settings = load_settings()
    assert (settings.smtp.host, settings.smtp.port) == ("mail.example.org", 2525)


def test_configured_secret_is_the_one_kb_uses(tmp_path, monkeypatch) -> None:
    import os

    from insightkb.settings_bridge import digest_options
    from kb.serve import make_datasette

    monkeypatch.delenv("INSIGHTKB_SECRET", raising=False)
    path = tmp_path / "c.toml"
    path.write_text("[serve]\nsecret = 's3cret-from-config'\n")
    kb = tmp_path / "k.db"
    result = CliRunner().invoke(cli, ["-c", str(path), "--kb", str(kb), "init"])
    assert result.exit_code == 0, result.output
    assert "INSIGHTKB_SECRET" not in os.environ  # passed as an argument, never through the environment
    settings = load_settings(str(path))
    settings.kb = str(kb)
    assert digest_options(settings).secret == "s3cret-from-config"
    ds = make_datasette(kb, settings.serve.secret)
    assert ds.unsign(ds.sign("x", "t"), "t") == "x"
    from itsdangerous import URLSafeSerializer

    assert URLSafeSerializer("s3cret-from-config", "t").loads(ds.sign("x", "t")) == "x"
    assert not (tmp_path / "k.db.secret").exists()


def test_digest_links_follow_serve_unless_base_url_is_set() -> None:
    from insightkb.settings_bridge import loopback_warning, public_base_url

    settings = Settings()
    settings.serve.port = 8101
    assert public_base_url(settings) == "http://127.0.0.1:8101"
    settings.serve.host = "0.0.0.0"
    assert public_base_url(settings) == "http://127.0.0.1:8101"
    assert loopback_warning(settings) is None  # outbox only: nobody else reads the links
    settings.smtp.host = "mail.example.org"
    warning = loopback_warning(settings)
    assert warning and "mail.example.org" in warning and "[digest] base_url" in warning
    settings.digest.base_url = "https://kb.example.org/"
    assert public_base_url(settings) == "https://kb.example.org"
    assert loopback_warning(settings) is None


def test_send_over_real_smtp_with_loopback_links_warns(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[smtp]\nhost = "127.0.0.1"\nport = 9\nmax_attempts = 1\n')
    result = CliRunner().invoke(cli, ["-c", str(path), "--kb", str(tmp_path / "k.db"), "digest", "--send"])
    assert "which only this machine can open" in result.output
