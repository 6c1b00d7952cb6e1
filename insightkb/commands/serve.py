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
    from insightkb.settings_bridge import login_policy
    from kb.serve import PortUnavailable, check_port, serve as run_datasette

    host = host or app.settings.serve.host
    port = port or app.settings.serve.port
    try:
        check_port(host, port)
    except PortUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    app.db  # create or migrate before serving
    click.echo(f"Datasette: http://{host}:{port}/  (Ctrl-C to stop)")
    run_datasette(app.kb_path, host=host, port=port, secret=app.settings.serve.secret,
                  login_policy=login_policy(app.settings))


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


@editors.command(name="log")
@click.option("-n", "--limit", type=click.IntRange(1, 10000), default=50, help="How many attempts to show.")
@pass_app
def editors_log(app: AppContext, limit: int) -> None:
    """Show the latest failed and throttled logins (when, account, client address).

    After 5 failures for one account (20 from one address) since its last good login, each
    further attempt waits 30 s, 60 s, 2 min ... (at most 15 minutes; [serve] login_* settings)
    and gets 429 meanwhile.

    \b
    Example:
        insightkb editors log -n 20
    """
    from kb.logins import recent_failures

    rows = recent_failures(app.db, limit)
    if not rows:
        click.echo("no failed logins")
    for r in rows:
        what = "throttled" if r["throttled"] else "failed"
        click.echo(f"{r['at']}\t{what}\t{r['username']!r}\t{r['client']}\t{r['user_agent'] or ''}")


@click.group()
def secret() -> None:
    """The installation secret that signs editors' sessions and unsubscribe links.

    \b
    Example:
        insightkb secret rotate
    """


@secret.command(name="rotate")
@click.option("--reset-unsubscribe", is_flag=True,
              help="Also void the unsubscribe links of every digest already sent (new per-subscriber nonces).")
@pass_app
def secret_rotate(app: AppContext, reset_unsubscribe: bool) -> None:
    """Replace the secret: every editor session and CSRF token stops working.

    Restart `insightkb serve` afterwards. Unsubscribe links in digests already sent keep
    working (each also names a per-subscriber nonce kept in the KB; the previous secret is
    accepted for unsubscribing only, for the last 3 rotations) unless --reset-unsubscribe
    gives every subscriber a new nonce: do that when the KB file itself may have leaked.

    \b
    Example:
        insightkb --kb insightkb.db secret rotate
        insightkb --kb insightkb.db secret rotate --reset-unsubscribe
    """
    from kb.secrets import SecretFromConfig, rotate_secret, secret_path
    from kb.subscribers import reset_unsubscribe_nonces

    try:
        rotate_secret(app.kb_path, app.settings.serve.secret)
    except SecretFromConfig as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"new secret in {secret_path(app.kb_path)}; editors' sessions are void once `insightkb serve` restarts")
    if reset_unsubscribe:
        count = reset_unsubscribe_nonces(app.db)
        click.echo(f"{count} subscribers got new unsubscribe links; links in digests already sent no longer work")
    else:
        click.echo("unsubscribe links in digests already sent keep working (--reset-unsubscribe voids them)")


COMMANDS = [serve, editors, secret]
