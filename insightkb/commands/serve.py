"""`insightkb serve` and `insightkb editors ...`: Datasette for researchers and editors."""
from __future__ import annotations

import click

from insightkb.cli import AppContext, pass_app


@click.command()
@click.option("--host", default=None, help="Interface to listen on (default from config: 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port to listen on (default from config: 8001).")
@pass_app
def serve(app: AppContext, host: str | None, port: int | None) -> None:
    """Serve the knowledge base with Datasette: researchers read, editors curate.

    Editors log in at /-/login (see `insightkb editors add`) and review claims at /-/curation.

    \b
    Example:
        insightkb --kb insightkb.db serve --port 8001
    """
    from kb.serve import PortUnavailable, check_port, serve as run_datasette

    host = host or app.settings.serve.host
    port = port or app.settings.serve.port
    try:
        check_port(host, port)
    except PortUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    app.db  # create or migrate before serving
    click.echo(f"Datasette: http://{host}:{port}/  (Ctrl-C to stop)")
    run_datasette(app.kb_path, host=host, port=port)


@click.group()
def editors() -> None:
    """Manage the editors who may curate claims in Datasette.

    \b
    Example:
        insightkb editors add alice
        insightkb editors list
    """


@editors.command(name="add")
@click.argument("name")
@click.password_option("--password", prompt="Password", confirmation_prompt=True,
                       help="The editor's password (prompted for, hidden, when not given).")
@pass_app
def editors_add(app: AppContext, name: str, password: str) -> None:
    """Add editor NAME, or reset their password. Only a PBKDF2 hash is stored.

    \b
    Example:
        insightkb --kb insightkb.db editors add alice
    """
    from kb.editors import BadEditor, set_editor

    try:
        created = set_editor(app.db, name, password)
    except BadEditor as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"editor {name} {'added' if created else 'password changed'}; log in at /-/login")


@editors.command(name="list")
@pass_app
def editors_list(app: AppContext) -> None:
    """List the editors (names and dates, never passwords).

    \b
    Example:
        insightkb editors list
    """
    from kb.editors import list_editors

    rows = list_editors(app.db)
    if not rows:
        click.echo("no editors yet: insightkb editors add NAME")
    for r in rows:
        state = "active" if r["active"] else "disabled"
        click.echo(f"{r['name']}\t{state}\tadded {r['created_at']}")


@editors.command(name="remove")
@click.argument("name")
@pass_app
def editors_remove(app: AppContext, name: str) -> None:
    """Disable editor NAME: they can no longer log in, and their open sessions stop working.

    \b
    Example:
        insightkb editors remove alice
    """
    from kb.editors import deactivate_editor

    if not deactivate_editor(app.db, name):
        raise click.ClickException(f"no editor {name!r}")
    click.echo(f"editor {name} disabled")


COMMANDS = [serve, editors]
