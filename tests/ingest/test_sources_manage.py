"""`insightkb sources ...` as a user runs it against a loopback server: add with one check (kind
from the content, feeds discovered from a page, titles filled, non-sources refused), re-add, edit,
pause, resume, refresh, remove and purge, list and show, OPML with folders."""
from __future__ import annotations

import json
import logging

import pytest
from click.testing import CliRunner

from tests.ingest.test_http import rss

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def quiet_server():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # its request log would mix into the output


def invoke(cli, kb_path, *args, input: str | None = None):
    return CliRunner().invoke(cli, ["--kb", str(kb_path), *args], input=input, catch_exceptions=False)


def page(*feeds: tuple[str, str, str], title: str = "A Blog") -> str:
    links = "".join(f'<link rel="alternate" type="{t}" title="{name}" href="{href}">' for href, t, name in feeds)
    return (f"<!doctype html><html><head><title>{title}</title><meta name='description' content='Notes on models.'>"
            f"{links}</head><body><article><h1>{title}</h1><p>An article that is long enough to be a page, "
            f"about training small models and what they cost.</p></article></body></html>")


def atom(title: str = "The Atom Side") -> str:
    return (f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>{title}</title>"
            "<subtitle>Everything, in Atom</subtitle><link href='http://example.org/'/><id>urn:x</id>"
            "<updated>2026-11-01T00:00:00Z</updated><entry><title>One</title><id>urn:1</id>"
            "<updated>2026-11-01T00:00:00Z</updated><content type='html'>&lt;p&gt;Body.&lt;/p&gt;</content></entry></feed>")


def test_add_detects_the_kind_from_the_content(cli, kb_path, httpserver):
    base = f"http://127.0.0.1:{httpserver.port}"
    httpserver.expect_request("/talk.vtt").respond_with_data("WEBVTT\n\n00:00.000 --> 00:02.000\nBob: Hi.\n",
                                                             content_type="application/octet-stream")
    httpserver.expect_request("/talk.json").respond_with_data(
        json.dumps({"version": "1.0.0", "segments": [{"startTime": 0, "endTime": 1, "body": "Hello there."}]}),
        content_type="application/json")
    httpserver.expect_request("/feed").respond_with_data(rss(3), content_type="text/plain")
    httpserver.expect_request("/atom").respond_with_data(atom(), content_type="application/xml")
    httpserver.expect_request("/logo").respond_with_data(PNG, content_type="image/png")
    httpserver.expect_request("/subs").respond_with_data("<?xml version='1.0'?><opml version='2.0'><body/></opml>",
                                                         content_type="text/xml")
    httpserver.expect_request("/data.json").respond_with_data('{"rows": [1, 2]}', content_type="application/json")

    r = invoke(cli, kb_path, "sources", "add", f"{base}/talk.vtt", "--allow-private")
    assert r.output.startswith(f"added source 1: transcript 'talk.vtt' (active) {base}/talk.vtt\n")
    assert "found a VTT transcript" in r.output
    r = invoke(cli, kb_path, "sources", "add", f"{base}/talk.json", "--allow-private")
    assert "source 2: transcript" in r.output and "found a JSON transcript with 1 segments" in r.output
    r = invoke(cli, kb_path, "sources", "add", f"{base}/feed", "--allow-private")
    assert r.output.splitlines()[0] == f"added source 3: rss 'T' (active) {base}/feed"
    r = invoke(cli, kb_path, "sources", "add", f"{base}/atom", "--allow-private")
    assert r.output.splitlines()[0] == f"added source 4: atom 'The Atom Side' (active) {base}/atom"

    for path, found in (("/logo", "a PNG image (image/png, 72 bytes)"),
                        ("/subs", "an OPML subscription list (use `insightkb sources import-opml`)"),
                        ("/data.json", "JSON that is neither a JSON Feed nor a transcript")):
        r = invoke(cli, kb_path, "sources", "add", f"{base}{path}", "--allow-private")
        assert r.exit_code == 1
        assert r.output == f"Error: refused {base}{path}: found {found}, not a feed, podcast, page, transcript or email\n"
    r = invoke(cli, kb_path, "sources", "add", f"{base}/talk.vtt", "--kind", "rss", "--allow-private")
    assert "already source 1" in r.output and "kind 'rss'" in r.output  # an explicit re-add edits
    r = invoke(cli, kb_path, "sources", "add", f"{base}/fresh.vtt", "--kind", "rss", "--allow-private")
    assert r.exit_code == 1 and r.output.startswith(f"Error: cannot add {base}/fresh.vtt: HTTP 500")
    assert len(r.output.splitlines()) == 1


def test_private_addresses_are_refused_at_the_check(cli, kb_path, httpserver):
    url = f"http://127.0.0.1:{httpserver.port}/feed"
    httpserver.expect_request("/feed").respond_with_data(rss(1), content_type="application/rss+xml")
    r = invoke(cli, kb_path, "sources", "add", url)
    assert r.exit_code == 1
    assert r.output == (f"Error: cannot add {url}: refused 127.0.0.1: resolves to loopback address 127.0.0.1 "
                        "(allow_private is off) (--no-check adds it without looking)\n")
    r = invoke(cli, kb_path, "sources", "add", url, "--no-check")
    assert r.output.startswith(f"added source 1: rss '{url}' (active)")


def test_a_page_that_advertises_its_feeds(cli, kb_path, httpserver):
    from kb import open_db
    from kb.sources import get_source

    base = f"http://127.0.0.1:{httpserver.port}"
    httpserver.expect_request("/blog/").respond_with_data(
        page(("feed.xml", "application/rss+xml", "Posts"), ("/atom.xml", "application/atom+xml", "Posts (Atom)")),
        content_type="text/html")
    httpserver.expect_request("/one/").respond_with_data(page(("/atom.xml", "application/atom+xml", "Only")),
                                                         content_type="text/html")
    httpserver.expect_request("/plain/").respond_with_data(page(title="Just a page"), content_type="text/html")
    httpserver.expect_request("/blog/feed.xml").respond_with_data(rss(2), content_type="application/rss+xml")
    httpserver.expect_request("/atom.xml").respond_with_data(atom(), content_type="application/atom+xml")

    r = invoke(cli, kb_path, "sources", "add", f"{base}/blog/", "--allow-private", input="")
    assert r.exit_code == 1
    assert f"Error: {base}/blog/ advertises 2 feeds: add one of them by its URL, or pass --first\n" in r.output
    r = invoke(cli, kb_path, "sources", "add", f"{base}/blog/", "--allow-private", input="2\n")
    assert f"{base}/blog/ advertises 2 feeds:" in r.output
    assert f"  1. Posts [RSS] {base}/blog/feed.xml" in r.output and f"  2. Posts (Atom) [Atom] {base}/atom.xml" in r.output
    assert f"added source 1: atom 'The Atom Side' (active) {base}/atom.xml" in r.output
    db = open_db(kb_path)
    assert get_source(db, 1).description == "Everything, in Atom"

    r = invoke(cli, kb_path, "sources", "add", f"{base}/blog/", "--allow-private", "--first")
    assert f"added source 2: rss 'T' (active) {base}/blog/feed.xml" in r.output
    assert get_source(db, 2).site_url == "http://example.org/"

    r = invoke(cli, kb_path, "sources", "add", f"{base}/one/", "--allow-private")
    assert "advertises Atom feed" in r.output and "already source 1" in r.output

    r = invoke(cli, kb_path, "sources", "add", f"{base}/plain/", "--allow-private")
    assert r.output.splitlines()[0] == f"added source 3: html 'Just a page' (active) {base}/plain/"
    assert get_source(db, 3).description == "Notes on models."
    r = invoke(cli, kb_path, "sources", "add", f"{base}/blog/", "--allow-private", "--kind", "html")
    assert f"added source 4: html 'A Blog' (active) {base}/blog/" in r.output


def test_readd_edit_pause_resume_refresh_remove_purge(cli, kb_path, httpserver):
    from kb import open_db
    from kb.sources import get_source

    url = f"http://127.0.0.1:{httpserver.port}/feed"
    httpserver.expect_request("/feed").respond_with_data(rss(3), content_type="application/rss+xml")
    invoke(cli, kb_path, "sources", "add", url, "--allow-private")

    r = invoke(cli, kb_path, "sources", "add", url)
    assert r.output == (f"already source 1: rss 'T' (active) {url}; nothing to change "
                        "(change it with `insightkb sources edit 1 ...`)\n")
    r = invoke(cli, kb_path, "sources", "add", url, "--no-allow-private", "--interval", "30m", "--tag", "labs")
    assert r.output == f"already source 1: rss 'T' (active) {url}; updated: interval 30m, allow-private off, tags labs\n"
    r = invoke(cli, kb_path, "sources", "edit", "1", "--allow-private", "--full-text", "--title", "Lab news",
               "--add-tag", "weekly")
    assert r.output == (f"source 1: rss 'Lab news' (active) {url}: title 'Lab news', allow-private on, "
                        "full-text on, tags labs, weekly\n")
    db = open_db(kb_path)
    s = get_source(db, 1)
    assert (s.title, s.interval_seconds, s.allow_private, s.full_text, s.tags) == ("Lab news", 1800, True, True,
                                                                                    ["labs", "weekly"])
    r = invoke(cli, kb_path, "sources", "edit", "1")
    assert r.exit_code == 2 and "nothing to change" in r.output

    assert invoke(cli, kb_path, "sources", "pause", "1").output.startswith("paused source 1: rss 'Lab news' (paused)")
    r = invoke(cli, kb_path, "ingest")
    assert "no sources" in r.output
    r = invoke(cli, kb_path, "sources", "refresh", "1")
    assert r.exit_code == 1 and "is paused: `insightkb sources resume 1` first" in r.output
    invoke(cli, kb_path, "sources", "resume", "1")
    db.execute("UPDATE sources SET failure_count = 2, next_attempt_at = '2999-01-01T00:00:00Z' WHERE id = 1")
    db.conn.commit()
    r = invoke(cli, kb_path, "ingest")
    assert "skipped: backing off" in r.output
    assert invoke(cli, kb_path, "sources", "edit", "1", "--no-full-text").output.endswith(": full-text off\n")
    r = invoke(cli, kb_path, "sources", "refresh", "1")  # now, ignoring the backoff
    assert r.exit_code == 0 and r.output == f"[1] {url}: 3 new, 0 unchanged, 0 duplicates\n"

    r = invoke(cli, kb_path, "sources", "list")
    lines = r.output.splitlines()
    assert lines[0].split()[:6] == ["ID", "KIND", "STATE", "EVERY", "DOCS", "SKIPPED"]
    assert lines[1].split()[:8] == ["1", "rss", "active", "30m", "3", "0", "3/3", "Lab"]
    listed = json.loads(invoke(cli, kb_path, "sources", "list", "--json").output)
    assert listed[0]["documents"] == 3 and listed[0]["last_run"]["seen"] == 3 and listed[0]["tags"] == ["labs", "weekly"]

    r = invoke(cli, kb_path, "sources", "remove", "1")
    assert "removed source 1 (Lab news); its documents stay" in r.output
    assert invoke(cli, kb_path, "sources", "list").output.startswith("no sources")
    assert db["documents"].count == 3
    r = invoke(cli, kb_path, "sources", "add", url)
    assert r.output.startswith(f"already source 1: rss 'Lab news' (active) {url}; updated: restored")

    r = invoke(cli, kb_path, "sources", "remove", "1", "--purge", input="n\n")
    assert r.exit_code == 1 and "Delete source 1 (Lab news), its 3 documents and 0 claims? [y/N]" in r.output
    assert db["documents"].count == 3
    r = invoke(cli, kb_path, "sources", "remove", "1", "--purge", "--yes")
    assert r.output == "purged source 1 (Lab news): 3 documents, 0 claims deleted\n"
    assert db["documents"].count == 0 and db["sources"].count == 0
    assert invoke(cli, kb_path, "sources", "pause", "1").output == "Error: no source 1\n"


def test_purge_deletes_claims_and_keeps_sent_digests(db, add, tmp_path):
    from kb.records import Claim, Document
    from kb.documents import save_document
    from kb.sources import SourceInUse, purge_source

    a = add("file:///a.xml")
    b = add("file:///b.xml")
    first = save_document(db, Document(source_id=a.id, guid="1", text="Small models are cheaper to run.")).document_id
    save_document(db, Document(source_id=b.id, guid="1", text="Small models are cheaper to run."))
    dup = db.execute("SELECT id, duplicate_of FROM documents WHERE source_id = ?", [b.id]).fetchone()
    assert dup[1] == first
    db.execute("INSERT INTO claims (document_id, start_char, end_char, text, extractor_version) VALUES (?, 0, 10, 'Small', 't')", [first])
    db.conn.commit()
    counts = purge_source(db, a.id)
    assert (counts.documents, counts.claims) == (1, 1)
    assert db.execute("SELECT duplicate_of FROM documents WHERE id = ?", [dup[0]]).fetchone()[0] is None
    assert db["claims"].count == 0


def test_show_lists_skipped_items_with_reasons(cli, kb_path, httpserver):
    url = f"http://127.0.0.1:{httpserver.port}/feed"
    body = ("<?xml version='1.0'?><rss version='2.0'><channel><title>Gappy</title><link>http://g.example/</link>"
            "<item><guid>a</guid><link>http://g.example/a</link></item>"
            "<item><title>Only a title</title><guid>b</guid></item>"
            "<item><title>Full</title><guid>c</guid><description>A body with words.</description></item>"
            "<item><title>Full again</title><guid>c</guid><description>Same guid.</description></item>"
            "</channel></rss>")
    httpserver.expect_request("/feed").respond_with_data(body, content_type="application/rss+xml")
    invoke(cli, kb_path, "sources", "add", url, "--allow-private")
    r = invoke(cli, kb_path, "ingest")
    assert (f"[1] {url}: 2 new, 0 unchanged, 0 duplicates, 2 skipped (1 guid repeated within the feed, "
            "1 empty (no title, no text)) (warning: 1 of 4 item(s) carry only a title; "
            "`insightkb sources edit 1 --full-text` fetches their articles)") in r.output
    r = invoke(cli, kb_path, "sources", "show", "1")
    assert "last run: 4 seen = 2 new + 0 unchanged + 0 duplicates + 2 skipped; 1 title only" in r.output
    assert "skipped items (1):\n  empty (no title, no text): (untitled) http://g.example/a" in r.output
    assert invoke(cli, kb_path, "sources", "list").output.splitlines()[1].split()[4:7] == ["2", "1", "2/4"]


def test_opml_folders_podcasts_and_refused_urls(cli, kb_path, tmp_path):
    from ingest.opml import parse_opml
    from kb import open_db
    from kb.sources import list_sources

    opml = tmp_path / "subs.opml"
    opml.write_text(
        """<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>
        <outline text="Labs"><outline text="Lab A" type="rss" xmlUrl="https://a.example/feed" htmlUrl="https://a.example/"/>
          <outline text="Research"><outline text="Deep" type="rss" xmlUrl="https://deep.example/rss" category="/Papers,Weekly"/></outline>
        </outline>
        <outline text="Listening"><outline text="Show" type="rss" xmlUrl="https://feeds.megaphone.fm/show"/>
          <outline text="Talk" type="rss" xmlUrl="https://talk.example/feed.xml"/></outline>
        <outline text="Podcasts"><outline text="Pod" type="rss" xmlUrl="https://pod.example/rss"/></outline>
        <outline text="Evil" type="rss" xmlUrl="javascript:alert(1)"/>
        <outline text="Local" type="rss" xmlUrl="file:///etc/passwd"/>
        <outline text="Lab A again" type="rss" xmlUrl="https://a.example/feed"/>
        </body></opml>""", encoding="utf-8")
    r = invoke(cli, kb_path, "sources", "import-opml", str(opml), "--allow-private")
    assert r.output.splitlines() == [  # refusals on stderr, the summary on stdout
        "refused: javascript: URL 'javascript:alert(1)' (only http and https are allowed)",
        "refused: file: URL 'file:///etc/passwd' (local files are only read when typed on the command line)",
        f"{opml}: 5 feeds, 5 added, 0 already present, 2 refused",
    ]
    db = open_db(kb_path)
    got = {s.title: (s.kind, s.tags, s.allow_private) for s in list_sources(db)}
    assert got == {
        "Lab A": ("rss", ["Labs"], True),
        "Deep": ("rss", ["Labs", "Research", "Papers", "Weekly"], True),
        "Show": ("podcast", ["Listening"], True),
        "Talk": ("rss", ["Listening"], True),
        "Pod": ("podcast", ["Podcasts"], True),
    }
    out = tmp_path / "out.opml"
    invoke(cli, kb_path, "sources", "export-opml", "-o", str(out))
    back = {s.title: (s.kind, sorted(s.tags), s.site_url) for s in parse_opml(out.read_bytes()).sources}
    assert back == {t: (k, sorted(tags), "https://a.example/" if t == "Lab A" else None)
                    for t, (k, tags, _) in got.items()}


def test_migration_moves_opml_folders_to_tags(tmp_path):
    import sqlite3

    from kb import open_db
    from kb.db import migrate
    from kb.sources import get_source

    path = tmp_path / "old.db"
    db = open_db(path)
    db.execute("DELETE FROM schema_migrations WHERE version >= 55")
    db.conn.commit()
    db.conn.close()
    raw = sqlite3.connect(path)  # roll the file back to the schema before 055, with an OPML-imported row
    cols = [r[1] for r in raw.execute("PRAGMA table_info(sources)")]
    raw.execute("DROP TABLE skipped_items")
    for col in ("site_url", "description", "tags", "full_text", "paused", "removed_at", "last_run"):
        raw.execute(f"ALTER TABLE sources DROP COLUMN {col}")
    for col in ("pro", "evaluative", "valence", "rising", "examples"):  # and what 062 added to topics
        raw.execute(f"ALTER TABLE topics DROP COLUMN {col}")
    raw.execute("INSERT INTO sources (url, kind, config) VALUES ('https://x.example/f', 'rss', ?)",
                [json.dumps({"folders": ["AI", "Labs"], "html_url": "https://x.example/"})])
    raw.commit()
    raw.close()
    assert "tags" in cols
    db = open_db(path)
    assert migrate(db) == []  # applied once on open; a second run does nothing
    s = get_source(db, 1)
    assert (s.tags, s.site_url) == (["AI", "Labs"], "https://x.example/")


def test_feed_links_of_a_page_go_through_the_url_policy(cli, kb_path, httpserver):
    base = f"http://127.0.0.1:{httpserver.port}"
    httpserver.expect_request("/evil/").respond_with_data(
        page(("file:///etc/passwd", "application/rss+xml", "Secrets"), ("javascript:alert(1)", "application/atom+xml", "X"),
             ("/good.xml", "application/rss+xml", "Good")), content_type="text/html")
    httpserver.expect_request("/only-evil/").respond_with_data(
        page(("file:///etc/passwd", "application/rss+xml", "Secrets"), title="Evil page"), content_type="text/html")
    httpserver.expect_request("/good.xml").respond_with_data(rss(1), content_type="application/rss+xml")
    r = invoke(cli, kb_path, "sources", "add", f"{base}/evil/", "--allow-private")
    assert f"advertises RSS feed {base}/good.xml" in r.output and "added source 1: rss 'T'" in r.output
    r = invoke(cli, kb_path, "sources", "add", f"{base}/only-evil/", "--allow-private")
    assert f"added source 2: html 'Evil page' (active) {base}/only-evil/" in r.output
    assert "found an HTML page (1 feed link(s) refused by the URL policy)" in r.output


def test_full_text_fetches_each_article_once(db, add, httpserver, loopback_options):
    from ingest import ingest_sources
    from tests.ingest.publisher import serve_publisher

    def feed(name: str) -> bytes:
        return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>{name}</title><link>https://pub.example/</link>"
                "<item><title>Shared story</title><guid>s</guid><link>https://pub.example/story</link></item>"
                f"<item><title>Own story</title><guid>o</guid><link>https://pub.example/{name}</link></item>"
                "</channel></rss>").encode()

    base = serve_publisher(httpserver, {"a.xml": feed("a"), "b.xml": feed("b"), "c.xml": feed("c")})
    a, b, c = (add(f"{base}/feeds/{n}.xml", allow_private=True, full_text=True) for n in "abc")
    ingest_sources(db, [a, b], loopback_options)
    asked = [req.path for req, _ in httpserver.log if req.path.startswith("/pub/")]
    assert sorted(asked) == ["/pub/pub.example/a", "/pub/pub.example/b", "/pub/pub.example/story"]
    report = ingest_sources(db, [c], loopback_options)[0]
    asked = [req.path for req, _ in httpserver.log if req.path.startswith("/pub/")]
    assert asked.count("/pub/pub.example/story") == 1 and report.duplicates == 1 and report.full_text == 1
    shared = list(db.query("SELECT source_id, duplicate_of, text FROM documents WHERE guid LIKE '%/s' ORDER BY id"))
    assert [r["duplicate_of"] is None for r in shared] == [True, False, False]  # one article, linked twice
    assert "Paragraph 3 of the article" in shared[0]["text"] and shared[1]["text"] == shared[0]["text"]
