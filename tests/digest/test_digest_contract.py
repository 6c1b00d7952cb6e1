"""The interface other packages rely on: options from settings, the public functions, the daily job."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, fields

import digest
from digest import DigestOptions, SmtpOptions
from insightkb.config import DigestSettings, SmtpSettings, load_settings
from kb.digests import digest_items


def test_options_accept_every_setting():
    options = DigestOptions(**asdict(DigestSettings()), secret="s")
    assert options.items == 5 and options.secret == "s"
    assert {f.name for f in fields(DigestSettings)} <= {f.name for f in fields(DigestOptions)}
    assert SmtpOptions(**asdict(SmtpSettings())).host is None
    assert {f.name for f in fields(SmtpSettings)} <= {f.name for f in fields(SmtpOptions)}


def test_settings_bridge(tmp_path, monkeypatch):
    from insightkb.settings_bridge import digest_options, smtp_options

    monkeypatch.setenv("INSIGHTKB_SECRET", "bridge-secret")
    monkeypatch.delenv("INSIGHTKB_SMTP_HOST", raising=False)
    settings = load_settings(None)
    settings.kb = str(tmp_path / "kb.db")
    assert digest_options(settings).secret == "bridge-secret"
    assert smtp_options(settings) is None
    settings.smtp.host = "127.0.0.1"
    assert smtp_options(settings).host == "127.0.0.1"


def test_public_names():
    for name in ("DigestOptions", "SmtpOptions", "build_digest", "write_outbox", "deliver_digest"):
        assert hasattr(digest, name)


def test_run_daily_digest_builds_writes_and_delivers(seeded, options, tmp_path):
    from kb.subscribers import add_subscriber

    add_subscriber(seeded, "ada@example.org")
    report = digest.run_daily_digest(seeded, dt.date.today(), options, None)
    assert report.sent == 1 and "1 sent" in report.summary()
    assert (tmp_path / "outbox" / f"digest-{dt.date.today()}.eml").exists()
    assert len(digest_items(seeded, report.digest_id)) == 5
    assert digest.run_daily_digest(seeded, dt.date.today(), options, None).sent == 0
