"""Ingest benchmark: 1,000 feeds x 20 items served from loopback.

Measures the first full refresh (fetch + parse + dedupe + store) and a second refresh where every
feed answers 304, and reports items parsed per second. The baseline, measured in the same process,
is feedparser alone parsing the same 1,000 feed bodies from memory (no HTTP, no cleaning, no KB).

    python -m bench ingest [--feeds=N] [--items=N]
    python -m bench ingest --pages     # only the main-content extractor comparison
"""
from __future__ import annotations

import hashlib
import multiprocessing
import shutil
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

WORDS = ("model latency token tuning base frontier open weights data cost speed eval agent chip memory "
         "scale price moat team user product market ship quality loss").split()


def feed_body(f: int, items: int) -> bytes:
    out = []
    for j in range(items):
        seed = hashlib.sha256(f"{f}-{j}".encode()).digest() * 2
        words = " ".join(WORDS[seed[k] % len(WORDS)] for k in range(60))
        out.append(
            f"<item><title>Feed {f} item {j}</title><link>http://127.0.0.1/f{f}/{j}?utm_source=rss</link>"
            f"<guid isPermaLink=\"false\">f{f}-{j}</guid><pubDate>Mon, 0{1 + j % 9} Jun 2026 08:00:00 +0000</pubDate>"
            f"<description><![CDATA[<p>Issue {f}.{j}: {words}.</p><p>Second paragraph {f}-{j} {words[:200]}.</p>"
            f"<p class='footer'><a href='https://x.example/unsubscribe'>Unsubscribe</a></p>]]></description></item>"
        )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {f}</title>'
            f"<link>http://127.0.0.1/f{f}/</link><description>bench</description>{''.join(out)}</channel></rss>").encode()


def _serve(port_queue, feeds: int, items: int) -> None:
    bodies = {f"/f{f}.xml": feed_body(f, items) for f in range(feeds)}
    etags = {k: '"' + hashlib.md5(v).hexdigest() + '"' for k, v in bodies.items()}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802
            body = bodies.get(self.path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.headers.get("If-None-Match") == etags[self.path]:
                self.send_response(304)
                self.send_header("ETag", etags[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("ETag", etags[self.path])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 256
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_queue.put(server.server_address[1])
    server.serve_forever()


def main(argv: list[str]) -> None:
    import feedparser

    from ingest import IngestOptions, ingest_sources
    from kb import open_db
    from kb.records import Source
    from kb.sources import add_source, get_source

    if "--pages" in argv:
        print_extractor_comparison()
        return
    args = dict(a.lstrip("-").split("=", 1) for a in argv if "=" in a)
    feeds, items = int(args.get("feeds", 1000)), int(args.get("items", 20))
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_serve, args=(queue, feeds, items), daemon=True)
    proc.start()
    port = queue.get(timeout=60)
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        bodies = [feed_body(f, items) for f in range(feeds)]
        t0 = time.perf_counter()
        parsed = sum(len(feedparser.parse(b).entries) for b in bodies)
        baseline = time.perf_counter() - t0
        print(f"baseline  feedparser alone, {feeds} bodies from memory: {baseline:.2f}s, "
              f"{parsed / baseline:,.0f} items/s")

        db = open_db(workdir / "bench.db")
        sources = [add_source(db, Source(url=f"http://127.0.0.1:{port}/f{f}.xml", kind="rss")) for f in range(feeds)]
        options = IngestOptions(allow_private=True, concurrency=32, per_host=32, read_timeout=60, total_timeout=300)
        t0 = time.perf_counter()
        reports = ingest_sources(db, sources, options)
        first = time.perf_counter() - t0
        errors = [r for r in reports if r.error]
        new = sum(r.new for r in reports)
        parsed_items = sum(r.parsed_items for r in reports)
        print(f"first     {feeds} feeds x {items} items over HTTP: {first:.2f}s, {new} documents stored, "
              f"{len(errors)} errors, {parsed_items / first:,.0f} items/s "
              f"({first / baseline:.1f}x the feedparser-alone time; goal < 60 s)")
        if errors:
            print("          e.g.", errors[0].summary())
        sources = [get_source(db, s.id) for s in sources]
        t0 = time.perf_counter()
        reports = ingest_sources(db, sources, options)
        second = time.perf_counter() - t0
        not_modified = sum(r.not_modified for r in reports)
        print(f"refresh   all-304 refresh: {second:.2f}s, {not_modified}/{feeds} not modified, "
              f"{sum(r.new for r in reports)} new ({second / baseline:.2f}x baseline; goal < 10 s)")
        db.conn.close()
    finally:
        proc.terminate()
        proc.join(5)
        shutil.rmtree(workdir, ignore_errors=True)
    print_extractor_comparison()


# -- main-content extractors on the page fixtures ----------------------------------------------

PAGES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "ingest" / "pages"


def _blocks_ours(html: str):
    from ingest.html_text import parse_html
    from ingest.pages import page_blocks_semantic

    return page_blocks_semantic(parse_html(html))


def _blocks_chosen(html: str):
    from ingest.pages import page_blocks

    return page_blocks(html)


def _blocks_trafilatura(html: str):
    import trafilatura

    from ingest.html_text import html_to_blocks

    out = trafilatura.extract(html, output_format="html", include_comments=False, include_tables=True) or ""
    return html_to_blocks(out)


def _blocks_readability(html: str):
    from readability import Document

    from ingest.html_text import html_to_blocks

    return html_to_blocks(Document(html).summary(html_partial=True))


def compare_extractors(repeat: int = 20) -> dict[str, dict[str, float]]:
    """Recall of main-content sentences, leakage of furniture, section names kept, ms per page."""
    import json

    candidates = {"ours (semantic container + furniture rules)": _blocks_ours,
                  "chosen: readability + ours (ingest.pages)": _blocks_chosen,
                  "trafilatura": _blocks_trafilatura, "readability-lxml": _blocks_readability}
    pages = sorted(PAGES.glob("*.html"))
    results = {}
    for name, fn in candidates.items():
        found = must = leaked = must_not = kept = sections = 0
        try:
            t0 = time.perf_counter()
            for _ in range(repeat):
                outputs = {p: fn(p.read_text(encoding="utf-8")) for p in pages}
            elapsed = (time.perf_counter() - t0) / (repeat * len(pages))
        except ImportError as exc:
            print(f"  {name}: not installed ({exc})")
            continue
        for page in pages:
            expect = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
            blocks = outputs[page]
            text = "\n".join(b.text for b in blocks)
            names = {b.section for b in blocks if b.section}
            must += len(expect["must"])
            found += sum(s in text for s in expect["must"])
            must_not += len(expect["must_not"])
            leaked += sum(s in text for s in expect["must_not"])
            sections += len(expect["sections"])
            kept += sum(s in names for s in expect["sections"])
        results[name] = {"recall": found / must, "leakage": leaked / must_not,
                         "sections": kept / max(1, sections), "ms": elapsed * 1000}
    return results


def print_extractor_comparison() -> None:
    print(f"pages     main-content extraction on {len(list(PAGES.glob('*.html')))} page fixtures "
          "(recall of article sentences / furniture leaked / section names kept / ms per page):")
    results = compare_extractors()
    base = results.get("trafilatura", {}).get("ms")
    for name, r in results.items():
        ratio = f", {r['ms'] / base:.2f}x trafilatura's time" if base else ""
        print(f"          {name:45s} recall {r['recall']:.0%}  leaked {r['leakage']:.0%}  "
              f"sections {r['sections']:.0%}  {r['ms']:.1f} ms{ratio}")
