"""Attack 6 (bad mail): 200 KB of random bytes as .eml is refused with a one-line reason, never stored."""
from __future__ import annotations

import random
import shutil
from pathlib import Path

from tests.security.conftest import run_cli

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "newsletters" / "maligned-2.eml"


def _noise(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _documents(kb: Path) -> int:
    from kb import open_db

    db = open_db(kb)
    try:
        return db["documents"].count
    finally:
        db.conn.close()


def test_random_bytes_eml_is_refused_with_one_line(tmp_path):
    kb = tmp_path / "kb.db"
    bad = tmp_path / "random.eml"
    bad.write_bytes(_noise(200_000, 1))
    assert run_cli(kb, "sources", "add", str(bad), "--kind", "email").returncode == 0
    result = run_cli(kb, "ingest")
    assert result.returncode == 1
    line = next(l for l in result.stdout.splitlines() if "random.eml" in l)
    assert "error: eml:random.eml: not an e-mail: no From, Subject, Date or Message-ID header" in line, line
    assert len(line) < 300
    assert _documents(kb) == 0
    listing = run_cli(kb, "sources", "list").stdout
    assert "error: eml:random.eml: not an e-mail" in listing


def test_headers_over_a_binary_body_are_refused_too(tmp_path):
    kb = tmp_path / "kb.db"
    bad = tmp_path / "forged.eml"
    bad.write_bytes(b"From: a@example.org\r\nSubject: hello\r\nContent-Type: text/plain\r\n\r\n" + _noise(200_000, 2))
    run_cli(kb, "sources", "add", str(bad), "--kind", "email")
    result = run_cli(kb, "ingest")
    assert result.returncode == 1 and "not an e-mail: the body is binary" in result.stdout, result.stdout
    assert _documents(kb) == 0


def test_a_folder_keeps_its_good_mail_and_says_which_was_refused(tmp_path):
    kb = tmp_path / "kb.db"
    folder = tmp_path / "mail"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / "good.eml")
    (folder / "noise.eml").write_bytes(_noise(200_000, 3))
    run_cli(kb, "sources", "add", str(folder), "--kind", "email")
    result = run_cli(kb, "ingest")
    assert result.returncode == 0 and "1 new" in result.stdout, result.stdout
    assert _documents(kb) == 1
    assert "warning: 1 message(s) refused; eml:noise.eml: not an e-mail" in run_cli(kb, "sources", "list").stdout
