"""`insightkb transcribe`: podcast episodes without a published transcript, transcribed offline."""
from __future__ import annotations

from pathlib import Path

import click

from insightkb.cli import AppContext, pass_app


@click.command(name="transcribe")
@click.option("--max-minutes", type=click.FloatRange(min=0, min_open=True),
              help="Audio budget of this run, in minutes; later episodes wait for the next run.")
@click.option("--reprocess", is_flag=True, help="Also redo episodes transcribed by another model version.")
@click.option("--retry-failed", is_flag=True, help="Also retry episodes that failed (too large, not audio, ...).")
@click.option("--document", "document_ids", type=int, multiple=True, help="Only this episode (document id; repeatable).")
@click.option("--keep-audio", is_flag=True, help="Keep the downloaded audio in the audio folder (default: deleted after use).")
@click.option("--check", "check_only", is_flag=True, help="Only verify the configured model and say what it is.")
@click.option("--cluster", "cluster_address", metavar="ADDRESS",
              help="Transcribe on the Dask cluster at ADDRESS (tcp://host:8786; default: [cluster] address).")
@pass_app
def transcribe_command(app: AppContext, max_minutes: float | None, reprocess: bool, retry_failed: bool,
                       document_ids: tuple[int, ...], keep_audio: bool, check_only: bool,
                       cluster_address: str | None) -> None:
    """Transcribe episodes that have audio and no usable published transcript.

    Each episode's enclosure is fetched through the same safe fetcher as feeds (size cap
    [transcribe] max_bytes), transcribed offline with Whisper ([transcribe] model) into timed
    sentence passages, and waits for `insightkb extract`. Each episode is transcribed once; a
    killed run resumes where it stopped. Prints one line per episode; exit status 1 when any failed.

    With --cluster (or [cluster] address) each episode is a task on a Dask worker, which loads
    Whisper once, fetches the audio itself (same URL policy and size cap) and sends back the
    timed sentences; this process stays the KB's only writer. --keep-audio applies locally only.

    \b
    Example:
        insightkb transcribe --max-minutes 120
        insightkb transcribe --cluster tcp://127.0.0.1:8786
        insightkb transcribe --check
        insightkb -c insightkb.toml transcribe --reprocess    # after pointing [transcribe] model elsewhere
    """
    from dataclasses import replace

    from cluster import ClusterError
    from insightkb.audio import audio_fetcher
    from insightkb.settings_bridge import open_executor, transcribe_options, transcribe_resources
    from transcribe import ModelError, TranscribeBusy, resolve_model, transcribe_pending
    from transcribe.model import pick_device

    options = transcribe_options(app.settings)
    if keep_audio:
        options = replace(options, keep_audio=True)
    if cluster_address is not None:
        app.settings.cluster.address = cluster_address
    from insightkb.config import ConfigError

    try:
        resources = transcribe_resources(app.settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    executor = None
    try:
        if check_only:
            spec = resolve_model(options.model, options.model_sha256)
            device, compute_type = pick_device(options.device, options.compute_type)
            trust = "checksums verified" if spec.verified else "no recorded checksum (set model_sha256 to pin it)"
            click.echo(f"{spec.label}: {'English only' if spec.english_only else 'multilingual'}, version "
                       f"{spec.version}, {trust}; {spec.path}; runs {compute_type} on {device}")
            return
        executor = open_executor(app.settings)
        if executor is not None:
            click.echo(executor.describe())
        from tqdm.contrib.logging import logging_redirect_tqdm

        with logging_redirect_tqdm():  # warnings (a worker lost) on their own lines, above the bar
            report = transcribe_pending(app.db, options, audio_fetcher(app.settings), audio_dir=Path(options.audio_dir),
                                        reprocess=reprocess, retry_failed=retry_failed,
                                        document_ids=document_ids or None, max_minutes=max_minutes, progress=True,
                                        executor=executor, resources=resources)
    except (ModelError, TranscribeBusy) as exc:
        raise click.ClickException(str(exc)) from None
    except ClusterError as exc:
        raise click.ClickException(f"{exc} (episodes stored so far are kept; the rest wait for the next run)") from None
    finally:
        if executor is not None:
            executor.close()
    click.echo(report.summary())
    if report.failed:
        raise SystemExit(1)


COMMANDS = [transcribe_command]
