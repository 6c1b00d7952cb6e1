"""`insightkb digest [--date] [--send]`, `digest preview`, and `insightkb subscribers add/remove/list`."""
from __future__ import annotations

import datetime as dt
import json

import click

from insightkb.cli import AppContext, pass_app


def _date(value: str | None) -> dt.date:
    if not value:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not a date (YYYY-MM-DD): {value!r}", param_hint="--date") from None


@click.group(invoke_without_command=True)
@click.option("--date", "date_", metavar="YYYY-MM-DD", help="The digest's date (default: today).")
@click.option("--send", is_flag=True, help="Deliver it to every subscriber who has not had it yet.")
@click.pass_context
def digest(ctx: click.Context, date_: str | None, send: bool) -> None:
    """Build the day's digest (once), write it to the outbox and, with --send, deliver it.

    Without SMTP configured, --send writes one .eml per subscriber to outbox/deliveries/.
    Each subscriber gets each digest exactly once, however often this runs; the exit
    status is 1 when some deliveries failed for good or were left for the next run.

    \b
    Example:
        insightkb digest                      # build today's digest into outbox/
        insightkb digest --date 2026-11-24 --send
        insightkb digest preview
    """
    if ctx.invoked_subcommand is not None:
        return
    app: AppContext = ctx.find_object(AppContext)
    from digest import DeliveryAborted, DeliveryBusy, build_digest, deliver_digest, write_outbox
    from insightkb.settings_bridge import digest_options, smtp_options
    from kb.digests import digest_id_for

    day = _date(date_)
    options = digest_options(app.settings)
    try:
        options.sender_address  # noqa: B018  (a bad sender is a config error, said before any work)
        existed = digest_id_for(app.db, day.isoformat())
        digest_id = build_digest(app.db, day, options)
        paths = write_outbox(app.db, digest_id, options)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    _say_written(day, digest_id, existed, paths)
    if not send:
        return
    from insightkb.settings_bridge import loopback_warning

    warning = loopback_warning(app.settings)
    if warning:
        click.echo(warning, err=True)
    from tqdm import tqdm

    from kb.subscribers import list_subscribers

    total = sum(1 for _ in list_subscribers(app.db, active_only=True))
    with tqdm(total=total, unit="msg", desc="sending", disable=total < 50) as bar:
        try:
            report = deliver_digest(app.db, digest_id, options, smtp_options(app.settings), progress=bar.update)
        except (DeliveryAborted, DeliveryBusy) as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(report.summary())
    for error in report.errors[:20]:
        click.echo(f"  {error}", err=True)
    if report.deferred or report.failed:
        ctx.exit(1)


@digest.command()
@click.option("--date", "date_", metavar="YYYY-MM-DD", help="The date to preview (default: today).")
@pass_app
def preview(app: AppContext, date_: str | None) -> None:
    """Print the five the ranking picks for a date, with their scores, factors and reasons.

    Nothing is stored or sent.

    \b
    Example:
        insightkb digest preview --date 2026-11-24
    """
    from digest import preview_digest
    from insightkb.settings_bridge import digest_options

    try:
        click.echo(preview_digest(app.db, _date(date_), digest_options(app.settings)))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def subscribers() -> None:
    """Manage who gets the daily digest.

    \b
    Example:
        insightkb subscribers add ada@example.org --topic latency
        insightkb subscribers list
        insightkb subscribers remove ada@example.org
    """


@subscribers.command(name="add")
@click.argument("email")
@click.option("--name", help="Display name for the To: header.")
@click.option("--topic", "topics", multiple=True, help="Only (first) these topics; repeat for several.")
@pass_app
def subscribers_add(app: AppContext, email: str, name: str | None, topics: tuple[str, ...]) -> None:
    """Subscribe EMAIL (or re-subscribe it), optionally to some topics only.

    \b
    Example:
        insightkb subscribers add ada@example.org --name "Ada" --topic latency --topic inference-cost
    """
    from kb.subscribers import add_subscriber

    try:
        sub = add_subscriber(app.db, email, name=name, topics=list(topics) if topics else None)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"subscribed: {sub.email}" + (f" (topics: {', '.join(sub.topics)})" if sub.topics else ""))


@subscribers.command(name="remove")
@click.argument("email")
@click.option("--forget", is_flag=True, help="Delete the subscriber and its delivery records entirely.")
@pass_app
def subscribers_remove(app: AppContext, email: str, forget: bool) -> None:
    """Unsubscribe EMAIL (kept as inactive unless --forget).

    \b
    Example:
        insightkb subscribers remove ada@example.org
    """
    from kb.subscribers import UnknownSubscriber, remove_subscriber

    try:
        sub = remove_subscriber(app.db, email, forget=forget)
    except UnknownSubscriber as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{'forgotten' if forget else 'unsubscribed'}: {sub.email}")


@subscribers.command(name="list")
@click.option("--all", "show_all", is_flag=True, help="Include unsubscribed ones.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@pass_app
def subscribers_list(app: AppContext, show_all: bool, as_json: bool) -> None:
    """List subscribers: e-mail, state, topics, last error.

    \b
    Example:
        insightkb subscribers list --all
    """
    from kb.subscribers import list_subscribers

    for sub in list_subscribers(app.db):
        if not show_all and not sub.active:
            continue
        if as_json:
            click.echo(json.dumps({"email": sub.email, "name": sub.name, "active": sub.active,
                                   "topics": sub.topics, "last_error": sub.last_error}))
            continue
        state = "active" if sub.active else "unsubscribed"
        topics = ",".join(sub.topics) or "all topics"
        error = f"  last error: {sub.last_error}" if sub.last_error else ""
        click.echo(f"{sub.email}\t{state}\t{topics}{error}")


COMMANDS = [digest, subscribers]


def _say_written(day: dt.date, digest_id: int, existed: int | None, paths: list) -> None:
    """One honest line: built now, or already built (and which outbox files changed, if any)."""
    if existed is None:
        click.echo(f"digest for {day} built (#{digest_id}); written: {', '.join(map(str, paths)) or 'nothing'}")
    elif paths:
        click.echo(f"digest for {day} already built (#{digest_id}); outbox refreshed: {', '.join(map(str, paths))}")
    else:
        click.echo(f"digest for {day} already built (#{digest_id}); nothing changed")
