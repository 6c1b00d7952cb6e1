"""Attacks 1-3 of issue 10 through the real CLI: a hostile feed on a loopback HTTP server, a local
feed, a JSON Feed and an OPML file try to make insightkb read local files or store script links."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.security.conftest import run_cli

MARKER = "TOP-SECRET-3f9c1e"
LOCAL = "/".join(["", "home", "someone", ".ssh", "id_rsa"])
PODCAST = 'xmlns:podcast="https://podcastindex.org/namespace/1.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'


@pytest.fixture
def private_file(tmp_path: Path) -> Path:
    path = tmp_path / "private" / "notes.txt"
    path.parent.mkdir()
    path.write_text(f"WEBVTT\n\n00:00.000 --> 00:02.000\n<v Leak>{MARKER} is the password.\n", encoding="utf-8")
    return path


def _documents(kb: Path) -> list[dict]:
    from kb import open_db

    db = open_db(kb)
    try:
        return [dict(r, metadata=json.loads(r["metadata"] or "{}"))
                for r in db.query("SELECT guid, url, title, text, metadata FROM documents ORDER BY id")]
    finally:
        db.conn.close()


def _everything_stored(kb: Path) -> str:
    """Every row of every table as text: nothing of a local file may appear anywhere."""
    from kb import open_db

    db = open_db(kb)
    try:
        return "\n".join(json.dumps(list(db.query(f"SELECT * FROM [{t}]")), default=str) for t in db.table_names()
                         if not t.endswith(("_fts", "_data", "_idx", "_docsize", "_config", "_content")))
    finally:
        db.conn.close()


def test_hostile_podcast_feed_over_http_reads_no_file_and_stores_no_script_link(httpserver, tmp_path, private_file):
    kb = tmp_path / "kb.db"
    secret_file = Path(str(kb) + ".secret")
    secret_file.write_text("kb-secret-" + MARKER, encoding="utf-8")
    port = httpserver.port
    httpserver.expect_request("/moved.vtt").respond_with_data(
        "", status=302, headers={"Location": private_file.as_uri()})
    feed = f"""<?xml version="1.0"?><rss version="2.0" {PODCAST}><channel><title>Evil pod</title>
<link>http://localhost:{port}/</link>
<item><title>Ep 1</title><guid isPermaLink="false">e1</guid><link>javascript:fetch('/-/curation/claims/1',{{method:'POST'}})</link>
<description>Show notes one.</description>
<enclosure url="file:///etc/passwd" type="audio/mpeg" length="1"/>
<itunes:image href="javascript:alert(1)"/>
<podcast:transcript url="{private_file.as_uri()}" type="text/vtt"/>
<podcast:transcript url="{secret_file.as_uri()}" type="text/plain"/></item>
<item><title>Ep 2</title><guid isPermaLink="false">e2</guid><link>java&#9;script:alert(2)</link><description>Show notes two.</description>
<podcast:transcript url="http://localhost:{port}/moved.vtt" type="text/vtt"/></item>
<item><title>Ep 3</title><guid isPermaLink="false">e3</guid><link>https://trusted.example@evil.example/</link>
<description>Show notes three.</description>
<podcast:transcript url="{private_file}" type="text/vtt"/></item>
<item><title>Ep 4</title><guid isPermaLink="false">e4</guid><link>https://good.example/ep4?utm_source=rss</link><description>Show notes four.</description></item>
</channel></rss>"""
    httpserver.expect_request("/pod.xml").respond_with_data(feed, content_type="application/rss+xml")

    added = run_cli(kb, "sources", "add", f"http://localhost:{port}/pod.xml", "--kind", "podcast", "--allow-private")
    assert added.returncode == 0, added.stderr
    result = run_cli(kb, "ingest")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 new" in result.stdout, result.stdout

    stored = _everything_stored(kb)
    assert MARKER not in stored
    docs = {d["guid"]: d for d in _documents(kb)}
    assert [d["text"] for d in docs.values()] == ["Show notes one.", "Show notes two.", "Show notes three.",
                                                   "Show notes four."]
    assert docs["e1"]["url"] is None and docs["e2"]["url"] is None and docs["e3"]["url"] is None
    assert docs["e4"]["url"] == "https://good.example/ep4"
    one = docs["e1"]["metadata"]
    reasons = {d["field"]: d["reason"] for d in one["dropped_links"]}
    assert reasons["url"].startswith("javascript: URL")
    assert reasons["enclosure.url"].startswith("file: URL")
    assert reasons["image"].startswith("javascript: URL")
    assert reasons["transcript"].startswith("file: URL")
    assert one["enclosure"]["url"] is None and "transcripts" not in one
    assert {d["field"]: d["reason"] for d in docs["e2"]["metadata"]["dropped_links"]}["url"].startswith(
        "whitespace or control character U+0009")
    assert "credentials" in docs["e3"]["metadata"]["dropped_links"][0]["reason"]

    listing = run_cli(kb, "sources", "list").stdout
    assert "transcript refused: file: URL" in listing
    assert "refused redirect to file: URL" in listing  # a redirect is content too
    # Ep 3's "/tmp/.../notes.txt" is a path on the feed's own server (resolved against the feed URL): asked over HTTP.
    assert any(req.path == str(private_file) for req, _ in httpserver.log)


def test_local_feed_typed_by_a_person_still_cannot_name_local_files(tmp_path, private_file):
    kb = tmp_path / "kb.db"
    feed = tmp_path / "private" / "feed.xml"
    feed.write_text(f"""<?xml version="1.0"?><rss version="2.0" {PODCAST}><channel><title>Local</title>
<item><title>Ep</title><guid isPermaLink="false">l1</guid><link>notes.txt</link><description>Local show notes.</description>
<podcast:transcript url="notes.txt" type="text/vtt"/></item></channel></rss>""", encoding="utf-8")
    assert run_cli(kb, "sources", "add", str(feed), "--kind", "podcast").returncode == 0
    result = run_cli(kb, "ingest")
    assert result.returncode == 0 and "1 new" in result.stdout, result.stdout + result.stderr
    assert MARKER not in _everything_stored(kb)
    doc = _documents(kb)[0]
    assert doc["text"] == "Local show notes." and doc["url"] is None
    assert {d["field"] for d in doc["metadata"]["dropped_links"]} >= {"url", "transcript"}


def test_json_feed_links_and_attachments_go_through_the_policy(httpserver, tmp_path):
    kb = tmp_path / "kb.db"
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "J", "home_page_url": "file:///etc/",
            "items": [
                {"id": "j1", "url": "javascript:alert(1)", "content_text": "Item one text.",
                 "attachments": [{"url": "file:///etc/shadow", "mime_type": "audio/mpeg"}]},
                {"id": "j2", "url": "passwd", "content_text": "Item two text."},
                {"id": "j3", "url": "https://ok.example/j3", "content_text": "Item three text.",
                 "attachments": [{"url": "https://ok.example/j3.mp3", "mime_type": "audio/mpeg"}]},
            ]}
    httpserver.expect_request("/feed.json").respond_with_json(feed)
    assert run_cli(kb, "sources", "add", f"http://localhost:{httpserver.port}/feed.json", "--kind", "rss",
                   "--allow-private").returncode == 0
    result = run_cli(kb, "ingest")
    assert result.returncode == 0 and "3 new" in result.stdout, result.stdout + result.stderr
    docs = {d["guid"]: d for d in _documents(kb)}
    assert docs["j1"]["url"] is None and docs["j1"]["metadata"]["enclosure"]["url"] is None
    assert docs["j2"]["url"] is None  # resolved against home_page_url file:///etc/ -> file:///etc/passwd
    assert "file: URL" in docs["j2"]["metadata"]["dropped_links"][0]["reason"]
    assert docs["j3"]["url"] == "https://ok.example/j3"
    assert docs["j3"]["metadata"]["enclosure"]["url"] == "https://ok.example/j3.mp3"


def test_opml_import_refuses_local_files_and_script_urls_one_line_each(tmp_path):
    kb = tmp_path / "kb.db"
    opml = tmp_path / "subs.opml"
    opml.write_text(f"""<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>
<outline text="shadow" type="rss" xmlUrl="file:///etc/shadow"/>
<outline text="local" type="rss" xmlUrl="{LOCAL}"/>
<outline text="script" type="rss" xmlUrl="javascript:alert(1)"/>
<outline text="tab" type="rss" xmlUrl="java&#9;script:alert(1)"/>
<outline text="relative" type="rss" xmlUrl="//evil.example/feed"/>
<outline text="page" type="html" url="data:text/html,hi"/>
<outline text="good" type="rss" xmlUrl="https://good.example/feed.xml" htmlUrl="javascript:alert(2)"/>
</body></opml>""", encoding="utf-8")
    result = run_cli(kb, "sources", "import-opml", str(opml))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{opml}: 1 feeds, 1 added, 0 already present, 6 refused\n"
    lines = result.stderr.strip().splitlines()
    reasons = [line.removeprefix("refused: ") for line in lines]
    assert [r.split(" ", 1)[0] for r in reasons] == ["file:", "local", "javascript:", "whitespace", "scheme-relative",
                                                     "data:"]
    assert reasons[1] == "local path " + repr(LOCAL) + " (local files are only read when typed on the command line)"
    assert reasons[3] == "whitespace or control character U+0009 in URL 'java\\tscript:alert(1)'"
    assert all(line.startswith("refused: ") for line in lines)
    listing = run_cli(kb, "sources", "list").stdout.strip().splitlines()
    assert len(listing) == 1 and "https://good.example/feed.xml" in listing[0]
    exported = run_cli(kb, "sources", "export-opml").stdout
    assert "javascript" not in exported  # the htmlUrl was refused too


def test_allow_private_covers_the_sources_own_host_and_port_only(httpserver, tmp_path):
    """Attack 6 (redirects): an allowed private source redirecting to another port of its host
    (say the Datasette port) or another private host is refused; its own origin is followed."""
    import http.server
    import threading

    hits: list[str] = []

    class Other(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "application/rss+xml")
            self.end_headers()
            self.wfile.write(b'<rss version="2.0"><channel><title>inner</title><item><guid>i</guid>'
                             b'<description>Internal service data.</description></item></channel></rss>')

        def log_message(self, *args):
            pass

    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Other)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    port = other.server_address[1]
    try:
        kb = tmp_path / "kb.db"
        base = f"http://localhost:{httpserver.port}"
        httpserver.expect_request("/same-host-other-port.xml").respond_with_data(
            "", status=302, headers={"Location": f"http://localhost:{port}/feed.xml"})
        httpserver.expect_request("/other-host.xml").respond_with_data(
            "", status=301, headers={"Location": f"http://127.0.0.1:{port}/feed.xml"})
        httpserver.expect_request("/same-origin.xml").respond_with_data(
            "", status=302, headers={"Location": "/real.xml"})
        httpserver.expect_request("/real.xml").respond_with_data(
            '<rss version="2.0"><channel><title>ok</title><item><guid>r</guid><description>Public item text.'
            "</description></item></channel></rss>", content_type="application/rss+xml")
        for name in ("same-host-other-port", "other-host", "same-origin"):
            assert run_cli(kb, "sources", "add", f"{base}/{name}.xml", "--allow-private").returncode == 0
        result = run_cli(kb, "ingest")
        lines = result.stdout.splitlines()
        assert result.returncode == 1
        assert any("same-host-other-port" in l and "error: refused localhost: resolves to loopback address" in l
                   for l in lines), lines
        assert any("other-host" in l and "error: refused 127.0.0.1: resolves to loopback address" in l
                   for l in lines), lines
        assert any("same-origin" in l and "1 new" in l for l in lines), lines
        assert hits == []  # the other port was never asked
        docs = _documents(kb)
        assert [d["text"] for d in docs] == ["Public item text."]
        listed = run_cli(kb, "sources", "list").stdout
        assert f"localhost:{port}" not in listed.split("error:")[0]  # no source moved to the other port
    finally:
        other.shutdown()
        other.server_close()
