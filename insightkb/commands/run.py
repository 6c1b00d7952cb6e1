"""`insightkb run`: the long-running scheduler (ingest per source, extract, daily digest)."""
from __future__ import annotations

import click

from insightkb.cli import AppContext, pass_app


@click.command(name="run")
@click.option("--no-extract", is_flag=True, help="Do not schedule claim extraction.")
@click.option("--no-digest", is_flag=True, help="Do not schedule the daily digest.")
@click.option("--no-transcribe", is_flag=True, help="Do not schedule transcription of episodes without transcripts.")
@click.option("--cluster", "cluster_address", metavar="ADDRESS",
              help="Transcribe and extract on the Dask cluster at ADDRESS (default: [cluster] address).")
@pass_app
def run(app: AppContext, no_extract: bool, no_digest: bool, no_transcribe: bool, cluster_address: str | None) -> None:
    """Keep ingesting every source on its interval, transcribe, extract claims and send the daily digest.

    Jobs are kept in KB.jobs.sqlite beside the knowledge base. The digest runs at
    [digest] send_at in [digest] timezone. Stop with Ctrl-C or SIGTERM: the running
    jobs finish and commit first.

    \b
    Example:
        insightkb --kb insightkb.db -c insightkb.toml run
    """
    import os

    from insightkb.scheduler import job_store_path, run_forever

    if cluster_address is not None:
        os.environ["INSIGHTKB_CLUSTER"] = cluster_address  # the transcribe and extract jobs read their settings afresh

    app.db  # create / migrate the KB before the jobs open it
    config_path = click.get_current_context().find_root().params.get("config_path")
    click.echo(f"scheduler running; jobs in {job_store_path(app.kb_path)} (Ctrl-C to stop)")
    run_forever(str(app.kb_path.resolve()), config_path, app.settings, with_extract=not no_extract,
                with_digest=not no_digest, with_transcribe=not no_transcribe)
    click.echo("stopped")


COMMANDS = [run]
