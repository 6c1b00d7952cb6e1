"""Podcast transcripts over HTTP: the MIME type lies, the format is found from the content."""
from __future__ import annotations

from ingest import ingest_sources
from ingest.transcripts import cues_to_text, detect_format, parse_transcript
from kb.documents import load_document

SRT = "1\n00:00:01,000 --> 00:00:03,500\nAlice: Small models answer in 200 ms.\n\n2\n00:00:03,500 --> 00:00:06,000\nAlice: Frontier models are too slow for voice.\n\n3\n00:00:07,000 --> 00:00:09,000\nBob: I agree.\n"


def test_detect_format_ignores_the_mime_type():
    assert detect_format(SRT.encode(), "text/plain") == "srt"
    assert detect_format(b"WEBVTT\n\n00:00.000 --> 00:01.000\nhi", "application/octet-stream") == "vtt"
    assert detect_format(b'{"segments": []}', "text/html") == "json"
    assert detect_format(b"<html><p>x</p></html>", None) == "html"


def test_cues_become_speaker_paragraphs_with_timed_passages():
    text, passages = cues_to_text(parse_transcript(SRT.encode(), "text/plain"))
    assert text == "Alice: Small models answer in 200 ms. Frontier models are too slow for voice.\n\nBob: I agree."
    assert [(p.speaker, p.start_seconds, p.end_seconds) for p in passages] == [
        ("Alice", 1.0, 3.5), ("Alice", 3.5, 6.0), ("Bob", 7.0, 9.0)]
    assert text[passages[1].start_char : passages[1].end_char] == "Frontier models are too slow for voice."


def test_podcast_feed_with_srt_served_as_text_plain(db, add, httpserver, loopback_options):
    httpserver.expect_request("/ep1.srt").respond_with_data(SRT, content_type="text/plain")
    feed = (
        '<?xml version="1.0"?><rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0" '
        'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>Pod</title><link>http://x/</link>'
        "<item><title>Ep 1</title><guid>ep1</guid><description>&lt;p&gt;Show notes.&lt;/p&gt;</description>"
        '<enclosure url="http://x/1.mp3" type="audio/mpeg" length="1"/><itunes:duration>3600</itunes:duration>'
        f'<podcast:transcript url="http://localhost:{httpserver.port}/ep1.srt" type="application/x-subrip"/>'
        "</item></channel></rss>"
    )
    httpserver.expect_request("/pod.xml").respond_with_data(feed, content_type="application/rss+xml")
    source = add(f"http://localhost:{httpserver.port}/pod.xml", kind="podcast", allow_private=True)
    report = ingest_sources(db, [source], loopback_options)[0]
    assert report.new == 1 and report.error is None, report.summary()
    doc = load_document(db, 1)
    assert doc.text.startswith("Alice: Small models answer in 200 ms.")
    assert doc.metadata["show_notes"] == "Show notes." and doc.metadata["duration_seconds"] == 3600.0
    assert doc.metadata["enclosure"]["url"] == "http://x/1.mp3"
    assert doc.passages[2].speaker == "Bob" and doc.passages[2].start_seconds == 7.0


def test_missing_transcript_keeps_show_notes_and_warns(db, add, httpserver, loopback_options):
    httpserver.expect_request("/t.vtt").respond_with_data("nope", status=404)
    feed = (
        '<?xml version="1.0"?><rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>'
        "<title>Pod</title><item><title>Ep</title><guid>e</guid><description>Notes only.</description>"
        f'<podcast:transcript url="http://localhost:{httpserver.port}/t.vtt" type="text/vtt"/></item></channel></rss>'
    )
    httpserver.expect_request("/p.xml").respond_with_data(feed, content_type="application/rss+xml")
    source = add(f"http://localhost:{httpserver.port}/p.xml", kind="podcast", allow_private=True)
    report = ingest_sources(db, [source], loopback_options)[0]
    assert report.new == 1 and "HTTP 404 Not Found" in report.warning
    assert load_document(db, 1).text == "Notes only."
