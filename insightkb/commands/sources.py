"""`insightkb sources ...`: add (with one check), edit, pause, resume, remove, refresh, list,
show, import and export the places documents come from."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from insightkb.cli import AppContext, pass_app
from insightkb.sourcing import interval_seconds, show_interval, source_row


def parse_interval(value: str) -> int | None:
    """'90', '15m', '1h', '1d' -> seconds; 'auto' -> None (adapt to the posting rate)."""
    try:
        return interval_seconds(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None



KINDS = ["rss", "atom", "podcast", "email", "html", "text", "transcript"]
FEED_KINDS = ("rss", "atom", "podcast")


def guess_kind(url: str) -> str:
    """A sensible kind for `url` when it is not checked and --kind is not given."""
    low = url.lower()
    if low.startswith(("imap://", "imaps://")) or low.endswith((".eml", ".mbox", ".mbx")):
        return "email"
    if not low.startswith(("http://", "https://", "file://")) and Path(url).is_dir():
        return "email"
    if low.endswith((".html", ".htm")):
        return "html"
    if low.endswith((".txt", ".md")):
        return "text"
    if low.endswith((".vtt", ".srt")):
        return "transcript"
    return "rss"


def _get(app: AppContext, source_id: int):
    from kb.sources import UnknownSource, get_source

    try:
        return get_source(app.db, source_id)
    except UnknownSource as exc:
        raise click.ClickException(str(exc)) from None


def _describe(source) -> str:
    return f"source {source.id}: {source.kind} {source.name!r} ({source.state}) {source.url}"


@click.group()
def sources() -> None:
    """Manage sources: feeds, podcasts, mailboxes, pages, transcripts and files.

    \b
    Example:
        insightkb sources add https://example.com/blog/
        insightkb sources list
        insightkb sources edit 3 --full-text --tag research
    """


@sources.command(name="add")
@click.argument("url")
@click.option("--kind", type=click.Choice(KINDS),
              help="What the source is (default: read from the content; without a check, guessed from the URL).")
@click.option("--title", help="A name to show (default: the feed's or page's own title).")
@click.option("--interval", help="How often `insightkb run` fetches it: seconds, 15m, 1h, 1d, or auto "
                                 "(posting rate, 15m..24h). [default: 1h]")
@click.option("--allow-private/--no-allow-private", default=None,
              help="Allow this source's host to resolve to a private or loopback address (e.g. an intranet feed).")
@click.option("--full-text/--no-full-text", default=None,
              help="Fetch the linked article of each short item and keep its main content.")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable), e.g. a folder name.")
@click.option("--first", is_flag=True, help="When a page advertises several feeds, take the first without asking.")
@click.option("--no-check", is_flag=True, help="Store without fetching it first (offline adds).")
@pass_app
def add(app: AppContext, url: str, kind: str | None, title: str | None, interval: str | None,
        allow_private: bool | None, full_text: bool | None, tags: tuple[str, ...], first: bool, no_check: bool) -> None:
    """Add a source after fetching it once to see what it is.

    An HTML page that advertises feeds (<link rel="alternate">) adds its feed (asks which one
    when there are several, unless --first); --kind html keeps the page itself. The title,
    site URL and description come from the source. Something that is not a source (an image,
    an OPML file, JSON of another kind) is refused with what was found. Adding a URL that is
    already a source applies the options given to it (and restores a removed one).

    Local paths are stored as absolute paths. For IMAP use imaps://USER@HOST[:PORT]/FOLDER;
    the password comes from [ingest] imap_password or INSIGHTKB_IMAP_PASSWORD.

    \b
    Example:
        insightkb sources add https://example.com/blog/ --first
        insightkb sources add https://example.com/feed.xml --full-text --interval 30m
        insightkb sources add ~/Mail/newsletters.mbox
        insightkb sources add imaps://me@imap.example.com/Newsletters
        insightkb sources add https://feeds.example/pod.xml --no-check --kind podcast
    """
    from kb.records import Source
    from kb.sources import add_source, find_source

    seconds = parse_interval(interval) if interval is not None else 3600
    if "://" not in url:
        path = Path(url).expanduser()
        if not path.exists():
            raise click.ClickException(f"no such file or folder: {url}")
        url = str(path.resolve())
    changes = _flag_changes(kind, title, interval, allow_private, full_text, tags)
    existing = find_source(app.db, url)
    if existing is not None:
        _readd(app, existing, changes)
        return
    info: dict[str, Any] = {}
    if not no_check and not url.lower().startswith(("imap://", "imaps://")):
        url, kind, info = _check(app, url, kind, allow_private=bool(allow_private), first=first)
        existing = find_source(app.db, url)
        if existing is not None:  # the page's feed is already a source
            _readd(app, existing, changes)
            return
    source = Source(
        url=url,
        kind=kind or guess_kind(url),
        title=title or info.get("title"),
        site_url=info.get("site_url"),
        description=info.get("description"),
        allow_private=bool(allow_private),
        full_text=bool(full_text),
        tags=list(dict.fromkeys(tags)),
        interval_seconds=seconds or 3600,
        config={"adaptive_interval": True} if seconds is None else {},
    )
    try:
        saved = add_source(app.db, source)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"added {_describe(saved)}")
    if info.get("found"):
        click.echo(f"  found {info['found']}")
    if info.get("mostly_short") and not saved.full_text:
        click.echo(f"  most items are summaries or titles only: `insightkb sources edit {saved.id} --full-text` "
                   "fetches each article")


def _flag_changes(kind, title, interval, allow_private, full_text, tags) -> dict[str, Any]:
    """The edits the options given on the command line ask for (unset options ask for nothing)."""
    changes: dict[str, Any] = {}
    if kind is not None:
        changes["kind"] = kind
    if title is not None:
        changes["title"] = title
    if interval is not None:
        seconds = parse_interval(interval)
        changes["interval_seconds"] = seconds or 3600
        changes["adaptive"] = seconds is None
    if allow_private is not None:
        changes["allow_private"] = allow_private
    if full_text is not None:
        changes["full_text"] = full_text
    if tags:
        changes["tags"] = list(tags)
    return changes


def _apply(app: AppContext, source, changes: dict[str, Any]) -> list[str]:
    """Apply `changes` to `source`; returns what actually changed, in words."""
    from kb.sources import edit_source

    changes = dict(changes)
    config = dict(source.config)
    if "adaptive" in changes:
        adaptive = changes.pop("adaptive")
        if adaptive != bool(config.get("adaptive_interval")):
            config["adaptive_interval"] = adaptive
            if not adaptive:
                config.pop("adaptive_interval")
            changes["config"] = config
    said = []
    for key, value in list(changes.items()):
        current = getattr(source, key)
        if key == "tags":
            value = list(dict.fromkeys(value))
        if current == value:
            changes.pop(key)
        elif key == "config":
            said.append(f"interval {show_interval(changes.get('interval_seconds', source.interval_seconds), bool(config.get('adaptive_interval')))}")
        elif key == "interval_seconds":
            said.append(f"interval {show_interval(value)}")
        elif isinstance(value, bool):
            said.append(f"{key.replace('_', '-')} {'on' if value else 'off'}")
        elif key == "tags":
            said.append(f"tags {', '.join(value) or '(none)'}")
        else:
            said.append(f"{key} {value!r}")
    if changes:
        try:
            edit_source(app.db, source.id, **changes)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    return list(dict.fromkeys(said))


def _readd(app: AppContext, existing, changes: dict[str, Any]) -> None:
    from kb.sources import get_source, resume_source

    restored = existing.removed_at is not None
    if restored:
        resume_source(app.db, existing.id)
    said = _apply(app, existing, changes)
    source = get_source(app.db, existing.id)
    if restored:
        said.insert(0, "restored (it had been removed)")
    if said:
        click.echo(f"already {_describe(source)}; updated: {', '.join(said)}")
    else:
        click.echo(f"already {_describe(source)}; nothing to change "
                   f"(change it with `insightkb sources edit {source.id} ...`)")


def _check(app: AppContext, url: str, kind: str | None, *, allow_private: bool,
           first: bool) -> tuple[str, str | None, dict[str, Any]]:
    """Fetch `url` once; follow a page to its feed; refuse what is not a source. (url, kind, info)."""
    from ingest.discover import SourceRefused, check_source
    from insightkb.settings_bridge import ingest_options

    try:
        checked = check_source(url, ingest_options(app.settings), kind=kind, allow_private=allow_private,
                               choose=lambda page, feeds: _choose_feed(page, feeds, first))
    except SourceRefused as exc:
        hint = " (--no-check adds it without looking)" if str(exc).startswith("cannot add") else ""
        raise click.ClickException(f"{exc}{hint}") from None
    if checked.via is not None:
        click.echo(f"{url} advertises {checked.via.type} feed {checked.via.url}")
    info = {"title": checked.title, "site_url": checked.site_url, "description": checked.description,
            "found": checked.found, "mostly_short": checked.mostly_short}
    return checked.url, checked.kind, info


def _choose_feed(url: str, feeds, first: bool):
    if len(feeds) == 1 or first:
        return feeds[0]
    click.echo(f"{url} advertises {len(feeds)} feeds:")
    for i, feed in enumerate(feeds, 1):
        click.echo(f"  {i}. {feed.title or '(untitled)'} [{feed.type}] {feed.url}")
    try:
        number = click.prompt("Which one", type=click.IntRange(1, len(feeds)), default=1)
    except click.Abort:  # no terminal to ask (a script): say how to choose instead
        raise click.ClickException(f"{url} advertises {len(feeds)} feeds: add one of them by its URL, "
                                   "or pass --first") from None
    return feeds[number - 1]


@sources.command(name="edit")
@click.argument("source_id", type=int)
@click.option("--title")
@click.option("--kind", type=click.Choice(KINDS))
@click.option("--interval", help="Seconds, 15m, 1h, 1d, or auto.")
@click.option("--allow-private/--no-allow-private", default=None)
@click.option("--full-text/--no-full-text", default=None, help="Fetch the article of each short item.")
@click.option("--tag", "tags", multiple=True, help="Set the tags (repeatable; replaces the current ones).")
@click.option("--add-tag", "add_tags", multiple=True, help="Add a tag (repeatable).")
@click.option("--remove-tag", "remove_tags", multiple=True, help="Remove a tag (repeatable).")
@pass_app
def edit(app: AppContext, source_id: int, title, kind, interval, allow_private, full_text, tags, add_tags,
         remove_tags) -> None:
    """Change a source's title, kind, interval, allow-private, full text or tags.

    \b
    Example:
        insightkb sources edit 3 --full-text --interval 30m
        insightkb sources edit 3 --add-tag research --remove-tag misc
    """
    source = _get(app, source_id)
    changes = _flag_changes(kind, title, interval, allow_private, full_text, tags)
    if add_tags or remove_tags:
        changes["tags"] = [t for t in dict.fromkeys([*changes.get("tags", source.tags), *add_tags])
                           if t not in remove_tags]
    if not changes:
        raise click.UsageError("nothing to change: give --title, --kind, --interval, --allow-private, "
                               "--full-text or tags")
    said = _apply(app, source, changes)
    source = _get(app, source_id)
    click.echo(f"{_describe(source)}: " + (", ".join(said) if said else "already so, nothing changed"))


@sources.command(name="pause")
@click.argument("source_id", type=int)
@pass_app
def pause(app: AppContext, source_id: int) -> None:
    """Stop fetching a source (its documents stay) until `resume`.

    \b
    Example:
        insightkb sources pause 3
    """
    from kb.sources import pause_source

    _get(app, source_id)
    click.echo(f"paused {_describe(pause_source(app.db, source_id))}")


@sources.command(name="resume")
@click.argument("source_id", type=int)
@pass_app
def resume(app: AppContext, source_id: int) -> None:
    """Fetch a paused, gone (410) or removed source again, with its failures forgotten.

    \b
    Example:
        insightkb sources resume 3
    """
    from kb.sources import resume_source

    _get(app, source_id)
    click.echo(f"resumed {_describe(resume_source(app.db, source_id))}")


@sources.command(name="remove")
@click.argument("source_id", type=int)
@click.option("--purge", is_flag=True, help="Also delete its documents and their claims.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before purging.")
@pass_app
def remove(app: AppContext, source_id: int, purge: bool, yes: bool) -> None:
    """Remove a source. Its documents and claims stay unless --purge (which asks first).

    \b
    Example:
        insightkb sources remove 3
        insightkb sources remove 3 --purge --yes
    """
    from kb.sources import SourceInUse, purge_counts, purge_source, remove_source

    source = _get(app, source_id)
    if not purge:
        remove_source(app.db, source_id)
        click.echo(f"removed source {source_id} ({source.name}); its documents stay "
                   f"(`insightkb sources remove {source_id} --purge` deletes them)")
        return
    counts = purge_counts(app.db, source_id)
    if not yes:
        click.confirm(f"Delete source {source_id} ({source.name}), its {counts.documents} documents and "
                      f"{counts.claims} claims?", abort=True)
    try:
        done = purge_source(app.db, source_id)
    except SourceInUse as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"purged source {source_id} ({source.name}): {done.documents} documents, {done.claims} claims deleted")


@sources.command(name="refresh")
@click.argument("source_id", type=int)
@pass_app
def refresh(app: AppContext, source_id: int) -> None:
    """Fetch one source now, even while it backs off after failures (not when paused).

    \b
    Example:
        insightkb sources refresh 3
    """
    from dataclasses import replace

    from ingest import ingest_sources
    from insightkb.settings_bridge import ingest_options

    source = _get(app, source_id)
    if source.state in ("paused", "removed", "gone"):
        raise click.ClickException(f"source {source_id} is {source.state}: `insightkb sources resume {source_id}` first")
    options = replace(ingest_options(app.settings), respect_backoff=False)
    report = ingest_sources(app.db, [source], options)[0]
    click.echo(report.summary())
    if report.error:
        raise SystemExit(1)


@sources.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source, in a list.")
@click.option("--all", "show_all", is_flag=True, help="Also removed sources.")
@pass_app
def list_(app: AppContext, as_json: bool, show_all: bool) -> None:
    """List sources: state, documents, skipped items, the last run and any error or warning.

    LAST RUN is "new/seen" items of the last fetch ("304" when it was not modified).

    \b
    Example:
        insightkb sources list
        insightkb sources list --json
    """
    from kb.sources import document_counts, list_sources

    counts = document_counts(app.db)
    rows = [source_row(s, counts.get(s.id, {})) for s in list_sources(app.db, include_removed=show_all)]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("no sources: add one with `insightkb sources add URL`")
        return
    table = [("ID", "KIND", "STATE", "EVERY", "DOCS", "SKIPPED", "LAST RUN", "TITLE", "NOTE")]
    for r in rows:
        run = r["last_run"]
        last = "304" if run.get("not_modified") else (f"{run.get('new', 0)}/{run.get('seen', 0)}" if run else "-")
        note = ""
        if r["last_error"]:
            note = f"error: {r['last_error']}"
            if r["next_attempt_at"]:
                note += f" (next try {r['next_attempt_at']})"
        elif r["warning"]:
            note = f"warning: {r['warning']}"
        title = r["title"] if len(r["title"]) <= 40 else r["title"][:39] + "…"
        table.append((str(r["id"]), r["kind"], r["state"], r["interval"], str(r["documents"]), str(r["skipped"]),
                      last, title, note[:120]))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])


@sources.command(name="show")
@click.argument("source_id", type=int)
@pass_app
def show(app: AppContext, source_id: int) -> None:
    """Everything about one source, with the items it skipped and why.

    \b
    Example:
        insightkb sources show 3
    """
    from kb.sources import document_counts, skipped_items

    source = _get(app, source_id)
    row = source_row(source, document_counts(app.db).get(source_id, {}))
    for key in ("id", "title", "kind", "state", "url", "site_url", "interval", "full_text", "tags", "documents",
                "duplicates", "skipped", "failures", "next_attempt_at", "last_error", "warning"):
        value = row[key]
        if value in (None, [], ""):
            continue
        if isinstance(value, bool):
            value = "on" if value else "off"
        click.echo(f"{key.replace('_', ' ')}: {', '.join(value) if isinstance(value, list) else value}")
    if source.description:
        click.echo(f"description: {source.description}")
    if source.last_run:
        run = source.last_run
        click.echo(f"last run: {run.get('seen', 0)} seen = {run.get('new', 0)} new + {run.get('unchanged', 0)} unchanged"
                   f" + {run.get('duplicates', 0)} duplicates + {run.get('skipped', 0)} skipped"
                   + (f"; {run['title_only']} title only" if run.get("title_only") else ""))
        for why, n in (run.get("skip_reasons") or {}).items():
            click.echo(f"  skipped {n}: {why}")
    items = skipped_items(app.db, source_id)
    if items:
        click.echo(f"skipped items ({len(items)}):")
        for item in items[:50]:
            click.echo(f"  {item['reason']}: {item['title'] or '(untitled)'} {item['url'] or item['guid']}")


@sources.command(name="import-opml")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--allow-private", is_flag=True, help="Allow the imported sources' hosts to be private or loopback.")
@pass_app
def import_opml(app: AppContext, file: str, allow_private: bool) -> None:
    """Add every feed of an OPML file: folders become tags, podcasts are podcasts.

    Sources already present are kept as they are (their new folders are added as tags). Only
    http(s) feeds are imported: file:, local paths, javascript: and other URLs are refused, one
    line each with the reason (add a local file with `sources add PATH`).

    \b
    Example:
        insightkb sources import-opml subscriptions.opml
        insightkb sources import-opml intranet.opml --allow-private
    """
    from ingest.opml import OpmlError, parse_opml
    from kb.sources import add_source, edit_source, find_source

    try:
        found = parse_opml(Path(file).read_bytes())
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror or exc}") from None
    except OpmlError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    added = present = 0
    for source in found.sources:
        source.allow_private = allow_private
        existing = find_source(app.db, source.url)
        if existing is None:
            add_source(app.db, source)
            added += 1
        else:
            present += 1
            if set(source.tags) - set(existing.tags):
                edit_source(app.db, existing.id, tags=existing.tags + source.tags)
    for refused in found.refused:
        click.echo(f"refused: {refused.reason}", err=True)
    line = f"{file}: {len(found.sources)} feeds, {added} added, {present} already present"
    if found.refused:
        line += f", {len(found.refused)} refused"
    click.echo(line)


@sources.command(name="export-opml")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@pass_app
def export_opml(app: AppContext, output: str | None) -> None:
    """Write every source as OPML 2.0 (to stdout, or --output FILE); tags become folders.

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
