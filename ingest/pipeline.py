"""`ingest_sources`: fetch every source concurrently, parse, dedupe and store; one report per source.

Fetches run on an asyncio loop with a global and a per-host limit; parsing and writing happen
on the calling thread as each fetch completes, so one SQLite connection is enough. A bad source
never stops the others: its report carries a one-line error, and the source row its state.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
from pathlib import Path
from statistics import median
from urllib.parse import urljoin

import sqlite_utils
from tqdm import tqdm

from ingest.blocks import Block, assemble, squash
from ingest.emails import NotMail, iter_mail_path, message_to_document, parse_message
from ingest.feeds import FeedError, FeedItem, parse_feed
from ingest.fetch import ACCEPT_FEED, FetchError, fetch, make_client, origin
from ingest.learn import drop_boilerplate_passages, learn_boilerplate
from ingest.locate import host_of, local_path, scheme
from ingest.neardup import NearDuplicateIndex, minhash
from ingest.options import IngestOptions
from ingest.pages import page_to_document
from ingest.report import IngestReport
from ingest.state import backing_off, record_failure, record_success
from ingest.transcripts import TranscriptError, cues_to_text, parse_transcript
from kb.documents import save_document
from kb.records import Document, Source
from kb.urls import fetch_refusal

log = logging.getLogger(__name__)

FEED_KINDS = ("rss", "atom", "podcast")
TRANSCRIPT_PREFERENCE = ("json", "vtt", "srt", "html", "text")
ACCEPT_PAGE = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
MIN_INTERVAL, MAX_INTERVAL = 15 * 60, 24 * 3600


def one_line(text: str, limit: int = 300) -> str:
    """Errors go on one line, bounded."""
    return squash(text)[:limit] or "unknown error"


def ingest_sources(
    db: sqlite_utils.Database,
    sources: list[Source],
    options: IngestOptions = IngestOptions(),
    *,
    progress: bool = False,
) -> list[IngestReport]:
    """Ingest `sources` into `db`; returns one report per source, in order. Never raises for one source."""
    if not sources:
        return []
    runner = _Runner(db, options, progress)
    try:
        asyncio.get_running_loop()
        in_loop = True
    except RuntimeError:
        in_loop = False
    if not in_loop:
        return asyncio.run(runner.run(sources))
    # Called from inside an event loop (a notebook, an async server): run on a thread of our own.
    box: dict[str, list[IngestReport]] = {}
    thread = threading.Thread(target=lambda: box.setdefault("r", asyncio.run(runner.run(sources))))
    thread.start()
    thread.join()
    return box["r"]


class _Runner:
    def __init__(self, db: sqlite_utils.Database, options: IngestOptions, progress: bool) -> None:
        self.db = db
        self.options = options
        self.progress = progress
        self.neardup = NearDuplicateIndex(db, options.near_duplicate_threshold)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._global: asyncio.Semaphore | None = None
        self.client = None

    async def run(self, sources: list[Source]) -> list[IngestReport]:
        self._global = asyncio.Semaphore(max(1, self.options.concurrency))
        reports: list[IngestReport | None] = [None] * len(sources)
        bar = tqdm(total=len(sources), desc="ingest", unit="source", disable=not self.progress, leave=False)
        async with make_client(self.options) as client:
            self.client = client

            async def one(i: int, source: Source) -> None:
                reports[i] = await self._one(source)
                bar.update(1)
                if self.progress:
                    bar.write(reports[i].summary())

            await asyncio.gather(*(one(i, s) for i, s in enumerate(sources)))
        bar.close()
        return [r for r in reports if r is not None]

    @contextlib.asynccontextmanager
    async def _slot(self, host: str):
        sem = self._hosts.setdefault(host, asyncio.Semaphore(max(1, self.options.per_host)))
        assert self._global is not None
        async with self._global, sem:
            yield

    async def _one(self, source: Source) -> IngestReport:
        report = IngestReport(source.id, source.url)
        kind_of_place = scheme(source.url)
        try:
            if not source.active:
                report.skipped = "inactive (reactivate with `insightkb sources add` or by editing the row)"
                return report
            when = backing_off(source)
            if self.options.respect_backoff and when and kind_of_place != "file":
                report.skipped = f"backing off until {when:%Y-%m-%dT%H:%M:%SZ} after {source.failure_count} failure(s)"
                return report
            if kind_of_place == "file":
                docs, warning = await self._local(source, local_path(source.url), report)
                extra: dict[str, object] = {}
                status = None
                validators: dict[str, str | None] = {}
            elif kind_of_place in ("imap", "imaps"):
                from ingest.imap import fetch_imap

                docs, warning, new_config = await asyncio.to_thread(fetch_imap, source, self.options)
                report.parsed_items = len(docs)
                extra = {"config": new_config}
                status = None
                validators = {}
            elif kind_of_place in ("http", "https"):
                result = await self._fetch(source, source.url, etag=source.etag, last_modified=source.last_modified,
                                           accept=ACCEPT_FEED if source.kind in FEED_KINDS else ACCEPT_PAGE)
                report.fetched_bytes = len(result.content)
                extra = self._moved(source, result.permanent_url)
                if result.not_modified:
                    report.not_modified = True
                    record_success(self.db, source, status=304, warning=source.warning, keep_validators=True, **extra)
                    return report
                docs, warning = await self._remote(source, result, report)
                status = result.status
                validators = {"etag": result.headers.get("etag"), "last_modified": result.headers.get("last-modified")}
                if extra.get("url"):
                    moved = f"moved permanently to {extra['url']}"
                    warning = f"{moved}; {warning}" if warning else moved
                elif "moved_conflict" in extra:
                    warning = str(extra.pop("moved_conflict"))
            else:
                raise FetchError(f"cannot ingest {source.url!r}: expected an absolute path, file://, http(s):// or imap(s)://")
            self._save(source, docs, report)
            report.warning = warning
            if source.config.get("adaptive_interval"):
                extra["interval_seconds"] = adapted_interval(self.db, source)
            record_success(self.db, source, status=status, warning=warning, **validators, **extra)
        except FetchError as exc:
            report.error = one_line(str(exc))
            record_failure(
                self.db, source, report.error, self.options, status=exc.status, retry_after=exc.retry_after,
                deactivate=exc.gone, backoff=kind_of_place != "file",
            )
            if exc.gone:
                report.error += " (source deactivated)"
        except Exception as exc:  # a parser bug must not lose the other sources
            log.exception("source %s (%s) failed", source.id, source.url)
            report.error = one_line(f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(Exception):
                record_failure(self.db, source, report.error, self.options, backoff=kind_of_place != "file")
        return report

    def _moved(self, source: Source, permanent_url: str | None) -> dict[str, object]:
        """Fields to store after a permanent redirect (the new URL, unless another source has it)."""
        if not permanent_url or permanent_url == source.url:
            return {}
        taken = self.db.execute("SELECT id FROM sources WHERE url = ? AND id != ?", [permanent_url, source.id]).fetchone()
        if taken:
            return {"moved_conflict": f"moved permanently to {permanent_url}, already source {taken[0]}"}
        log.info("source %s moved permanently: %s -> %s", source.id, source.url, permanent_url)
        source.url = permanent_url
        return {"url": permanent_url}

    async def _fetch(self, source: Source, url: str, **kwargs):
        async with self._slot(host_of(url)):
            return await fetch(
                self.client, url, self.options, allow_private=self.options.allow_private,
                allow_private_origin=origin(source.url) if source.allow_private else None, **kwargs,
            )

    # -- parsing ------------------------------------------------------------------------------

    async def _local(self, source: Source, path: Path | None, report: IngestReport) -> tuple[list[Document], str | None]:
        assert path is not None
        if not path.exists():
            raise FetchError(f"file not found: {path}")
        if source.kind == "email":
            docs, refused = [], []
            try:
                for key, raw in iter_mail_path(path):
                    try:
                        docs.append(message_to_document(parse_message(raw), source, fallback_guid=key))
                    except NotMail as exc:
                        refused.append(f"{key}: {exc}")
            except PermissionError:
                raise FetchError(f"cannot read {path}: permission denied") from None
            except OSError as exc:
                raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from None
            report.parsed_items = len(docs)
            if refused and not docs:
                raise FetchError(refused[0] if len(refused) == 1 else f"{len(refused)} messages refused; {refused[0]}")
            warning = f"{len(refused)} message(s) refused; {refused[0]}" if refused else None
            return docs, warning
        if path.is_dir():
            raise FetchError(f"{path} is a folder; a {source.kind} source needs a file")
        try:
            size = path.stat().st_size
            if size > self.options.max_bytes:
                raise FetchError(f"{path} is {size} bytes, over the {self.options.max_bytes}-byte cap")
            content = path.read_bytes()
        except PermissionError:
            raise FetchError(f"cannot read {path}: permission denied") from None
        except OSError as exc:
            raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from None
        report.fetched_bytes = len(content)
        headers = {"content-type": "application/xml"} if source.kind in FEED_KINDS else {}
        return await self._parse(source, content, url=path.resolve().as_uri(), headers=headers, report=report)

    async def _remote(self, source: Source, result, report: IngestReport) -> tuple[list[Document], str | None]:
        return await self._parse(source, result.content, url=result.url, headers=result.headers, report=report)

    async def _parse(self, source: Source, content: bytes, *, url: str, headers: dict[str, str],
                     report: IngestReport) -> tuple[list[Document], str | None]:
        if source.kind in FEED_KINDS:
            try:
                feed = parse_feed(content, source, url=url, headers=headers)
            except FeedError as exc:
                raise FetchError(f"not a feed: {exc}") from None
            report.parsed_items = len(feed.items)
            warnings = [feed.warning] if feed.warning else []
            docs = []
            for item in feed.items:
                problem = await self._attach_transcript(source, item, url)
                if problem:
                    warnings.append(problem)
                docs.append(item.document)
            return docs, "; ".join(warnings)[:500] or None
        if source.kind == "html":
            report.parsed_items = 1
            return [page_to_document(content, source, url=url)], None
        if source.kind == "email":
            report.parsed_items = 1
            try:
                return [message_to_document(parse_message(content), source, fallback_guid=url)], None
            except NotMail as exc:
                raise FetchError(str(exc)) from None
        if source.kind == "text":
            report.parsed_items = 1
            return [text_document(content, source, url=url)], None
        raise FetchError(f"unknown source kind {source.kind!r}")

    async def _attach_transcript(self, source: Source, item: FeedItem, feed_url: str) -> str | None:
        """Make the episode's transcript its text (show notes move to metadata). Returns a warning."""
        if not item.transcripts:
            return None
        ranked = sorted(item.transcripts, key=lambda t: _transcript_rank(t.type, t.url))
        doc = item.document
        # Skip the fetch when the episode is already stored: a re-run costs no transcript download.
        if self.db.execute("SELECT 1 FROM documents WHERE source_id = ? AND guid = ?", [source.id, doc.guid]).fetchone():
            return None
        problems = []
        for transcript in ranked:
            target = urljoin(feed_url, transcript.url.strip())
            why = fetch_refusal(target)
            if why:
                # A document never makes us read a local file, whatever the feed's own location.
                problems.append(f"transcript refused: {why}")
                doc.metadata.setdefault("dropped_links", []).append(
                    {"field": "transcript", "url": target[:200], "reason": why})
                continue
            try:
                content, mime = await self._get(source, target)
                cues = parse_transcript(content, mime or transcript.type)
            except (FetchError, TranscriptError) as exc:
                problems.append(f"transcript {target}: {one_line(str(exc), 150)}")
                continue
            text, passages = cues_to_text(cues)
            doc.metadata["show_notes"] = doc.text
            doc.metadata["transcript_url"] = target
            doc.metadata["speakers"] = sorted({c.speaker for c in cues if c.speaker})
            doc.text, doc.passages = text, passages
            return None
        return "; ".join(problems) or None

    async def _get(self, source: Source, url: str) -> tuple[bytes, str | None]:
        """Fetch a URL named by a document: over http(s) only (`fetch` applies the URL policy)."""
        result = await self._fetch(source, url, accept="text/vtt, application/x-subrip, application/json, text/html, */*;q=0.5")
        return result.content, result.headers.get("content-type")

    # -- storing ------------------------------------------------------------------------------

    def _save(self, source: Source, docs: list[Document], report: IngestReport) -> None:
        assert source.id is not None
        fresh = []
        for doc in docs:
            doc.source_id = source.id
            known = self.db.execute(
                "SELECT 1 FROM documents WHERE source_id = ? AND guid = ?", [source.id, doc.guid]
            ).fetchone()
            if known:
                report.unchanged += 1
            elif not doc.text.strip():
                log.info("source %s: item %s has no text; skipped", source.id, doc.guid)
            else:
                fresh.append(doc)
        if not fresh:
            return
        learnt = learn_boilerplate(self.db, source.id, fresh)
        for doc in fresh:
            drop_boilerplate_passages(doc, learnt)
            mh = minhash(doc.text)
            dup_of = self._same_url_elsewhere(doc)
            if dup_of is None:
                found = self.neardup.find(doc, mh)
                if found:
                    dup_of = found[0]
                    doc.metadata["near_duplicate"] = {"of": found[0], "similarity": round(found[1], 3)}
            result = save_document(self.db, doc, duplicate_of=dup_of)
            if result.status == "new":
                report.new += 1
                with self.db.conn:
                    self.neardup.add(result.document_id, source.id, mh)
            elif result.status == "duplicate":
                report.duplicates += 1
            else:
                report.unchanged += 1

    def _same_url_elsewhere(self, doc: Document) -> int | None:
        if not doc.url:
            return None
        row = self.db.execute(
            "SELECT id FROM documents WHERE url = ? AND source_id != ? AND duplicate_of IS NULL ORDER BY id LIMIT 1",
            [doc.url, doc.source_id],
        ).fetchone()
        if row:
            doc.metadata["near_duplicate"] = {"of": row[0], "same_url": True}
        return row[0] if row else None


def _transcript_rank(mime: str | None, url: str) -> int:
    probe = f"{mime or ''} {url}".lower()
    for rank, key in enumerate(TRANSCRIPT_PREFERENCE):
        if key in probe or (key == "srt" and "subrip" in probe):
            return rank
    return len(TRANSCRIPT_PREFERENCE)


def text_document(content: bytes, source: Source, *, url: str) -> Document:
    """A plain text file: blank-line separated paragraphs; the first short line is the title."""
    text = content.decode("utf-8-sig", errors="replace")
    paragraphs = [squash(p) for p in re.split(r"\n\s*\n", text) if squash(p)]
    title = paragraphs[0] if paragraphs and len(paragraphs[0]) < 150 else None
    blocks = [Block(p, heading=(i == 0 and title is not None)) for i, p in enumerate(paragraphs)]
    body, passages = assemble(blocks)
    return Document(source_id=source.id or 0, guid=url, text=body, title=title, url=url if url.startswith("http") else None,
                    passages=passages)


def adapted_interval(db: sqlite_utils.Database, source: Source) -> int:
    """Half the median gap between the source's recent items, clamped to 15 min .. 24 h."""
    rows = [r[0] for r in db.execute(
        "SELECT published FROM documents WHERE source_id = ? AND published IS NOT NULL ORDER BY published DESC LIMIT 10",
        [source.id],
    ).fetchall()]
    from ingest.dates import parse_iso

    moments = sorted(m for m in (parse_iso(r) for r in rows) if m)
    if len(moments) < 3:
        return source.interval_seconds
    gaps = [(b - a).total_seconds() for a, b in zip(moments, moments[1:]) if b > a]
    if not gaps:
        return source.interval_seconds
    return int(min(MAX_INTERVAL, max(MIN_INTERVAL, median(gaps) / 2)))
