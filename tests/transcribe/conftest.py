"""Transcription test helpers: speech from espeak-ng, a podcast feed and its audio on loopback, the CLI."""
from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from click.testing import CliRunner

from tests.transcribe.speechgen import ESPEAK, silence_mp3, spoken_mp3

ENGLISH = (
    "Welcome back to the show. "
    "The true cost of fine tuning is not the initial training but the ongoing maintenance. "
    "Low latency is the main reason to run a smaller specialised model instead of a frontier model. "
    "Thanks for listening, see you next week."
)
GERMAN = "Guten Tag. Heute sprechen wir über das Wetter in Berlin."
SHORT = "Open models are getting better every month. We tried three of them this week."

needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng not installed (make test installs it)")


@pytest.fixture(scope="session")
def audio(tmp_path_factory) -> dict[str, Path]:
    """MP3s made once per session: english, german, silence, short."""
    if ESPEAK is None:
        pytest.skip("espeak-ng not installed (make test installs it)")
    folder = tmp_path_factory.mktemp("speech")
    return {
        "english": spoken_mp3(ENGLISH, folder / "english.mp3"),
        "german": spoken_mp3(GERMAN, folder / "german.mp3", voice="de"),
        "silence": silence_mp3(folder / "silence.mp3", 8.0),
        "short": spoken_mp3(SHORT, folder / "short.mp3"),
    }


@dataclass
class Route:
    body: bytes
    content_type: str = "audio/mpeg"
    delay: float = 0.0  # seconds before the response starts
    status: int = 200


@dataclass
class PodcastServer:
    """A loopback HTTP server: `routes[path] = Route(...)`; `hits[path]` counts requests."""

    base: str
    routes: dict[str, Route] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)

    def add(self, path: str, body: bytes, content_type: str = "audio/mpeg", **kw) -> str:
        self.routes[path] = Route(body, content_type, **kw)
        return self.base + path


@pytest.fixture
def server():
    box: dict[str, PodcastServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            srv = box["s"]
            path = self.path.split("?")[0]
            srv.hits[path] = srv.hits.get(path, 0) + 1
            route = srv.routes.get(path)
            if route is None:
                self.send_error(404)
                return
            time.sleep(route.delay)
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            try:
                self.wfile.write(route.body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    box["s"] = PodcastServer(f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield box["s"]
    httpd.shutdown()
    httpd.server_close()


def feed_xml(episodes: list[dict]) -> bytes:
    """An RSS podcast feed; each episode: title, url (enclosure), type, duration (s), notes, guid."""
    items = []
    for i, ep in enumerate(episodes):
        published = format_datetime(dt.datetime(2026, 11, 20 + i % 8, 8, 0, tzinfo=dt.timezone.utc))
        duration = f"<itunes:duration>{int(ep['duration'])}</itunes:duration>" if ep.get("duration") else ""
        items.append(
            f"<item><title>{escape(ep['title'])}</title><guid>{escape(ep.get('guid', ep['title']))}</guid>"
            f"<pubDate>{published}</pubDate><link>https://pod.example/episodes/{i}</link>"
            f"<description>{escape(ep.get('notes', 'Show notes for ' + ep['title'] + '.'))}</description>"
            f"<enclosure url={quoteattr(ep['url'])} type={quoteattr(ep.get('type', 'audio/mpeg'))} length=\"1000\"/>"
            f"{duration}</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>Test Pod</title>'
        f"<link>https://pod.example/</link><description>Spoken tests</description>{''.join(items)}</channel></rss>"
    ).encode("utf-8")


def mp3_seconds(path: Path) -> float:
    import av

    with av.open(str(path)) as container:
        return float(container.duration) / 1_000_000


@pytest.fixture
def run_cli(kb_path, tmp_path):
    """run_cli(*args, config=None) -> click Result, through the real `insightkb` command group."""
    from insightkb.cli import cli

    def _run(*args: str, config: str | None = None):
        base = ["--kb", str(kb_path)]
        if config:
            path = tmp_path / "insightkb.toml"
            path.write_text(config, encoding="utf-8")
            base += ["-c", str(path)]
        return CliRunner().invoke(cli, [*base, *args], catch_exceptions=False)

    return _run


@pytest.fixture
def podcast(server, run_cli, audio):
    """podcast(episodes) -> feed URL, added as a loopback podcast source and ingested."""

    def _make(episodes: list[dict], *, ingest: bool = True) -> str:
        url = server.add("/feed.xml", feed_xml(episodes), "application/rss+xml")
        r = run_cli("sources", "add", url, "--kind", "podcast", "--allow-private", "--title", "Test Pod")
        assert r.exit_code == 0, r.output
        if ingest:
            r = run_cli("ingest")
            assert r.exit_code == 0, r.output
        return url

    return _make
