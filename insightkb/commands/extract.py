"""`insightkb extract` and `insightkb eval`: run the extractor over the KB, score it on a gold file."""
from __future__ import annotations

import json

import click

from insightkb.cli import AppContext, pass_app


@click.command(name="extract")
@click.option("--reextract", is_flag=True,
              help="Rerun every document extracted by another extractor version (editor decisions are kept).")
@click.option("--n-process", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes for the spaCy pipeline.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True,
              help="Text pieces per spaCy batch (and per cluster task).")
@click.option("--cluster", "cluster_address", metavar="ADDRESS",
              help="Run the pipeline on the Dask cluster at ADDRESS (tcp://host:8786; default: [cluster] address).")
@pass_app
def extract_command(app: AppContext, reextract: bool, n_process: int, batch_size: int,
                    cluster_address: str | None) -> None:
    """Find claims, topics, stance, quantities and speakers in new documents.

    Incremental: only documents not yet extracted. A document that cannot be extracted
    (empty, binary, not English, ...) is marked with its reason; the rest go on.

    With --cluster (or [cluster] address) the pipeline runs on Dask workers started with
    `dask worker ADDRESS --nthreads 1`; this process stays the KB's only writer.

    \b
    Example:
        insightkb extract
        insightkb extract --reextract --n-process 2
        insightkb extract --cluster tcp://127.0.0.1:8786
    """
    from cluster import ClusterError
    from extract import extract_pending
    from insightkb.settings_bridge import open_executor

    if cluster_address is not None:
        app.settings.cluster.address = cluster_address
    try:
        executor = open_executor(app.settings)
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from None
    from tqdm.contrib.logging import logging_redirect_tqdm

    try:
        if executor is not None:
            click.echo(executor.describe())
            if n_process > 1:
                click.echo("--n-process is ignored on a cluster: start more workers instead", err=True)
        with logging_redirect_tqdm():  # warnings (a worker lost) on their own lines, above the bar
            report = extract_pending(app.db, reextract=reextract, n_process=n_process, batch_size=batch_size,
                                     progress=True, executor=executor)
    except ClusterError as exc:
        raise click.ClickException(f"{exc} (documents stored so far are kept; the rest wait for the next run)") from None
    finally:
        if executor is not None:
            executor.close()
    click.echo(report.summary())


@click.command(name="eval")
@click.argument("gold", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.option("--errors", "show_errors", is_flag=True, help="List every disagreement with the gold labels.")
@click.option("--corpus", type=click.Path(dir_okay=False),
              help="Paragraphs of the real corpus that stand-off labels point into "
                   "(default ../shared/corpus/paragraphs.jsonl, or INSIGHTKB_CORPUS).")
@click.option("--model", "model", metavar="FILE|rules-only",
              help="Score this learned model file, or the rules alone (default: the KB's model, else the shipped one).")
@pass_app
def eval_command(app: AppContext, gold: tuple[str, ...], as_json: bool, show_errors: bool, corpus: str | None,
                 model: str | None) -> None:
    """Score the extractor (with the KB's topic patterns and model) on labelled GOLD files.

    GOLD is a gold file with its text (tests/fixtures/gold/) or a stand-off label file
    (extract/labels/*.jsonl: paragraph ids and offsets; the text is read from the corpus,
    and the file is skipped with a message when the corpus is absent).
    Prints precision, recall and F1 for claim detection, topics (micro), stance
    (macro-F1 over supports/opposes/neutral, and over supports/opposes), quantities (value and
    unit, unit names normalised) and speakers.

    \b
    Example:
        insightkb eval tests/fixtures/gold/seeds.jsonl tests/fixtures/gold/extra.jsonl
        insightkb eval extract/labels/dev.jsonl --model rules-only
        insightkb eval my-gold.jsonl --errors
    """
    from extract.evaluate import GoldError, evaluate_files
    from extract.learned import ModelError

    try:
        result, skipped = evaluate_files(list(gold), db=app.db, corpus=corpus, model=model)
    except (GoldError, ModelError) as exc:
        raise click.ClickException(str(exc)) from None
    for line in skipped:
        click.echo(line, err=True)
    if not result.documents:
        if skipped:
            return
        raise click.ClickException("no labelled documents in " + ", ".join(gold))
    if as_json:
        click.echo(json.dumps({**result.as_dict(), "skipped": skipped}, indent=2))
    else:
        click.echo(result.table())
    if show_errors:
        for line in result.errors:
            click.echo(line)


COMMANDS = [extract_command, eval_command]
