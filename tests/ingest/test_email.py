"""Newsletters from mbox, maildir and folders of .eml; text-only fallback; the same issue by feed and by mail."""
from __future__ import annotations

import mailbox
from pathlib import Path
from email.message import EmailMessage

from ingest import ingest_sources
from insightkb.samples import SAMPLES_DIR
from kb.documents import load_document
from kb.records import Source
from kb.sources import add_source, get_source

SAMPLE_EML = SAMPLES_DIR / "newsletters" / "maligned-2.eml"


def message(n: int, *, html: bool = True) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Weekly AI <news@weekly.example>"
    msg["To"] = "me@example.org"
    msg["Subject"] = f"Weekly AI #{n}"
    msg["Date"] = f"Mon, {n:02d} Jun 2026 08:00:00 +0000"
    msg["Message-ID"] = f"<weekly-{n}@weekly.example>"
    msg["List-Id"] = "Weekly AI <weekly.weekly.example>"
    body = f"Issue {n} says open models with distillation cut inference cost for enterprises by half."
    msg.set_content(f"View this email in your browser: https://weekly.example/{n}\n\n{body}\n\n-- \nUnsubscribe: https://weekly.example/u\n")
    if html:
        msg.add_alternative(
            f"<html><body><p><a href='https://weekly.example/{n}'>View in browser</a></p><p>{body}</p>"
            "<table><tr><td class='footer'>You are receiving this because you signed up. "
            "<a href='https://weekly.example/u'>Unsubscribe</a></td></tr></table>"
            "<img src='https://weekly.example/t.gif' width='1' height='1'></body></html>",
            subtype="html",
        )
    return msg


def test_mbox(db, tmp_path):
    box = mailbox.mbox(str(tmp_path / "news.mbox"))
    for n in (1, 2, 3):
        box.add(message(n))
    box.close()
    source = add_source(db, Source(url=str(tmp_path / "news.mbox"), kind="email"))
    report = ingest_sources(db, [source])[0]
    assert (report.new, report.error) == (3, None)
    doc = load_document(db, 1)
    assert doc.text == "Issue 1 says open models with distillation cut inference cost for enterprises by half."
    assert doc.guid == "<weekly-1@weekly.example>" and doc.metadata["list_id"] == "weekly.weekly.example"
    assert doc.url == "https://weekly.example/1" and doc.published == "2026-06-01T08:00:00Z"
    assert ingest_sources(db, [get_source(db, source.id)])[0].new == 0


def test_maildir_text_only_fallback(db, tmp_path):
    box = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    box.add(message(4, html=False))
    box.add(message(5, html=False))
    source = add_source(db, Source(url=(tmp_path / "Maildir").as_uri(), kind="email"))
    report = ingest_sources(db, [source])[0]
    assert report.new == 2
    texts = sorted(r["text"] for r in db.query("SELECT text FROM documents"))
    assert texts[0] == "Issue 4 says open models with distillation cut inference cost for enterprises by half."


def test_folder_of_eml(db, tmp_path):
    folder = tmp_path / "eml"
    folder.mkdir()
    (folder / "a.eml").write_bytes(bytes(message(6)))
    (folder / "b.eml").write_bytes(SAMPLE_EML.read_bytes())
    (folder / "notes.txt").write_text("not mail")
    source = add_source(db, Source(url=str(folder), kind="email"))
    assert ingest_sources(db, [source])[0].new == 2


def test_same_issue_by_feed_and_by_mail_is_linked(db, tmp_path):
    """The newsletter's feed item (different wrapper, no footer) is a near-duplicate of the email."""
    html = SAMPLE_EML.read_text()
    import email
    import email.policy

    msg = email.message_from_bytes(SAMPLE_EML.read_bytes(), policy=email.policy.default)
    body = msg.get_body(preferencelist=("html",)).get_content()
    inner = body.split("<h1>")[1].split('<div class="footer">')[0]
    feed = tmp_path / "maligned.xml"
    feed.write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Maligned</title>'
        "<link>https://maligned.example/</link><item><title>Maligned #2</title>"
        "<link>https://maligned.example/posts/2?utm_campaign=feed</link><guid>maligned-2-web</guid>"
        f"<description><![CDATA[<h1>{inner}<p>Thanks for reading Maligned! Share it with a friend.</p>]]></description>"
        "</item></channel></rss>",
        encoding="utf-8",
    )
    mail = add_source(db, Source(url=str(SAMPLE_EML), kind="email"))
    web = add_source(db, Source(url=str(feed), kind="rss"))
    reports = ingest_sources(db, [mail, web])
    assert (reports[0].new, reports[1].new, reports[1].duplicates) == (1, 0, 1)
    row = next(db.query("SELECT duplicate_of, metadata FROM documents WHERE source_id = ?", [web.id]))
    assert row["duplicate_of"] == 1
    import json

    assert json.loads(row["metadata"])["near_duplicate"]["similarity"] >= 0.8
    assert html  # the sample is untouched


def test_exact_duplicate_across_sources(db, tmp_path):
    copy = tmp_path / "copy.eml"
    copy.write_bytes(SAMPLE_EML.read_bytes().replace(b"<maligned-2@maligned.example>", b"<other@x>"))
    a = add_source(db, Source(url=str(SAMPLE_EML), kind="email"))
    b = add_source(db, Source(url=str(copy), kind="email"))
    reports = ingest_sources(db, [a, b])
    assert (reports[0].new, reports[1].duplicates) == (1, 1)


def test_mailchimp_issue_gets_a_name_and_loses_its_postal_footer(db, add, loopback_options):

    from ingest import ingest_sources
    from ingest.detect import sniff
    from kb.documents import load_document

    path = Path(__file__).resolve().parent.parent / "fixtures" / "ingest" / "mail" / "mailchimp-issue.eml"
    assert sniff(path.read_bytes()).title == "Inference Notes"  # what `sources add` names the source
    source = add(str(path), kind="email")
    report = ingest_sources(db, [source], loopback_options)[0]
    assert (report.error, report.new) == (None, 1)
    doc = load_document(db, db.execute("SELECT id FROM documents").fetchone()[0])
    assert doc.metadata["newsletter"] == "Inference Notes"
    assert doc.metadata["list_id"] == "5e78d7ef2297cc80842b7591e.131234567.list-id.mcsv.net"
    assert doc.text.startswith("Inference Notes #41: the small-model bet\n\nThis week three teams")
    assert doc.text.endswith("a few thousand graded answers of your own.")
    for furniture in ("mailing address", "Example Avenue", "62701", "All rights reserved", "preferences",
                      "address book", "Distilled models, and the test set"):
        assert furniture not in doc.text


def test_plain_text_mailchimp_footer_is_dropped():
    from ingest.emails import _part_text, parse_message, plain_text_blocks

    path = Path(__file__).resolve().parent.parent / "fixtures" / "ingest" / "mail" / "mailchimp-issue.eml"
    msg = parse_message(path.read_bytes())
    blocks = [b.text for b in plain_text_blocks(_part_text(msg.get_body(preferencelist=("plain",))))]
    assert blocks[0] == "Inference Notes #41: the small-model bet"
    assert len(blocks) == 4 and not any("Springfield" in b or "=====" in b for b in blocks)
