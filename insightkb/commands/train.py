"""`insightkb train`: fit the learned heads on the labels and the KB's editor decisions, promote when not worse."""
from __future__ import annotations

import json
from pathlib import Path

import click

from insightkb.cli import AppContext, pass_app


def _splits(value: str) -> tuple[str, ...]:
    names = tuple(s.strip() for s in value.split(",") if s.strip())
    bad = [s for s in names if s not in ("train", "dev", "test")]
    if bad:
        raise click.BadParameter(f"unknown split {bad[0]!r}: use dev, test (comma-separated)")
    return names


@click.command(name="train")
@click.option("--splits", default="dev,test", show_default=True,
              help="Labelled splits to score old and new on (comma-separated).")
@click.option("--labels", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of stand-off label files train/dev/test.jsonl (default: extract/labels).")
@click.option("--train-file", "train_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Labelled file(s) to train on instead of LABELS/train.jsonl (gold or stand-off).")
@click.option("--also", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="More labelled files to train on at --also-weight (e.g. the seed-style gold files).")
@click.option("--also-weight", type=click.FloatRange(min=0), default=0.3, show_default=True,
              help="Weight of one unit of an --also file against one train label.")
@click.option("--corpus", type=click.Path(dir_okay=False, path_type=Path),
              help="Paragraphs the stand-off labels point into (default ../shared/corpus/paragraphs.jsonl).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where a promoted model goes (default: beside the KB, KB.model.npz).")
@click.option("--force", is_flag=True, help="Promote even when the new model scores worse.")
@click.option("--curve", is_flag=True, help="Only a learning curve: scores at 25/50/100% of the train labels.")
@click.option("--keep-heads", is_flag=True,
              help="Keep the current model's heads; fit only its document shift (topic priors on the train "
                   "labels, shift strength and topic threshold on the dev split).")
@click.option("--editor-weight", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Weight of one editor decision against one labelled unit.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
def train_command(app: AppContext, splits: str, labels: Path | None, train_files: tuple[Path, ...],
                  also: tuple[Path, ...], also_weight: float, corpus: Path | None, output: Path | None, force: bool, curve: bool, editor_weight: float,
                  keep_heads: bool, as_json: bool) -> None:
    """Fit the learned claim, topic and stance heads on the labelled corpus plus every editor
    decision in the KB, score the current and the new model on the held-out splits, and
    promote the new one only when it is not worse on claims, topics and stance (worse: lower
    in at least 95% of paired bootstrap resamples of a split's documents; the report shows each
    difference with its 90% interval).

    The promoted model's hash joins the extractor version: run `insightkb extract --reextract`
    to re-read old documents with it. Use `--splits dev` while developing; the test split is
    for the final score. `--keep-heads` keeps the current heads and fits only how their topic
    probabilities move to each document's own topic mix (chosen on dev: judge it on test).

    \b
    Example:
        insightkb train --splits dev
        insightkb train --curve --splits dev
        insightkb train --curve --splits test --also tests/fixtures/gold/seeds.jsonl
        insightkb train --train-file tests/fixtures/gold/seeds.jsonl --splits dev --force
        insightkb train --splits dev --also tests/fixtures/gold/seeds.jsonl --output extract/models/learned.npz
        insightkb train --keep-heads --splits test --output extract/models/learned.npz
    """
    from extract.evaluate import GoldError
    from extract.teach import LABELS_DIR, TrainError, learning_curve, train

    chosen = _splits(splits)
    try:
        if curve:
            report = learning_curve(app.db, labels=labels or LABELS_DIR, splits=chosen, corpus=corpus,
                                    also=list(also), also_weight=also_weight, progress=True)
        else:
            report = train(app.db, labels=labels or LABELS_DIR, splits=chosen, train_files=list(train_files) or None,
                           corpus=corpus, output=output, force=force, editor_weight=editor_weight,
                           also=list(also), also_weight=also_weight, progress=True, keep_heads=keep_heads)
    except (TrainError, GoldError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    click.echo(report.table())
    for row in report.rows:
        cal = row.calibration
        if cal.get("n_confidence"):
            click.echo(f"calibration on {row.split}, {row.model}: ECE confidence {cal['ece_confidence']:.3f} "
                       f"(mean {cal['mean_confidence']:.2f}, right {cal['accuracy_confidence']:.2f}, "
                       f"n={cal['n_confidence']}), topic {cal.get('ece_topic', 0):.3f}, stance {cal.get('ece_stance', 0):.3f}")
    if report.oof and "shift_strength" in report.oof:
        o = report.oof
        click.echo(f"kept the current heads; document shift chosen on dev: strength {o['shift_strength']:g}, "
                   f"threshold {o['threshold']:g} (dev topics {o['dev_topic_f1']:.3f})")
    elif report.oof:
        o = report.oof
        click.echo(f"trained on {report.trained_on.get('examples')} claims from {report.trained_on.get('documents')} "
                   f"documents ({report.trained_on.get('editor_examples')} editor decisions); held-out folds: "
                   f"threshold {o.get('threshold')}, stance policy {o.get('stance_policy')}, "
                   f"ECE {o.get('oof_ece_reading')}")
    click.echo(report.decision + (f" -> {report.path} (model {report.new_hash})" if report.promoted else ""))


COMMANDS = [train_command]
