"""Attacks 1, 4, 5 and 6 of issue 10 against a real `insightkb serve` process, over HTTP."""
from __future__ import annotations

import http.client
import json
import os
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from itsdangerous import URLSafeSerializer

from tests.conftest import running_server
from tests.kb.kbfactory import build_kb
from tests.security.conftest import run_cli

PASSWORD = "s3cret-pass"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("INSIGHTKB_")}


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    path = tmp_path / "insightkb.db"
    build_kb(path)
    assert run_cli(path, "editors", "add", "alice", input=f"{PASSWORD}\n{PASSWORD}\n").returncode == 0
    added = run_cli(path, "subscribers", "add", "reader@example.org", env=_env())
    assert added.returncode == 0, added.stderr
    return path


@pytest.fixture
def served(kb: Path, tmp_path: Path):
    with running_server(kb, cwd=tmp_path, env=_env()) as base:
        yield base


def login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    client.get("/-/login")
    token = client.cookies["ds_csrftoken"]
    return client.post("/-/login", data={"username": username, "password": password, "csrftoken": token})


def curation_status(base: str, cookies: dict[str, str]) -> int:
    """Status of the curation queue for a browser holding exactly `cookies`."""
    with httpx.Client(base_url=base, cookies=cookies, follow_redirects=False) as fresh:
        return fresh.get("/-/curation").status_code


def _counts(kb: Path) -> tuple:
    from kb import open_db

    db = open_db(kb)
    try:
        return (db.execute("SELECT count(*), sum(status = 'rejected') FROM claims").fetchone(),
                db["curation_log"].count, db["topics"].count, db["claims"].count)
    finally:
        db.conn.close()


def test_login_is_throttled_per_account_and_per_address_and_audited(served, kb):
    with httpx.Client(base_url=served, follow_redirects=False) as client:
        statuses = [login(client, "alice", f"wrong-{i}").status_code for i in range(40)]
        assert statuses[:5] == [200] * 5  # "Invalid username or password"
        assert set(statuses[5:]) == {429}
        refused = login(client, "alice", PASSWORD)  # even the right password waits
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 30
        assert "Too many failed logins for this account; try again in" in refused.text
    with httpx.Client(base_url=served, follow_redirects=False) as client:
        # Guessing across many accounts from one address: after 20 failures (alice's 5 count too)
        # the address is throttled.
        statuses = [login(client, f"nobody{i}", "guess").status_code for i in range(24)]
        assert statuses[:15] == [200] * 15 and set(statuses[15:]) == {429}
        assert "for your address" in login(client, "alice", "wrong").text
    log = run_cli(kb, "editors", "log", "-n", "100").stdout.splitlines()
    assert sum("\tfailed\t'alice'\t127.0.0.1" in line for line in log) == 5
    assert sum("\tthrottled\t'alice'\t127.0.0.1" in line for line in log) >= 35
    assert sum("\tfailed\t'nobody" in line for line in log) == 15


def test_after_the_wait_a_good_login_works_and_clears_the_account(kb, tmp_path):
    config = tmp_path / "fast.toml"
    config.write_text("[serve]\nlogin_failures_per_account = 3\nlogin_delay = 1.0\nlogin_max_delay = 4.0\n")
    port_env = _env()
    from tests.conftest import free_port
    import subprocess
    import sys

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "insightkb", "-c", str(config), "--kb", str(kb), "serve",
                             "--port", str(port)], cwd=tmp_path, env=port_env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/-/versions.json", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.3)
        with httpx.Client(base_url=base, follow_redirects=False) as client:
            assert [login(client, "alice", "nope").status_code for _ in range(3)] == [200] * 3
            refused = login(client, "alice", PASSWORD)
            assert refused.status_code == 429
            time.sleep(int(refused.headers["retry-after"]) + 0.2)
            assert login(client, "alice", PASSWORD).status_code == 302
            # The good login starts a new count: three more failures are allowed again.
            assert [login(client, "alice", "nope").status_code for _ in range(3)] == [200] * 3
    finally:
        proc.terminate()
        proc.wait(timeout=20)


WRITE_SPELLINGS = [
    "//insightkb/claims/-/insert",
    "///insightkb/claims/-/insert",
    "/insightkb//claims/-/insert",
    "/insightkb/claims//-/insert",
    "/./insightkb/claims/-/insert",
    "/insightkb/./claims/-/insert",
    "/insightkb/claims/-/../-/insert",
    "/-/../insightkb/claims/-/insert",
    "/%69nsightkb/claims/-/insert",
    "/insightkb/claims%2F-%2Finsert",
    "/insightkb/claims/-/insert/",
    "/insightkb\\claims\\-\\insert",
    "/insightkb/claims",
    "//insightkb/claims",
    "/insightkb/claims/1/-/delete",
    "//insightkb/claims/1/-/delete",
    "/insightkb/-/create",
    "//insightkb/-/create",
    "//insightkb",
    "/insightkb/stance_over_time",
    "//-/curation/claims/1",
    "/-//curation/claims/1",
    "/%2D/curation/claims/1",
]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_no_spelling_of_a_write_path_reaches_a_write(served, kb, method):
    with httpx.Client(base_url=served, follow_redirects=False) as client:
        assert login(client, "alice", PASSWORD).status_code == 302  # even an editor's session
        cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        token = client.cookies["ds_csrftoken"]
    before = _counts(kb)
    host, port = urlsplit(served).hostname, urlsplit(served).port
    body = json.dumps({"row": {"text": "injected", "document_id": 1, "start_char": 0, "end_char": 1},
                       "action": "reject"})
    for path in WRITE_SPELLINGS:
        for headers in ({"content-type": "application/json"},
                        {"content-type": "application/json", "cookie": cookies, "x-csrftoken": token}):
            conn = http.client.HTTPConnection(host, port, timeout=10)
            conn.request(method, path, body=body, headers=headers)  # sent exactly as spelled
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            conn.close()
            assert response.status == 403, (method, path, response.status, text[:300])
    assert _counts(kb) == before


def _csv_rows(client: httpx.Client, sql: str) -> httpx.Response:
    return client.get("/insightkb.json", params={"sql": sql, "_shape": "array"})


@pytest.mark.parametrize("sql", [
    "select sum(ncell) from dbstat where name='subscribers'",
    "select count(*) from dbstat",
    "select * from sqlite_sequence",
    "select * from sqlite_stat1",
    "select count(*) from subscribers",
    "select count(*) from login_attempts",
    "select * from pragma_page_count()",
    "select * from claims where id = (select count(*) from subscribers)",
])
def test_private_counts_do_not_leak(served, sql):
    with httpx.Client(base_url=served) as client:
        response = _csv_rows(client, sql)
        assert response.status_code in (400, 403), (sql, response.status_code, response.text[:300])
        error = response.json()
        assert error["ok"] is False and error["rows"] == [] and error["error"], error
        for path in ("/insightkb/sqlite_sequence.json", "/insightkb/sqlite_stat1.json", "/insightkb/login_attempts.json",
                     "/insightkb/subscribers.json"):
            assert client.get(path).status_code in (403, 404), path


def test_the_secret_never_leaks_so_forged_cookies_fail_and_rotation_voids_sessions(kb, tmp_path, httpserver):
    secret_file = Path(str(kb) + ".secret")
    # The attack of issue 10: a feed whose transcript names the KB's secret file.
    feed = (f'<?xml version="1.0"?><rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">'
            f'<channel><title>P</title><item><title>E</title><guid isPermaLink="false">e</guid>'
            f'<description>Notes.</description><podcast:transcript url="{secret_file.as_uri()}" type="text/plain"/>'
            f'<podcast:transcript url="file:///proc/self/environ" type="text/plain"/></item></channel></rss>')
    httpserver.expect_request("/pod.xml").respond_with_data(feed, content_type="application/rss+xml")
    added = run_cli(kb, "sources", "add", f"http://localhost:{httpserver.port}/pod.xml", "--kind", "podcast",
                    "--allow-private")
    source_id = re.match(r"source (\d+):", added.stdout).group(1)
    with running_server(kb, cwd=tmp_path, env=_env()) as base:
        assert secret_file.exists()
        secret = secret_file.read_text().strip()
        ingested = run_cli(kb, "ingest", "--source", source_id)
        assert ingested.returncode == 0 and "1 new" in ingested.stdout, ingested.stdout
        with httpx.Client(base_url=base, follow_redirects=False) as client:
            public = client.get("/insightkb/documents.json", params={"_shape": "array", "_size": "max"}).text
            assert secret not in public and "Notes." in public
            candidates = set(re.findall(r"[0-9a-f]{64}", public)) | {"", "secret", "insightkb"}
            for guess in candidates:  # whatever the public data offers, no forged cookie works
                forged = URLSafeSerializer(guess, "actor").dumps({"a": {"id": "alice", "insightkb": "editor"}})
                assert curation_status(base, {"ds_actor": forged}) == 403
            assert login(client, "alice", PASSWORD).status_code == 302
            session = dict(client.cookies)
            assert curation_status(base, session) == 200
            # A cookie signed with the real secret would work: the secret is what matters.
            real = URLSafeSerializer(secret, "actor").dumps({"a": {"id": "alice"}})
            assert curation_status(base, {"ds_actor": real}) == 200
    rotated = run_cli(kb, "secret", "rotate")
    assert rotated.returncode == 0 and "keep working" in rotated.stdout, rotated.stderr
    assert secret_file.read_text().strip() != secret
    with running_server(kb, cwd=tmp_path, env=_env()) as base:
        with httpx.Client(base_url=base, follow_redirects=False) as client:
            assert curation_status(base, session) == 403  # the session is void
            assert curation_status(base, {"ds_actor": real}) == 403


def test_rotation_keeps_sent_unsubscribe_links_unless_told_otherwise(kb, tmp_path):
    from kb import open_db
    from kb.tokens import make_unsubscribe_token

    def sent_link() -> str:
        from kb.secrets import get_secret

        db = open_db(kb)
        sub_id, nonce = db.execute("SELECT id, unsubscribe_token FROM subscribers").fetchone()
        db.conn.close()
        return f"/-/unsubscribe/{make_unsubscribe_token(get_secret(kb), sub_id, nonce)}"

    first = sent_link()
    assert run_cli(kb, "secret", "rotate").returncode == 0
    second = sent_link()
    with running_server(kb, cwd=tmp_path, env=_env()) as base:
        with httpx.Client(base_url=base) as client:
            assert "Unsubscribe from the daily digest?" in client.get(first).text
            assert "Unsubscribe from the daily digest?" in client.get(second).text
    done = run_cli(kb, "secret", "rotate", "--reset-unsubscribe")
    assert done.returncode == 0 and "1 subscribers got new unsubscribe links" in done.stdout
    with running_server(kb, cwd=tmp_path, env=_env()) as base:
        with httpx.Client(base_url=base) as client:
            for old in (first, second):
                assert client.post(old, data={"List-Unsubscribe": "One-Click"}).status_code == 404
            assert client.post(sent_link(), data={"List-Unsubscribe": "One-Click"}).status_code == 200


def test_a_configured_secret_cannot_be_rotated_from_the_cli(kb, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[serve]\nsecret = 'from-config-0123456789'\n")
    result = run_cli(kb, "-c", str(config), "secret", "rotate")
    assert result.returncode == 1
    assert result.stderr.strip() == ("Error: the secret comes from the configuration ([serve] secret or "
                                     "INSIGHTKB_SECRET): change it there")
