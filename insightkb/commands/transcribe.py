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
@pass_app
def transcribe_command(app: AppContext, max_minutes: float | None, reprocess: bool, retry_failed: bool,
                       document_ids: tuple[int, ...], keep_audio: bool, check_only: bool) -> None:
    """Transcribe episodes that have audio and no usable published transcript.

    Each episode's enclosure is fetched through the same safe fetcher as feeds (size cap
    [transcribe] max_bytes), transcribed offline with Whisper ([transcribe] model) into timed
    sentence passages, and waits for `insightkb extract`. Each episode is transcribed once; a
    killed run resumes where it stopped. Prints one line per episode; exit status 1 when any failed.

    \b
    Example:
        insightkb transcribe --max-minutes 120
        insightkb transcribe --check
        insightkb -c insightkb.toml transcribe --reprocess    # after pointing [transcribe] model elsewhere
    """
    from dataclasses import replace

    from insightkb.audio import audio_fetcher
    from insightkb.settings_bridge import transcribe_options
    from transcribe import ModelError, TranscribeBusy, resolve_model, transcribe_pending
    from transcribe.model import pick_device

    options = transcribe_options(app.settings)
    if keep_audio:
        options = replace(options, keep_audio=True)
    try:
        if check_only:
            spec = resolve_model(options.model, options.model_sha256)
            device, compute_type = pick_device(options.device, options.compute_type)
            trust = "checksums verified" if spec.verified else "no recorded checksum (set model_sha256 to pin it)"
            click.echo(f"{spec.label}: {'English only' if spec.english_only else 'multilingual'}, version "
                       f"{spec.version}, {trust}; {spec.path}; runs {compute_type} on {device}")
            return
        report = transcribe_pending(app.db, options, audio_fetcher(app.settings), audio_dir=Path(options.audio_dir),
                                    reprocess=reprocess, retry_failed=retry_failed,
                                    document_ids=document_ids or None, max_minutes=max_minutes, progress=True)
    except (ModelError, TranscribeBusy) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(report.summary())
    if report.failed:
        raise SystemExit(1)


COMMANDS = [transcribe_command]
