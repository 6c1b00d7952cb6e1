"""Bad documents never stop a batch: each gets a reason, the good ones are extracted."""
from __future__ import annotations

import json

import pytest

from extract import build_nlp, extract_pending
from extract_helpers import add_documents

GOOD = "Fine-tuning your own model is a waste because base models improve every 2-3 months."


def _status(db, doc_id: int) -> tuple[str, str | None]:
    return db.execute("SELECT extract_status, extract_reason FROM documents WHERE id = ?", [doc_id]).fetchone()


def test_each_bad_document_gets_a_reason_and_the_batch_goes_on(db, nlp):
    big_paragraph = ("Quantization and distillation don't simply create a smaller version of an LLM. "
                     "At least 10 billion high-quality tokens are needed after deduplication.\n\n")
    ids = add_documents(db, {
        "empty": "   \n\n  ",
        "binary": "".join(chr(i % 32) for i in range(4000)) + "\ufffd" * 500,
        "german": ("Die Feinabstimmung eigener Modelle lohnt sich nur selten, weil die Basismodelle sich "
                   "alle paar Monate verbessern. Die meisten Unternehmen sollten darauf verzichten."),
        "huge": big_paragraph * (5 * 1024 * 1024 // len(big_paragraph) + 1),
        "html": ("<div class='post'><p>Fine-tuning makes sense when you have clean labeled data.</p>"
                 "<p>Most teams should avoid it &amp; use retrieval.</p><script>var x = 1;</script></div>"),
        "control": GOOD.replace(" ", "\x00 ", 2) + "\x07",
        "good": GOOD,
    })
    report = extract_pending(db, nlp=nlp)
    assert report.skipped == 3 and report.errors == 0 and report.documents == 4
    assert _status(db, ids["empty"]) == ("skipped", "empty text")
    assert _status(db, ids["binary"])[0] == "skipped" and "binary" in _status(db, ids["binary"])[1]
    assert _status(db, ids["german"]) == ("skipped", "non-English text (detected language: de)")
    status, reason = _status(db, ids["huge"])
    assert status == "ok" and reason.startswith("truncated: extracted the first ")
    assert len(db.execute("SELECT text FROM documents WHERE id = ?", [ids["huge"]]).fetchone()[0]) > 5 * 1024 * 1024
    assert _status(db, ids["html"]) == ("ok", "HTML markup masked")
    html_claims = [r["text"] for r in db.query("SELECT text FROM claims WHERE document_id = ?", [ids["html"]])]
    assert html_claims and not any("<" in t or "&amp;" in t or "var x" in t for t in html_claims)
    assert _status(db, ids["control"])[0] == "ok"
    assert db.execute("SELECT count(*) FROM claims WHERE document_id = ?", [ids["good"]]).fetchone()[0] == 1
    for row in db.query("SELECT c.start_char, c.end_char, d.text, c.text AS claim FROM claims c "
                        "JOIN documents d ON d.id = c.document_id WHERE d.id IN (?, ?)", [ids["good"], ids["control"]]):
        assert " ".join(row["text"][row["start_char"]:row["end_char"]].replace("\x00", " ").split()) == row["claim"]


@pytest.mark.parametrize("n_process", [1, 2])
def test_a_component_error_is_recorded_and_the_rest_extracted(db, n_process):
    nlp = build_nlp()
    quantities = nlp.get_pipe("insightkb_quantities")
    original = quantities.__call__

    class Boom:
        def __call__(self, doc):
            if "explode" in doc.text:
                raise RuntimeError("quantity parser exploded")
            return original(doc)

    nlp._components = [(n, Boom() if n == "insightkb_quantities" else p) for n, p in nlp._components]
    ids = add_documents(db, {"bad": "This sentence will explode the parser for 5 tokens.", "good": GOOD})
    report = extract_pending(db, nlp=nlp, n_process=n_process, batch_size=1)
    assert report.errors == 1 and report.documents == 1
    status, reason = _status(db, ids["bad"])
    assert status == "error" and "quantity parser exploded" in reason
    assert db.execute("SELECT count(*) FROM claims WHERE document_id = ?", [ids["good"]]).fetchone()[0] == 1


def test_editor_topic_patterns_reach_the_extractor(db, nlp):
    from extract.runner import extractor_setup

    doc_ids = add_documents(db, {"d": "Vendor churn is the silent killer of AI budgets in large companies."})
    first = extract_pending(db)
    assert not list(db.query("SELECT * FROM claim_topics"))
    db["topic_patterns"].insert({"topic": "switching-costs", "pattern": json.dumps("vendor churn"), "origin": "editor"})
    _patterns, version = extractor_setup(db)
    assert version != first.version
    again = extract_pending(db, reextract=True)
    assert again.documents == 1 and again.version == version
    tags = [r["topic"] for r in db.query("SELECT topic FROM claim_topics")]
    assert tags == ["switching-costs"] and doc_ids


def test_a_storage_failure_rolls_back_that_document_only(db, nlp):
    """Documents are stored many per transaction; one the KB refuses halfway (here a real SQLite
    trigger aborts its quantity insert, after its claims went in) leaves none of its rows, gets
    its reason, and the documents stored before and after it in the same batch keep theirs."""
    db.execute("CREATE TRIGGER refuse_quantity BEFORE INSERT ON quantities WHEN new.text LIKE '%77%'"
               " BEGIN SELECT RAISE(ABORT, 'the disk said no'); END")
    texts = {f"good-{i}": f"Issue {chr(65 + i)}\n\n{GOOD}" for i in range(3)}  # distinct: not near-duplicates
    texts["bad"] = "Fine-tuning wastes 77 GPU hours because base models improve every 2-3 months."
    texts.update({f"good-{i}": f"Issue {chr(65 + i)}\n\n{GOOD}" for i in range(3, 6)})
    ids = add_documents(db, texts)
    report = extract_pending(db, nlp=nlp)
    assert report.errors == 1 and report.documents == 6
    status, reason = _status(db, ids["bad"])
    assert status == "error" and "the disk said no" in reason
    for table in ("claims", "claims_by_topic"):
        assert db.execute(f"SELECT count(*) FROM {table} WHERE document_id = ?", [ids["bad"]]).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM claims_fts WHERE claims_fts MATCH '77'").fetchone()[0] == 0
    for guid, doc_id in ids.items():
        if guid != "bad":
            assert _status(db, doc_id)[0] == "ok"
            assert db.execute("SELECT count(*) FROM claims WHERE document_id = ?", [doc_id]).fetchone()[0] == 1
    assert not db.conn.in_transaction
    # the refused document is done with (an error is final for this extractor version) ...
    assert extract_pending(db, nlp=nlp).documents == 0
