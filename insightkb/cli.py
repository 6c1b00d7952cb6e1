"""The `insightkb` command line: each command parses options and calls one library function."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import click

from insightkb import __version__
from insightkb.config import ConfigError, Settings, load_settings


@dataclass
class AppContext:
    """What every command gets: settings and a lazily opened KB."""

    settings: Settings

    @property
    def kb_path(self) -> Path:
        return Path(self.settings.kb)

    @cached_property
    def db(self):
        from kb import open_db

        return open_db(self.kb_path)


pass_app = click.make_pass_decorator(AppContext)


@click.group(context_settings=dict(help_option_names=["-h", "--help"]))
@click.version_option(__version__, prog_name="insightkb")
@click.option("--kb", "kb_path", type=click.Path(dir_okay=False), envvar="INSIGHTKB_KB",
              help="Knowledge base SQLite file (default: insightkb.db, or `kb` in the config).")
@click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False), envvar="INSIGHTKB_CONFIG",
              help="TOML configuration file.")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, kb_path: str | None, config_path: str | None, verbose: int) -> None:
    """insightkb: newsletter and podcast insights in a SQLite knowledge base.

    \b
    Example:
        insightkb demo                 # samples -> KB -> digest -> Datasette
        insightkb --kb my.db sources add https://example.com/feed.xml
    """
    logging.basicConfig(
        level=logging.WARNING - 10 * min(verbose, 2),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if kb_path:
        settings.kb = kb_path
    ctx.obj = AppContext(settings)


@cli.command()
@pass_app
def init(app: AppContext) -> None:
    """Create the knowledge base (or migrate it to the current schema).

    \b
    Example:
        insightkb --kb insightkb.db init
    """
    from kb import SCHEMA_VERSION

    app.db  # opening migrates
    click.echo(f"{app.kb_path}: schema v{SCHEMA_VERSION}")


def _register() -> None:
    from insightkb.commands import demo, digest, extract, ingest, run, serve, sources

    for module in (sources, ingest, extract, digest, serve, run, demo):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()
