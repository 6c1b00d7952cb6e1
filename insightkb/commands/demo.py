"""`insightkb demo`: what `make run` calls: samples -> KB -> claims -> digest -> Datasette."""
from __future__ import annotations

import datetime as dt

import click

from insightkb.cli import AppContext, pass_app


@click.command()
@click.option("--host", default=None, help="Interface to serve Datasette on (default from config: 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to serve Datasette on (default from config: 8001).")
@click.option("--no-serve", is_flag=True, help="Build the KB and the digest, then exit.")
@pass_app
def demo(app: AppContext, host: str | None, port: int | None, no_serve: bool) -> None:
    """Ingest the bundled samples, extract claims, write today's digest, serve Datasette.

    Running it again gives the same KB: nothing is stored twice.

    \b
    Example:
        insightkb --kb insightkb.db demo
    """
    from digest import build_digest, write_outbox
    from extract import extract_pending
    from ingest import ingest_sources
    from insightkb.samples import sample_sources
    from insightkb.settings_bridge import digest_options, ingest_options
    from kb.sources import add_source

    db = app.db
    # the digest links to where this demo serves, unless [digest] base_url says otherwise
    app.settings.serve.host = host or app.settings.serve.host
    app.settings.serve.port = port or app.settings.serve.port
    sources = [add_source(db, s) for s in sample_sources()]
    for report in ingest_sources(db, sources, ingest_options(app.settings)):
        click.echo(report.summary())
    click.echo(extract_pending(db, progress=True).summary())
    from insightkb.commands.digest import _say_written
    from kb.digests import digest_id_for

    existed = digest_id_for(db, dt.date.today().isoformat())
    digest_id = build_digest(db, dt.date.today(), digest_options(app.settings))
    _say_written(dt.date.today(), digest_id, existed, write_outbox(db, digest_id, digest_options(app.settings)))
    if no_serve:
        return
    from insightkb.settings_bridge import login_policy
    from kb.serve import serve

    host = host or app.settings.serve.host
    port = port or app.settings.serve.port
    click.echo(f"Datasette: http://{host}:{port}/  (Ctrl-C to stop)")
    serve(app.kb_path, host=host, port=port, secret=app.settings.serve.secret,
          login_policy=login_policy(app.settings))


COMMANDS = [demo]
