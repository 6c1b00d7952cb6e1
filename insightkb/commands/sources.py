"""`insightkb sources ...`: add, list, import and export the places documents come from."""
from __future__ import annotations

import re
from pathlib import Path

import click

from insightkb.cli import AppContext, pass_app

_INTERVAL = re.compile(r"^(\d+)\s*([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(value: str) -> int | None:
    """'90', '15m', '1h', '1d' -> seconds; 'auto' -> None (adapt to the posting rate)."""
    value = value.strip().lower()
    if value == "auto":
        return None
    m = _INTERVAL.match(value)
    if not m:
        raise click.BadParameter(f"{value!r}: use seconds or 15m / 1h / 1d, or auto")
    seconds = int(m.group(1)) * _UNITS[m.group(2)]
    if not 60 <= seconds <= 7 * 86400:
        raise click.BadParameter(f"{value!r}: the interval must be between 1 minute and 7 days")
    return seconds


def guess_kind(url: str) -> str:
    """A sensible kind for `url` when --kind is not given."""
    low = url.lower()
    if low.startswith(("imap://", "imaps://")) or low.endswith((".eml", ".mbox", ".mbx")):
        return "email"
    if not low.startswith(("http://", "https://", "file://")) and Path(url).is_dir():
        return "email"
    if low.endswith((".html", ".htm")):
        return "html"
    if low.endswith((".txt", ".md")):
        return "text"
    return "rss"


@click.group()
def sources() -> None:
    """Manage sources: feeds, podcasts, mailboxes, pages and files.

    \b
    Example:
        insightkb sources add https://example.com/feed.xml --kind rss
        insightkb sources list
    """


@sources.command(name="add")
@click.argument("url")
@click.option("--kind", type=click.Choice(["rss", "atom", "podcast", "email", "html", "text"]),
              help="What the source is (default: guessed from the URL; feeds are rss).")
@click.option("--title", help="A name to show for the source.")
@click.option("--interval", default="1h", show_default=True,
              help="How often `insightkb run` fetches it: seconds, 15m, 1h, 1d, or auto (posting rate, 15m..24h).")
@click.option("--allow-private", is_flag=True,
              help="Allow this source's host to resolve to a private or loopback address (e.g. an intranet feed).")
@pass_app
def add(app: AppContext, url: str, kind: str | None, title: str | None, interval: str, allow_private: bool) -> None:
    """Add a source (an http(s) URL, imap(s):// mailbox, or a local file or folder).

    Local paths are stored as absolute paths. For IMAP use
    imaps://USER@HOST[:PORT]/FOLDER; the password comes from [ingest] imap_password
    or INSIGHTKB_IMAP_PASSWORD.

    \b
    Example:
        insightkb sources add https://example.com/feed.xml --kind rss --interval 30m
        insightkb sources add ~/Mail/newsletters.mbox --kind email
        insightkb sources add imaps://me@imap.example.com/Newsletters
    """
    from kb.records import Source
    from kb.sources import add_source

    seconds = parse_interval(interval)
    if "://" not in url:
        path = Path(url).expanduser()
        if not path.exists():
            raise click.ClickException(f"no such file or folder: {url}")
        url = str(path.resolve())
    source = Source(
        url=url,
        kind=kind or guess_kind(url),
        title=title,
        allow_private=allow_private,
        interval_seconds=seconds or 3600,
        config={"adaptive_interval": True} if seconds is None else {},
    )
    try:
        saved = add_source(app.db, source)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"source {saved.id}: {saved.kind} {saved.url}")


@sources.command(name="list")
@pass_app
def list_(app: AppContext) -> None:
    """List sources with their state (failures, next attempt, last error or warning).

    \b
    Example:
        insightkb sources list
    """
    from kb.sources import list_sources

    for s in list_sources(app.db):
        state = "active" if s.active else "inactive"
        line = f"{s.id}\t{s.kind}\t{state}\t{s.interval_seconds}s\t{s.url}"
        if s.title:
            line += f"\t{s.title}"
        if s.failure_count:
            line += f"\tfailures={s.failure_count} next={s.next_attempt_at or '-'}"
        if s.last_error:
            line += f"\terror: {s.last_error}"
        elif s.warning:
            line += f"\twarning: {s.warning}"
        click.echo(line)


@sources.command(name="import-opml")
@click.argument("file", type=click.Path(dir_okay=False))
@pass_app
def import_opml(app: AppContext, file: str) -> None:
    """Add every feed of an OPML file (sources already present are kept as they are).

    Only http(s) feeds are imported: file:, local paths, javascript: and other URLs are
    refused, one line each with the reason (add a local file with `sources add PATH`).

    \b
    Example:
        insightkb sources import-opml subscriptions.opml
    """
    from ingest.opml import OpmlError, Refused, parse_opml
    from kb.sources import add_source

    refused: list[Refused] = []
    try:
        found = parse_opml(Path(file).read_bytes(), refused)
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror or exc}") from None
    except OpmlError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    before = app.db["sources"].count
    for source in found:
        add_source(app.db, source)
    added = app.db["sources"].count - before
    for r in refused:
        click.echo(f"refused: {r.reason}", err=True)
    tail = f", {len(refused)} refused" if refused else ""
    click.echo(f"{file}: {len(found)} feeds, {added} added, {len(found) - added} already present{tail}")


@sources.command(name="export-opml")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@pass_app
def export_opml(app: AppContext, output: str | None) -> None:
    """Write every source as OPML 2.0 (to stdout, or --output FILE).

    \b
    Example:
        insightkb sources export-opml -o subscriptions.opml
    """
    from ingest.opml import export_opml as render
    from kb.sources import list_sources

    text = render(list(list_sources(app.db)))
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


COMMANDS = [sources]
