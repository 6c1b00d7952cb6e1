"""Fetching over real HTTP on loopback: conditional GET, redirects, errors, limits, charset."""
from __future__ import annotations

import gzip
import socket
import threading
import time
from dataclasses import replace

import pytest
from werkzeug import Request, Response

from ingest import ingest_sources
from kb.sources import get_source


def rss(items: int = 2, *, prefix: str = "item", encoding: str = "utf-8", extra: str = "") -> bytes:
    body = "".join(
        f"<item><title>{prefix} {i}</title><link>http://example.org/{prefix}/{i}?utm_source=x</link>"
        f"<guid>{prefix}-{i}</guid><description>&lt;p&gt;Paragraph {i} of {prefix}: {extra}&lt;/p&gt;</description></item>"
        for i in range(items)
    )
    return (f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>T</title>'
            f"<link>http://example.org/</link>{body}</channel></rss>").encode(encoding)


@pytest.fixture
def server(httpserver):
    return httpserver


def url_of(httpserver, path: str, host: str = "localhost") -> str:
    return f"http://{host}:{httpserver.port}{path}"


def run(db, source, options):
    return ingest_sources(db, [get_source(db, source.id)], options)[0]


def test_200_then_304_is_not_reparsed(db, add, server, loopback_options):
    calls = []

    def handler(request: Request) -> Response:
        calls.append(dict(request.headers))
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(rss(3), content_type="application/rss+xml",
                        headers={"ETag": '"v1"', "Last-Modified": "Mon, 23 Nov 2026 07:00:00 GMT"})

    server.expect_request("/feed.xml").respond_with_handler(handler)
    source = add(url_of(server, "/feed.xml"), allow_private=True)
    first = run(db, source, loopback_options)
    assert (first.new, first.parsed_items, first.error) == (3, 3, None)
    row = get_source(db, source.id)
    assert row.etag == '"v1"' and row.last_modified == "Mon, 23 Nov 2026 07:00:00 GMT"
    second = run(db, source, loopback_options)
    assert second.not_modified and second.parsed_items == 0 and second.new == 0
    assert second.summary().endswith("not modified (304)")
    assert calls[1]["If-None-Match"] == '"v1"' and calls[1]["If-Modified-Since"] == "Mon, 23 Nov 2026 07:00:00 GMT"
    assert db["documents"].count == 3
    assert db.execute("SELECT last_status FROM sources WHERE id = ?", [source.id]).fetchone()[0] == 304


def test_gzip_and_deflate_are_decoded(db, add, server, loopback_options):
    import zlib

    server.expect_request("/gz").respond_with_data(gzip.compress(rss(2, prefix="gz")), content_type="application/rss+xml",
                                                   headers={"Content-Encoding": "gzip"})
    server.expect_request("/deflate").respond_with_data(zlib.compress(rss(2, prefix="df")), content_type="text/xml",
                                                        headers={"Content-Encoding": "deflate"})
    a = add(url_of(server, "/gz"), allow_private=True)
    b = add(url_of(server, "/deflate"), allow_private=True)
    reports = ingest_sources(db, [a, b], loopback_options)
    assert [(r.new, r.error) for r in reports] == [(2, None), (2, None)]


def test_301_updates_the_stored_url(db, add, server, loopback_options):
    server.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/new"})
    server.expect_request("/new").respond_with_data(rss(1), content_type="application/rss+xml")
    source = add(url_of(server, "/old"), allow_private=True)
    report = run(db, source, loopback_options)
    assert report.new == 1 and report.error is None
    assert get_source(db, source.id).url == url_of(server, "/new")
    assert "moved permanently" in report.warning


def test_302_does_not_update_the_url(db, add, server, loopback_options):
    server.expect_request("/tmp").respond_with_data("", status=302, headers={"Location": "/real"})
    server.expect_request("/real").respond_with_data(rss(1), content_type="application/rss+xml")
    source = add(url_of(server, "/tmp"), allow_private=True)
    assert run(db, source, loopback_options).new == 1
    assert get_source(db, source.id).url == url_of(server, "/tmp")


def test_410_deactivates(db, add, server, loopback_options):
    server.expect_request("/gone").respond_with_data("gone", status=410)
    source = add(url_of(server, "/gone"), allow_private=True)
    report = run(db, source, loopback_options)
    assert report.error == "HTTP 410 Gone (source deactivated)"
    row = get_source(db, source.id)
    assert row.active is False and row.last_error == "HTTP 410 Gone"
    assert run(db, source, loopback_options).skipped == f"gone (`insightkb sources resume {source.id}` fetches it again)"


def test_500_backs_off_exponentially_and_recovers(db, add, server, loopback_options):
    from ingest.dates import parse_iso, utcnow

    server.expect_request("/flaky").respond_with_data("boom", status=500)
    source = add(url_of(server, "/flaky"), allow_private=True)
    options = replace(loopback_options, backoff_base=60, backoff_cap=3600)
    first = run(db, source, options)
    assert first.error == "HTTP 500 Internal Server Error"
    row = get_source(db, source.id)
    wait1 = (parse_iso(row.next_attempt_at) - utcnow()).total_seconds()
    assert row.failure_count == 1 and 50 < wait1 <= 60
    skipped = run(db, source, options)
    assert skipped.skipped.startswith("backing off until") and skipped.error is None
    assert len(server.log) == 1  # no request while backing off
    forced = run(db, source, replace(options, respect_backoff=False))
    row = get_source(db, source.id)
    wait2 = (parse_iso(row.next_attempt_at) - utcnow()).total_seconds()
    assert forced.error and row.failure_count == 2 and 110 < wait2 <= 120
    for _ in range(8):
        run(db, source, replace(options, respect_backoff=False))
    row = get_source(db, source.id)
    assert (parse_iso(row.next_attempt_at) - utcnow()).total_seconds() <= 3600  # capped
    server.clear()
    server.expect_request("/flaky").respond_with_data(rss(1), content_type="application/rss+xml")
    ok = run(db, source, replace(options, respect_backoff=False))
    row = get_source(db, source.id)
    assert ok.new == 1 and row.failure_count == 0 and row.next_attempt_at is None and row.last_error is None


def test_retry_after_is_honoured(db, add, server, loopback_options):
    from ingest.dates import parse_iso, utcnow

    server.expect_request("/busy").respond_with_data("busy", status=503, headers={"Retry-After": "7200"})
    source = add(url_of(server, "/busy"), allow_private=True)
    report = run(db, source, replace(loopback_options, backoff_base=60))
    assert report.error == "HTTP 503 Service Unavailable"
    wait = (parse_iso(get_source(db, source.id).next_attempt_at) - utcnow()).total_seconds()
    assert 7100 < wait <= 7200


@pytest.fixture
def silent_server():
    """Accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                held.append(conn)
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    sock.close()


def test_server_that_never_answers_times_out(db, add, silent_server, server, loopback_options):
    server.expect_request("/ok").respond_with_data(rss(1), content_type="application/rss+xml")
    hung = add(f"http://127.0.0.1:{silent_server}/feed", allow_private=True)
    fine = add(url_of(server, "/ok"), allow_private=True)
    options = replace(loopback_options, read_timeout=0.5)
    reports = ingest_sources(db, [hung, fine], options)
    assert reports[0].error == "read timeout after 0.5s: 127.0.0.1"
    assert reports[1].new == 1
    assert get_source(db, hung.id).failure_count == 1


def test_total_timeout_stops_a_slow_drip(db, add, server, loopback_options):
    def drip():
        yield rss(0)[:20]
        for _ in range(100):
            time.sleep(0.1)
            yield b" "

    server.expect_request("/drip").respond_with_response(Response(drip(), content_type="application/rss+xml"))
    source = add(url_of(server, "/drip"), allow_private=True)
    report = run(db, source, replace(loopback_options, read_timeout=1, total_timeout=1))
    assert report.error == "timed out after 1s in total"


def test_100_mb_body_is_cut_at_the_cap(db, add, server, loopback_options):
    sent = []

    def body():
        chunk = b"<!-- " + b"x" * (1024 * 1024 - 10) + b" -->\n"
        for _ in range(100):
            sent.append(len(chunk))
            yield chunk

    server.expect_request("/huge").respond_with_response(Response(body(), content_type="application/rss+xml"))
    source = add(url_of(server, "/huge"), allow_private=True)
    report = run(db, source, replace(loopback_options, max_bytes=2 * 1024 * 1024))
    assert report.error == "response cut at the 2097152-byte cap"
    assert sum(sent) < 50 * 1024 * 1024  # the server was not drained
    assert get_source(db, source.id).last_error == report.error


def test_declared_length_over_cap_is_refused_before_reading(db, add, server, loopback_options):
    server.expect_request("/big").respond_with_data(b"x" * 4096, content_type="application/rss+xml")
    source = add(url_of(server, "/big"), allow_private=True)
    report = run(db, source, replace(loopback_options, max_bytes=1000))
    assert report.error == "response too large: 4096 bytes declared, cap 1000"


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """~1 MB of gzip that inflates to 256 MB of zeros."""
    import zlib

    comp = zlib.compressobj(1, zlib.DEFLATED, 31)
    block = b"\0" * (1024 * 1024)
    out = [comp.compress(block) for _ in range(256)]
    out.append(comp.flush())
    return b"".join(out)


def test_gzip_bomb_stops_at_the_cap(db, add, server, loopback_options, gzip_bomb):
    assert len(gzip_bomb) < 2 * 1024 * 1024
    server.expect_request("/bomb").respond_with_data(gzip_bomb, content_type="application/rss+xml",
                                                     headers={"Content-Encoding": "gzip"})
    source = add(url_of(server, "/bomb"), allow_private=True)
    report = run(db, source, replace(loopback_options, max_bytes=5 * 1024 * 1024))
    assert report.error == "response cut at the 5242880-byte cap"


def test_loopback_refused_unless_allowed(db, add, server, loopback_options):
    server.expect_request("/feed").respond_with_data(rss(1), content_type="application/rss+xml")
    source = add(url_of(server, "/feed"))
    report = run(db, source, loopback_options)
    assert report.error == "refused localhost: resolves to loopback address 127.0.0.1 (allow_private is off)"
    assert len(server.log) == 0
    allowed_globally = run(db, source, replace(loopback_options, allow_private=True, respect_backoff=False))
    assert allowed_globally.new == 1


def test_redirect_to_127_0_0_1_is_refused(db, add, server, loopback_options):
    """The source allows its own (loopback) host; a redirect elsewhere into private space is refused."""
    target = url_of(server, "/internal", host="127.0.0.1")
    server.expect_request("/feed").respond_with_data("", status=302, headers={"Location": target})
    server.expect_request("/internal").respond_with_data(rss(1), content_type="application/rss+xml")
    source = add(url_of(server, "/feed"), allow_private=True)
    report = run(db, source, loopback_options)
    assert report.error == "refused 127.0.0.1: resolves to loopback address 127.0.0.1 (allow_private is off)"
    assert [entry[0].path for entry in server.log] == ["/feed"]


def test_too_many_redirects(db, add, server, loopback_options):
    for i in range(7):
        server.expect_request(f"/r{i}").respond_with_data("", status=302, headers={"Location": f"/r{i + 1}"})
    source = add(url_of(server, "/r0"), allow_private=True)
    assert run(db, source, loopback_options).error == "more than 5 redirects"


def test_wrong_charset_declaration(db, add, server, loopback_options):
    from kb.documents import load_document

    body = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Caf\u00e9</title>'
            "<item><title>R\u00e9sum\u00e9</title><guid>1</guid><description>Le caf\u00e9 co\u00fbte 3\u20ac.</description>"
            "</item></channel></rss>").encode("windows-1252")
    server.expect_request("/latin").respond_with_data(body, content_type="application/rss+xml; charset=utf-8")
    source = add(url_of(server, "/latin"), allow_private=True)
    report = run(db, source, loopback_options)
    assert report.new == 1 and report.error is None
    doc = load_document(db, 1)
    assert doc.title == "R\u00e9sum\u00e9" and doc.text == "Le caf\u00e9 co\u00fbte 3\u20ac."
    assert "CharacterEncoding" in get_source(db, source.id).warning


def test_not_a_feed_is_an_error(db, add, server, loopback_options):
    server.expect_request("/page").respond_with_data("<html><body><p>hello</p></body></html>", content_type="text/html")
    source = add(url_of(server, "/page"), allow_private=True)
    report = run(db, source, loopback_options)
    assert report.error.startswith("not a feed:")


def test_html_page_over_http(db, add, server, loopback_options):
    from insightkb.samples import SAMPLES_DIR
    from kb.documents import load_document

    page = (SAMPLES_DIR / "pages" / "to-train-or-not-to-train.html").read_bytes()
    server.expect_request("/summary").respond_with_data(page, content_type="text/html; charset=utf-8")
    source = add(url_of(server, "/summary"), kind="html", allow_private=True)
    report = run(db, source, loopback_options)
    assert report.new == 1
    doc = load_document(db, 1)
    assert doc.guid == "https://aissential.example/summaries/to-train-or-not-to-train"
    assert doc.metadata["original_source"] == "Tanay’s Newsletter"


def test_concurrency_limits_are_respected(db, add, server, loopback_options):
    active = {"now": 0, "max": 0}
    lock = threading.Lock()

    def handler(request: Request) -> Response:
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.05)
        with lock:
            active["now"] -= 1
        return Response(rss(1, prefix=request.path.strip("/")), content_type="application/rss+xml")

    server.expect_request("/c", method="GET").respond_with_handler(handler)
    for i in range(8):
        server.expect_request(f"/c{i}").respond_with_handler(handler)
    sources = [add(url_of(server, f"/c{i}"), allow_private=True) for i in range(8)]
    reports = ingest_sources(db, sources, replace(loopback_options, per_host=2, concurrency=8))
    assert all(r.new == 1 for r in reports)
    assert 1 <= active["max"] <= 2
