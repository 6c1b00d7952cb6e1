"""A loopback stand-in for publishers: serves feeds with their article links pointed at itself, and
an article page for every such link (our own HTML: a nav, an <article> of three paragraphs, a footer)."""
from __future__ import annotations

import random
import re
from html import escape
from pathlib import Path

from werkzeug import Request, Response

VOCABULARY = (
    "model training inference latency tokens cost budget cluster dataset evaluation benchmark agent tool "
    "release open weights license customer team research safety alignment interpretability scaling GPU "
    "memory context window retrieval search product developer platform pricing throughput quality "
    "feedback users enterprise deployment fine-tuning distillation quantization reasoning math code "
    "speech vision robotics partner launch preview update policy report paper experiment result"
).split()
CORPUS_FEEDS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "feeds"


def article_html(path: str) -> str:
    """A publisher's article page for `path`; its words name the path so each page is distinct."""
    words = escape(re.sub(r"[^A-Za-z0-9]+", " ", path).strip()) or "home"
    pick = random.Random(path)  # the same page for the same path, a different one for every other
    paragraphs = "".join(
        f"<p>Paragraph {i} of the article about {words}. "
        + " ".join(pick.choice(VOCABULARY) for _ in range(40)) + ".</p>"
        for i in range(1, 4)
    )
    return (f"<!doctype html><html><head><title>{words} | Publisher</title></head><body>"
            f"<nav><a href='/'>Home</a> <a href='/blog'>Blog</a> <a href='/careers'>Careers</a></nav>"
            f"<article><h1>{words}</h1>{paragraphs}</article>"
            f"<footer>Subscribe to our newsletter. Privacy policy. All rights reserved.</footer></body></html>")


def pointed_at(feed: bytes, base: str) -> bytes:
    """The feed with every https:// link rewritten to `base`/pub/HOST/PATH on the loopback server."""
    return feed.replace(b"https://", f"{base}/pub/".encode())


def serve_publisher(httpserver, feeds: dict[str, bytes], *, fail: set[str] = frozenset()) -> str:
    """Serve `feeds` at /feeds/NAME and article pages at /pub/...; paths in `fail` answer 503."""
    base = f"http://127.0.0.1:{httpserver.port}"
    for name, body in feeds.items():
        httpserver.expect_request(f"/feeds/{name}").respond_with_data(
            pointed_at(body, base), content_type="application/rss+xml")

    def article(request: Request) -> Response:
        if request.path in fail:
            return Response("busy", status=503)
        return Response(article_html(request.path), content_type="text/html; charset=utf-8")

    httpserver.expect_request(re.compile(r"^/pub/.*")).respond_with_handler(article)
    return base
