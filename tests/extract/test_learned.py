"""The learned heads: stand-off eval, `insightkb train` (promotion, refusal, calibration), editor
decisions teaching the model, re-extraction under a new model. Trained on tests/extract/learned_fixture.py
(our own sentences; a fixture corpus file, never the real corpus)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from extract.evaluate import normalise_quantity
from extract.learned import LearnedModel, ModelError, shift_to_document
from extract.training import ece, pick_threshold
from extract_helpers import GOLD, add_documents
from insightkb.cli import cli
from learned_fixture import editor_texts, write_fixture


@pytest.fixture(scope="module")
def fixture(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("learned")
    labels = write_fixture(folder)
    return {"labels": labels, "corpus": folder / "paragraphs.jsonl"}


def _run(kb: Path, *args: str):
    out = CliRunner().invoke(cli, ["--kb", str(kb), *args])
    return out


def _train(kb: Path, fixture: dict[str, Path], *extra: str):
    return _run(kb, "train", "--labels", str(fixture["labels"]), "--corpus", str(fixture["corpus"]),
                "--splits", "dev", "--json", *extra)


# -- eval on stand-off labels ------------------------------------------------------------------

def test_eval_reads_standoff_labels_through_the_corpus(kb_path, fixture):
    out = _run(kb_path, "eval", str(fixture["labels"] / "dev.jsonl"), "--corpus", str(fixture["corpus"]),
               "--model", "rules-only", "--json")
    assert out.exit_code == 0, out.output + out.stderr
    data = json.loads(out.stdout)
    assert data["documents"] == 20 and data["units"] > 40
    assert set(data["stance"]) >= {"supports", "opposes", "neutral", "macro_f1", "macro_f1_two_class"}
    assert data["claims"]["f1"] > 0.9
    # the rules tag "GPU stickers" as gpu-supply: the labels say no
    assert data["topics"]["fp"] > 0


def test_eval_skips_standoff_file_when_corpus_is_absent(kb_path, fixture, tmp_path):
    out = _run(kb_path, "eval", str(fixture["labels"] / "dev.jsonl"), "--corpus", str(tmp_path / "nowhere.jsonl"))
    assert out.exit_code == 0
    assert "skipped" in out.stderr and "nowhere.jsonl is absent" in out.stderr
    # gold files with their text still score beside it
    both = _run(kb_path, "eval", str(GOLD / "seeds.jsonl"), str(fixture["labels"] / "dev.jsonl"),
                "--corpus", str(tmp_path / "nowhere.jsonl"))
    assert both.exit_code == 0 and "claim detection" in both.stdout and "skipped" in both.stderr


def test_eval_refuses_offsets_outside_the_paragraph(kb_path, fixture, tmp_path):
    first = json.loads((fixture["labels"] / "dev.jsonl").read_text().splitlines()[0])
    first["units"][0]["end"] = 10_000
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(first) + "\n")
    out = _run(kb_path, "eval", str(bad), "--corpus", str(fixture["corpus"]))
    assert out.exit_code == 1 and "outside the paragraph" in out.stderr


def test_quantity_units_are_normalised_on_both_sides():
    assert normalise_quantity(150, "ms") == pytest.approx((0.15, "s"))
    assert normalise_quantity(0.15, "s") == pytest.approx((0.15, "s"))
    assert normalise_quantity(80, "GPUs")[1] == normalise_quantity(80, "GPU")[1] == "gpu"
    assert normalise_quantity(300, "tokens/sec")[1] == normalise_quantity(300, "tokens/s")[1] == "token/s"
    assert normalise_quantity(20000, "USD")[1] == normalise_quantity(20000, "$")[1]
    assert normalise_quantity(4, "bits")[1] != normalise_quantity(4, "months")[1]
    assert normalise_quantity(48, "hours") == pytest.approx(normalise_quantity(172800, "s"))  # a labeller's hours, our seconds
    assert normalise_quantity(9, "hour") == pytest.approx((32400.0, "s"))
    assert normalise_quantity(2, "USD/hr") == normalise_quantity(2, "usd/hour") == (2.0, "usd/hour")  # a rate's hour stays
    assert normalise_quantity(3, "entries")[1] == "entry"
    assert normalise_quantity(500, "samples")[1] == normalise_quantity(500, "examples")[1]


# -- the artifact ------------------------------------------------------------------------------

def test_model_file_is_plain_arrays_with_a_checked_hash(tmp_path):
    model = LearnedModel(vocab=["bias", "w:gpu"], topics=["gpu-supply"], topic_W=np.ones((2, 1)),
                         topic_b=np.zeros(1), stance_W=np.zeros((2, 3)), stance_b=np.zeros(3),
                         claim_W=np.zeros(2), claim_b=np.zeros(1), meta={"trained_on": {"labels": "x"}})
    path = model.save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as data:  # no pickles inside
        assert json.loads(str(data["meta"]))["hash"] == model.hash
    again = LearnedModel.load(path)
    assert again.hash == model.hash and again.vocab == model.vocab
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["topic_W"] = arrays["topic_W"] * 2
    np.savez(tmp_path / "changed.npz", **arrays)
    with pytest.raises(ModelError, match="does not match its recorded hash"):
        LearnedModel.load(tmp_path / "changed.npz")


def test_shown_probabilities_are_recalibrated_on_emitted_tags_only_when_trained_so():
    plain = LearnedModel(vocab=["bias"], topics=["gpu-supply"], topic_W=np.zeros((1, 1)), topic_b=np.zeros(1),
                         stance_W=np.zeros((1, 3)), stance_b=np.zeros(3), claim_W=np.zeros(1), claim_b=np.zeros(1),
                         meta={})
    assert plain.shown_probability("topic_tag", 0.7) == pytest.approx(0.7)  # an older model: unchanged
    humble = LearnedModel(vocab=["bias"], topics=["gpu-supply"], topic_W=np.zeros((1, 1)), topic_b=np.zeros(1),
                          stance_W=np.zeros((1, 3)), stance_b=np.zeros(3), claim_W=np.zeros(1), claim_b=np.zeros(1),
                          meta={"calibration": {"topic_tag": [1.0, -1.0], "stance_tag": [0.5, 0.0]}})
    assert humble.shown_probability("topic_tag", 0.7) < 0.7  # kept tags were right less often than claimed
    assert humble.shown_probability("stance_tag", 0.9) == pytest.approx(0.75, abs=0.01)


def test_a_documents_own_topic_mix_moves_its_topic_probabilities():
    priors = np.array([0.02, 0.02])
    rows = np.array([[0.15, 0.01], [0.18, 0.01], [0.20, 0.02], [0.12, 0.01]])  # four mentions of topic 0
    shifted = shift_to_document(rows, priors, 6.0)
    assert (shifted[:, 0] > rows[:, 0] + 0.05).all()  # a document about topic 0: each mention counts more
    assert (shifted[:, 1] <= rows[:, 1] + 1e-9).all()  # topic 1 is not this document's: no lift
    alone = shift_to_document(rows[:1], priors, 6.0)
    assert rows[0, 0] < alone[0, 0] < shifted[0, 0]  # one mention alone moves less than four together
    assert np.allclose(shift_to_document(rows, priors, 1e9), rows, atol=1e-4)  # an unshakeable prior: unchanged


def test_a_model_without_priors_leaves_document_probabilities_alone():
    rows = np.array([[0.15, 0.3]])
    model = LearnedModel(vocab=["bias"], topics=["a", "b"], topic_W=np.zeros((1, 1)), topic_b=np.zeros(1),
                         stance_W=np.zeros((1, 3)), stance_b=np.zeros(3), claim_W=np.zeros(1), claim_b=np.zeros(1),
                         meta={})
    assert model.document_topic_probabilities(rows) is rows
    model.meta.update({"topic_priors": [0.02, 0.02], "prior_strength": 6.0})
    assert (model.document_topic_probabilities(rows) > rows).all()


def test_ece_is_zero_when_calibrated_and_large_when_not():
    assert ece([0.8] * 10, [1] * 8 + [0] * 2) == pytest.approx(0.0)
    assert ece([0.9] * 10, [0] * 10) == pytest.approx(0.9)


# -- train, promote, refuse, re-extract --------------------------------------------------------

def test_train_promotes_a_better_model_then_refuses_a_worse_one(kb_path, fixture, tmp_path):
    out = _train(kb_path, fixture)
    assert out.exit_code == 0, out.output + out.stderr
    report = json.loads(out.stdout)
    assert report["promoted"], report["decision"]
    model_path = kb_path.with_name("kb.model.npz")
    assert Path(report["path"]) == model_path and model_path.exists()
    rows = {r["model"]: r for r in report["rows"]}
    assert rows["new"]["topics"] > rows["rules only"]["topics"]  # drops "GPU stickers", adds wafers
    cal = rows["new"]["calibration"]
    assert cal["n_confidence"] > 20 and 0 <= cal["ece_confidence"] <= 0.15
    model = LearnedModel.load(model_path)
    # the probabilities shown on emitted tags get their own held-out calibration
    assert len(model.meta["calibration"]["topic_tag"]) == 2 and "oof_ece_topic_tag" in model.meta["oof"]
    assert model.meta["trained_on"]["labels"]["train.jsonl"] and "dev" in model.meta["scores"]
    assert model.meta["scores"]["dev"]["topics"] == rows["new"]["topics"]
    # labels that say nothing is ever on topic: the new model is worse on dev and is not promoted
    blank = tmp_path / "blank.jsonl"
    rows_in = [json.loads(line) for line in (fixture["labels"] / "train.jsonl").read_text().splitlines()]
    for row in rows_in:
        for unit in row["units"]:
            unit["topics"] = {}
    blank.write_text("".join(json.dumps(r) + "\n" for r in rows_in))
    before = model_path.read_bytes()
    worse = _train(kb_path, fixture, "--train-file", str(blank))
    assert worse.exit_code == 0, worse.output + worse.stderr
    decision = json.loads(worse.stdout)
    assert not decision["promoted"] and "worse on dev: topics" in decision["decision"]
    assert model_path.read_bytes() == before


def test_keep_heads_fits_only_the_document_shift(kb_path, fixture, tmp_path):
    assert _train(kb_path, fixture).exit_code == 0
    current = LearnedModel.load(kb_path.with_name("kb.model.npz"))
    out = _train(kb_path, fixture, "--keep-heads", "--output", str(tmp_path / "shifted.npz"), "--force")
    assert out.exit_code == 0, out.output + out.stderr
    report = json.loads(out.stdout)
    assert report["promoted"] and report["oof"]["shift_strength"] in (0.0, 3.0, 6.0, 12.0)
    shifted = LearnedModel.load(tmp_path / "shifted.npz")
    for name in ("topic_W", "stance_W", "claim_W"):  # the heads are the current ones
        assert np.array_equal(getattr(shifted, name), getattr(current, name))
    priors = shifted.meta["topic_priors"]
    assert len(priors) == len(current.topics) and all(0 <= p < 1 for p in priors) and max(priors) > 0
    assert len(shifted.meta["document_shift"]["dev_topic_f1"]) == 20
    assert shifted.hash != current.hash  # a new decision rule is a new model version
    assert "chosen on dev" in _run(kb_path, "train", "--labels", str(fixture["labels"]), "--corpus",
                                   str(fixture["corpus"]), "--splits", "dev", "--keep-heads",
                                   "--output", str(tmp_path / "again.npz")).stdout


def test_reextract_picks_up_a_promoted_model(kb_path, db, fixture):
    from extract.runner import extractor_setup

    add_documents(db, {"a": "Arlo Labs sells GPU stickers and mugs in its online merch store.\n\n"
                            "A wafer shortage kept Dunmore from finishing its training run for six weeks."})
    version_before = extractor_setup(db)[1]
    first = _run(kb_path, "extract")
    assert first.exit_code == 0 and f"extractor {version_before}," in first.stdout
    assert _train(kb_path, fixture).exit_code == 0
    version_after = extractor_setup(db)[1]
    model = LearnedModel.load(kb_path.with_name("kb.model.npz"))
    assert version_after == f"{version_before}.m{model.hash[:6]}"
    assert "extract: 0 documents" in _run(kb_path, "extract").stdout  # incremental: nothing new
    again = _run(kb_path, "extract", "--reextract")
    assert "extract: 1 documents" in again.stdout and version_after in again.stdout
    rows = list(db.query("SELECT c.text, c.confidence, c.extractor_version, t.topic, t.probability, t.stance_probability"
                         " FROM claims c LEFT JOIN claim_topics t ON t.claim_id = c.id ORDER BY c.start_char"))
    assert {r["extractor_version"] for r in rows} == {version_after}
    by_text = {r["text"][:10]: r for r in rows}
    assert by_text["Arlo Labs "]["topic"] is None  # the merch sentence lost its rule topic
    wafer = by_text["A wafer sh"]
    assert wafer["topic"] == "gpu-supply" and 0.5 < wafer["probability"] <= 1 and wafer["stance_probability"] > 0.5
    assert all(0 < r["confidence"] < 1 for r in rows)


def test_editor_decisions_teach_the_model(kb_path, db, fixture, tmp_path):
    from kb import curation

    from extract.evaluate import predict
    from extract.nlp import build_nlp

    ids = add_documents(db, editor_texts(8))
    assert _run(kb_path, "extract").exit_code == 0
    unseen = "The tapeout calendar at Galloway slipped by ten months this year."
    # without editors: the rules and the labels never tie a tapeout calendar to GPU supply
    assert _train(kb_path, fixture, "--output", str(tmp_path / "plain.npz"), "--force").exit_code == 0
    plain = predict(build_nlp(model=tmp_path / "plain.npz"), unseen)
    assert "gpu-supply" not in plain[0]["topics"]
    claims = list(db.query("SELECT id, text FROM claims WHERE document_id IN ({}) AND text LIKE 'The tapeout%'"
                           .format(",".join("?" * len(ids))), list(ids.values())))
    assert len(claims) == 8
    for row in claims:
        curation.set_stance(db, row["id"], "gpu-supply", "supports", "alice")
        curation.approve(db, row["id"], "alice")
    taught = _train(kb_path, fixture, "--output", str(tmp_path / "taught.npz"), "--force")
    assert json.loads(taught.stdout)["trained_on"]["editor_examples"] == 8
    after = predict(build_nlp(model=tmp_path / "taught.npz"), unseen)
    assert after[0]["topics"]["gpu-supply"]["stance"] == "supports"


def test_an_editors_topic_examples_are_trained_on(kb_path, db, fixture, tmp_path):
    from kb.curation import save_topic

    from extract.learned import LearnedModel

    before = _train(kb_path, fixture, "--output", str(tmp_path / "before.npz"), "--force")
    shipped_examples = json.loads(before.stdout)["trained_on"]["topic_examples"]
    assert shipped_examples > 0  # the shipped topics carry example sentences too
    assert "eval-harnesses" not in LearnedModel.load(tmp_path / "before.npz").topics
    save_topic(db, "eval-harnesses", "Evaluation harnesses", "Teams should build their own evaluation harness.",
               "alice", examples=[{"text": "Our home-grown eval harness caught every regression before launch.",
                                   "stance": "supports"},
                                  {"text": "Buying an off-the-shelf eval suite saved us months of work.",
                                   "stance": "opposes"}],
               patterns=["eval harness", "eval suite"])
    after = _train(kb_path, fixture, "--output", str(tmp_path / "after.npz"), "--force")
    assert json.loads(after.stdout)["trained_on"]["topic_examples"] == shipped_examples + 2
    model = LearnedModel.load(tmp_path / "after.npz")
    assert "eval-harnesses" in model.topics
    # the topic head learned weights for the new topic from its two example sentences
    learned = [model.topic_W[i].any() for name, i in model.index.items() if "eval-harnesses" in name]
    assert learned and any(learned)


def test_curation_queue_orders_by_calibrated_confidence(kb_path, db, fixture):
    from kb import curation

    assert _train(kb_path, fixture).exit_code == 0
    add_documents(db, {"q": "Arlo Labs sells GPU stickers and mugs in its online merch store.\n\n"
                            "A wafer shortage kept Dunmore from finishing its training run for six weeks.\n\n"
                            "Engineers at Elkhorn now build on open models they can run themselves.\n\n"
                            "Callers at Hartwell stopped hanging up once replies came back quickly."})
    assert _run(kb_path, "extract").exit_code == 0
    queue = curation.queue(db, limit=10)
    confidences = [r["confidence"] for r in queue]
    assert len(confidences) >= 3 and confidences == sorted(confidences) and len(set(confidences)) > 1


def test_learning_curve_prints_one_row_per_fraction(kb_path, fixture):
    out = _run(kb_path, "train", "--curve", "--labels", str(fixture["labels"]), "--corpus", str(fixture["corpus"]),
               "--splits", "dev")
    assert out.exit_code == 0, out.output + out.stderr
    assert "rules only" in out.stdout and "25%" in out.stdout and "50%" in out.stdout and "100%" in out.stdout
    assert "nothing promoted" in out.stdout


def test_train_without_labels_is_one_line_error(kb_path, tmp_path):
    out = _run(kb_path, "train", "--labels", str(tmp_path), "--splits", "dev")
    assert out.exit_code == 1 and "no labelled training file" in out.stderr


def test_train_help_ends_with_example():
    out = CliRunner().invoke(cli, ["train", "--help"])
    assert out.exit_code == 0 and "Example:" in out.output


def test_pairwise_topic_scores_at_once_equal_feature_by_feature(shipped_nlp):
    from extract.claims import claims_of
    from extract.features import ClaimView
    from extract.nlp import LEARNED, shipped_model

    model = shipped_model()
    texts = ["Our reserved GPU cluster sat idle while the open-weights model served every request in 80 ms.",
             "Switching vendors meant rewriting every prompt, so the team stayed on the closed API.",
             "Arlo Labs sells GPU stickers and mugs in its online merch store."]
    with shipped_nlp.select_pipes(disable=[LEARNED]):
        docs = list(shipped_nlp.pipe(texts))
    compared = 0
    for doc in docs:
        view = ClaimView(doc)
        for claim in claims_of(doc):
            np.testing.assert_allclose(model.topic_logits(view, claim), model.pair_logits_slow(view, claim), atol=1e-4)
            compared += 1
    assert compared == 3


def test_a_joined_sentence_is_attributed_with_the_claim_that_covers_it():
    from extract.evaluate import EvalResult, _score_unit

    doc = {"id": "d", "text": "x" * 80}
    first = {"start": 0, "end": 30, "claim": True, "speaker": "Ana Ruiz", "text": "first"}
    second = {"start": 31, "end": 60, "claim": True, "speaker": "Ana Ruiz", "text": "second"}
    third = {"start": 61, "end": 80, "claim": True, "speaker": "Ana Ruiz", "text": "third"}
    joined = {"start_char": 0, "end_char": 62, "speaker": "Ana Ruiz", "topics": {}, "quantities": []}
    result = EvalResult()
    for unit in (first, second, third):
        _score_unit(result, doc, unit, [joined], [])
    # the first two units are covered by the joined claim; the third only touched by one character
    assert (result.speakers.tp, result.speakers.fn, result.speakers.fp) == (2, 1, 0)


def test_topic_threshold_leans_to_the_middle_of_a_flat_top():
    curve = {0.1: 0.341, 0.15: 0.357, 0.2: 0.352, 0.25: 0.340, 0.5: 0.22}
    assert pick_threshold(curve, 0.0) == 0.15
    assert pick_threshold(curve, 0.01) == 0.2
    assert pick_threshold(curve, 0.02) == 0.25
    assert pick_threshold({0.3: 0.5, 0.7: 0.5}, 0.0) == 0.3  # equal distance from 0.5: the lower one


# -- "worse" means worse beyond the luck of the draw -----------------------------------------------

def _result(per_document: list[tuple[int, int, int]]) -> "EvalResult":
    """An EvalResult whose topic counts per document are the given (tp, fp, fn)."""
    from extract.evaluate import EvalResult

    result = EvalResult()
    for tp, fp, fn in per_document:
        counts = [0] * 21
        counts[3:6] = [tp, fp, fn]
        result.document_counts.append(counts)
        result.topics.tp += tp
        result.topics.fp += fp
        result.topics.fn += fn
    return result


def test_a_small_drop_on_few_documents_is_not_significant_a_large_one_is():
    from extract.compare import paired_bootstrap, significantly_worse

    old = _result([(1, 1, 1)] * 6 + [(2, 0, 0)] * 6)
    slightly = _result([(1, 1, 1)] * 6 + [(2, 0, 0)] * 5 + [(1, 1, 1)])
    much = _result([(0, 2, 2)] * 6 + [(1, 1, 1)] * 6)
    small = paired_bootstrap(old, slightly, ("topics",))["topics"]
    large = paired_bootstrap(old, much, ("topics",))["topics"]
    assert small.observed < 0 and large.observed < small.observed
    assert large.low <= large.observed <= large.high
    assert significantly_worse({"topics": small}) == [] and significantly_worse({"topics": large}) == ["topics"]


def test_bootstrap_refuses_results_on_different_documents():
    from extract.compare import paired_bootstrap

    with pytest.raises(ValueError, match="same documents"):
        paired_bootstrap(_result([(1, 0, 0)] * 3), _result([(1, 0, 0)] * 4))
