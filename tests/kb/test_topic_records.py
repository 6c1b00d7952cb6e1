"""A topic is one record: an editor adds one in the browser (proposition, direction, patterns,
examples) and the next `insightkb extract` tags claims with it and judges them by its direction."""
from __future__ import annotations

import json

from click.testing import CliRunner

# Invented for this test: a topic whose proposition is against its subject, so praising the
# subject opposes it (pro = "opposes"), as `finetuning-obsolescence` is shipped.
TOPIC = {
    "action": "save_topic", "slug": "eval-harnesses", "label": "Evaluation harnesses",
    "proposition": "Building your own evaluation harness is a waste of engineering time.",
    "pro": "opposes", "evaluative": "1", "valence": "0", "rising": "",
    "patterns": "evaluation harness\neval suite",
    "examples": "opposes: Teams should adopt an evaluation harness before they ship anything.\n"
                "supports: Most startups should skip the bespoke eval suite and ship.",
}
DOCUMENT = ("Every team we advise should adopt an evaluation harness before it ships a prompt change.\n\n"
            "Smaller startups should avoid a bespoke eval suite and spend the week on customers instead.")


async def test_an_editors_topic_is_tagged_and_judged_from_the_next_extract(ds, seeded, editor_cookies) -> None:
    from insightkb.cli import cli
    from kb import open_db
    from kb.documents import save_document
    from kb.records import Document, Source
    from kb.sources import add_source
    from kb.topics import topic_records

    path = seeded[0]
    r = await ds.client.post("/-/curation/taxonomy/edit", data={**TOPIC, "csrftoken": editor_cookies["ds_csrftoken"]},
                             cookies=editor_cookies)
    assert r.status_code == 302
    page = (await ds.client.get("/-/curation/taxonomy", cookies=editor_cookies)).text
    assert "eval suite" in page and "skip the bespoke eval suite" in page

    db = open_db(path)
    record = next(t for t in topic_records(db) if t["slug"] == "eval-harnesses")
    assert (record["pro"], record["evaluative"], record["valence"], record["rising"]) == ("opposes", True, False, None)
    assert record["editor_patterns"] == ["evaluation harness", "eval suite"] and record["patterns"] == []
    assert record["examples"][0] == {"text": "Teams should adopt an evaluation harness before they ship anything.",
                                     "stance": "opposes"}
    assert [r[0] for r in db.execute("SELECT action FROM curation_log ORDER BY id")] == [
        "add_topic_to_taxonomy", "add_pattern", "add_pattern"]
    source = add_source(db, Source(url="file:///tests/topic-record", kind="text", title="advice"))
    doc_id = save_document(db, Document(source_id=source.id, guid="advice", text=DOCUMENT)).document_id
    db.conn.commit()

    out = CliRunner().invoke(cli, ["--kb", str(path), "extract"])
    assert out.exit_code == 0, out.output
    tags = {text[:12]: (stance, json.loads(cues)) for text, stance, cues in db.execute(
        "SELECT c.text, t.stance, t.cues FROM claims c JOIN claim_topics t ON t.claim_id = c.id"
        " WHERE c.document_id = ? AND t.topic = 'eval-harnesses' ORDER BY c.start_char", [doc_id])}
    # adopting the harness praises it: against the proposition; avoiding it: for the proposition
    assert tags["Every team w"][0] == "opposes" and "-adopt" in tags["Every team w"][1]
    assert tags["Smaller star"][0] == "supports" and "+avoid" in tags["Smaller star"][1]


def test_a_topic_without_direction_reads_as_before(db) -> None:
    """An editor's topic from before topics had direction flags (NULL) keeps the old reading:
    pro supports, not evaluative, no valence, no trend."""
    from kb.curation import save_topic
    from kb.topics import topic_records

    save_topic(db, "evals", "Evals", "Evals matter most.", "alice")
    db.execute("UPDATE topics SET pro = NULL, evaluative = NULL, valence = NULL WHERE slug = 'evals'")
    record = next(t for t in topic_records(db) if t["slug"] == "evals")
    flags = (record["pro"], record["evaluative"], record["valence"], record["rising"])
    assert flags == ("supports", False, False, None)
    edited = save_topic(db, "evals", "Evals", "Evals matter more than prompts.", "alice")
    assert edited["pro"] is None and edited["evaluative"] is None  # an edit of the wording leaves them unset
    fresh = save_topic(db, "guardrails", "Guardrails", "Guardrails pay off.", "alice")
    assert (fresh["pro"], fresh["evaluative"], fresh["valence"]) == ("supports", True, False)
