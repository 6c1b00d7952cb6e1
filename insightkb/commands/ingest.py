"""`insightkb ingest`: fetch and store new documents from every (or some) source."""
from __future__ import annotations

import click

from insightkb.cli import AppContext, pass_app


@click.command(name="ingest")
@click.option("--source", "source_ids", type=int, multiple=True, help="Only this source id (repeatable).")
@click.option("--force", is_flag=True, help="Also fetch sources that are backing off after failures.")
@pass_app
def ingest(app: AppContext, source_ids: tuple[int, ...], force: bool) -> None:
    """Fetch every active source (or --source ID ...) and store new documents.

    Prints one line per source. A bad source is reported and the others are still
    ingested; the exit status is 1 when any source failed.

    \b
    Example:
        insightkb ingest
        insightkb ingest --source 3 --source 7 --force
    """
    from dataclasses import replace

    from ingest import ingest_sources
    from insightkb.settings_bridge import ingest_options
    from kb.sources import UnknownSource, get_source, list_sources

    db = app.db
    try:
        chosen = [get_source(db, i) for i in source_ids] if source_ids else list(list_sources(db, active_only=True))
    except UnknownSource as exc:
        raise click.ClickException(str(exc)) from None
    if not chosen:
        click.echo("no sources: add one with `insightkb sources add URL`")
        return
    options = ingest_options(app.settings)
    if force:
        options = replace(options, respect_backoff=False)
    reports = ingest_sources(db, chosen, options, progress=True)
    new = sum(r.new for r in reports)
    failed = [r for r in reports if r.error]
    skipped = sum(r.skipped_items for r in reports)
    tail = f", {skipped} items skipped (`insightkb sources show ID` says why)" if skipped else ""
    click.echo(f"{len(reports)} sources: {new} new documents, {len(failed)} failed{tail}")
    if failed:
        raise SystemExit(1)


COMMANDS = [ingest]
