"""Podcasting 2.0 feeds written after the spec's own examples (docs/1.0.md, transcripts.md), served
from loopback: both namespace URIs, VTT with entities and "Name: text" cues, the spec's word-level
JSON, and an episode whose transcript host is down."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tests.conftest import free_port

OLD_NS = "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"
NEW_NS = "https://podcastindex.org/namespace/1.0"

VTT = """WEBVTT

00:00:00.000 --> 00:00:04.000
<v Kevin>Small models &amp; big budgets don&#39;t mix &lt;yet&gt;.

00:00:04.000 --> 00:00:09.000
Adam Curry: We fine-tuned one anyway, and it paid for itself in a month.

00:00:09.500 --> 00:00:12.000
Adam Curry: The evals were the hard part.
"""

WORDS = "I am your father . Search your feelings , you know it to be true".split()


def word_json() -> str:
    """The spec's JSON example shape: one segment per word, with speaker and times."""
    segments, t = [], 0.5
    for word in WORDS:
        segments.append({"speaker": "Darth Vader", "startTime": round(t, 2), "endTime": round(t + 0.25, 2), "body": word})
        t += 0.3
    return json.dumps({"version": "1.0.0", "segments": segments})


def feed(ns: str, base: str, down: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:podcast="{ns}">
<channel>
  <title>Podcasting 2.0 Sample</title>
  <link>{base}/show</link>
  <description>A fake show to test the podcast namespace.</description>
  <itunes:author>Sample Author</itunes:author>
  <podcast:locked owner="owner@example.com">no</podcast:locked>
  <item>
    <title>Episode 3 - Words</title>
    <guid isPermaLink="false">ep3</guid>
    <description>Show notes of episode three.</description>
    <enclosure url="{base}/ep3.mp3" length="1024" type="audio/mpeg"/>
    <podcast:transcript url="{base}/ep3.json" type="application/json"/>
    <podcast:transcript url="{base}/ep3.vtt" type="text/vtt"/>
  </item>
  <item>
    <title>Episode 2 - Voices</title>
    <guid isPermaLink="false">ep2</guid>
    <description>Show notes of episode two.</description>
    <enclosure url="{base}/ep2.mp3" length="1024" type="audio/mpeg"/>
    <podcast:transcript url="{base}/ep2.vtt" type="text/vtt" language="en"/>
  </item>
  <item>
    <title>Episode 1 - Lost transcript</title>
    <guid isPermaLink="false">ep1</guid>
    <description>&lt;p&gt;Show notes of episode one: links and chapters.&lt;/p&gt;</description>
    <enclosure url="{base}/ep1.mp3" length="1024" type="audio/mpeg"/>
    <podcast:transcript url="{down}/ep1.srt" type="application/srt"/>
  </item>
</channel>
</rss>"""


@pytest.mark.parametrize("ns", [OLD_NS, NEW_NS], ids=["old-namespace-uri", "namespace-uri"])
def test_podcast_transcripts(db, add, httpserver, loopback_options, ns):
    from ingest import ingest_sources
    from kb.documents import load_document

    base = f"http://127.0.0.1:{httpserver.port}"
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there: the transcript host is down
    httpserver.expect_request("/feed.xml").respond_with_data(feed(ns, base, down), content_type="application/rss+xml")
    httpserver.expect_request("/ep2.vtt").respond_with_data(VTT, content_type="text/vtt")
    httpserver.expect_request("/ep3.json").respond_with_data(word_json(), content_type="application/json")
    source = add(f"{base}/feed.xml", kind="podcast", allow_private=True)
    # allow_private for every host: the down transcript host is another loopback origin
    report = ingest_sources(db, [source], replace(loopback_options, allow_private=True))[0]
    assert (report.error, report.new, report.parsed_items) == (None, 3, 3)
    assert "kept with show notes only" in report.warning and "ep1.srt" in report.warning
    docs = {d.metadata.get("itunes_title") or d.title: d for d in
            (load_document(db, r["id"]) for r in db.query("SELECT id FROM documents ORDER BY id"))}

    words = docs["Episode 3 - Words"]
    assert words.metadata["transcript_url"] == f"{base}/ep3.json"  # JSON preferred over VTT
    assert words.text == "Darth Vader: I am your father. Search your feelings, you know it to be true"
    assert [(p.speaker, p.start_seconds, words.text[p.start_char:p.end_char]) for p in words.passages] == [
        ("Darth Vader", 0.5, "I am your father."),
        ("Darth Vader", 2.0, "Search your feelings, you know it to be true"),
    ]

    voices = docs["Episode 2 - Voices"]
    cues = [(p.speaker, voices.text[p.start_char:p.end_char]) for p in voices.passages]
    assert cues == [
        ("Kevin", "Small models & big budgets don't mix <yet>."),
        ("Adam Curry", "We fine-tuned one anyway, and it paid for itself in a month."),
        ("Adam Curry", "The evals were the hard part."),
    ]
    assert voices.metadata["show_notes"] == "Show notes of episode two."
    assert voices.metadata["speakers"] == ["Adam Curry", "Kevin"]

    lost = docs["Episode 1 - Lost transcript"]
    assert lost.text == "Show notes of episode one: links and chapters."
    assert "connection failed" in lost.metadata["transcript_error"]
    assert lost.metadata["enclosure"]["url"] == f"{base}/ep1.mp3"


def test_out_of_range_character_reference_is_replaced(db, add, httpserver, loopback_options):
    from ingest import ingest_sources

    body = ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Odd &#1114112; feed</title>"
            "<link>http://odd.example/</link><item><title>One &#x110000; two</title><guid>1</guid>"
            "<description>Costs fell &#1114112; and a surrogate &#55296; too; a fine one &#233;.</description></item>"
            "</channel></rss>")
    httpserver.expect_request("/odd.xml").respond_with_data(body, content_type="application/rss+xml")
    source = add(f"http://127.0.0.1:{httpserver.port}/odd.xml", allow_private=True)
    report = ingest_sources(db, [source], loopback_options)[0]
    assert report.error is None and report.new == 1
    assert "4 character reference(s) to no character replaced by U+FFFD" in report.warning
    title, text = db.execute("SELECT title, text FROM documents").fetchone()
    assert title == "One \ufffd two"
    assert text == "Costs fell \ufffd and a surrogate \ufffd too; a fine one \u00e9."
