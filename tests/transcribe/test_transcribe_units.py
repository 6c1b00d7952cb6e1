"""Sentence passages, enclosure choice and URL refusal, without audio."""
from __future__ import annotations

from kb.transcriptions import Episode
from transcribe.passages import sentences_to_text
from transcribe.runner import enclosure_refusal, is_audio_enclosure
from transcribe.speech import Sentence, _cut_sentences, clock


def test_sentences_become_paragraphs_and_timed_passages():
    text, passages = sentences_to_text([
        Sentence("Fine-tuning is a poor investment.", 0.0, 2.5),
        Sentence("Base models improve fast.", 2.7, 4.0),
        Sentence("After a long pause, a new paragraph.", 9.0, 11.2),
    ])
    assert text == ("Fine-tuning is a poor investment. Base models improve fast.\n\n"
                    "After a long pause, a new paragraph.")
    assert [(text[p.start_char:p.end_char], p.start_seconds, p.end_seconds) for p in passages] == [
        ("Fine-tuning is a poor investment.", 0.0, 2.5), ("Base models improve fast.", 2.7, 4.0),
        ("After a long pause, a new paragraph.", 9.0, 11.2)]
    assert all(p.section == "transcript" and p.speaker is None for p in passages)


def test_words_are_cut_at_sentence_ends_not_abbreviations():
    words = [(" Dr.", 0.0, 0.3), (" Smith", 0.3, 0.6), (" said", 0.6, 0.9), (" so.", 0.9, 1.2), (" Then", 1.5, 1.8)]
    out: list[Sentence] = []
    _cut_sentences(words, out, segment_end=True)
    assert [(s.text, s.start, s.end) for s in out] == [("Dr. Smith said so.", 0.0, 1.2)]
    assert words == [(" Then", 1.5, 1.8)]


def _episode(url: str, mime: str | None) -> Episode:
    return Episode(1, "t", url, mime, None, 1, "http://pod.example/feed", None, False)


def test_which_enclosures_are_audio():
    assert is_audio_enclosure(_episode("https://cdn.example/e.mp3", "audio/mpeg"))
    assert is_audio_enclosure(_episode("https://cdn.example/e.m4a?x=1", None))
    assert is_audio_enclosure(_episode("https://cdn.example/e.mp4", "video/mp4"))
    assert not is_audio_enclosure(_episode("https://cdn.example/cover.jpg", "image/jpeg"))
    assert not is_audio_enclosure(_episode("https://cdn.example/notes.pdf", "application/pdf"))
    assert not is_audio_enclosure(_episode("https://cdn.example/download", "application/octet-stream"))


def test_only_http_urls_with_a_host_are_fetched():
    assert enclosure_refusal("https://cdn.example/e.mp3") is None
    for url in ("javascript:alert(1)", "file:///etc/passwd", "ftp://h/e.mp3", "http:///e.mp3", "//cdn.example/e.mp3"):
        assert enclosure_refusal(url).startswith("refused enclosure: ")


def test_clock():
    assert (clock(0), clock(75.4), clock(4000)) == ("0:00", "1:15", "1:06:40")


def test_long_audio_is_cut_into_chunks_in_pauses():
    import numpy as np

    from transcribe.speech import SAMPLE_RATE, chunk_bounds

    rng = np.random.default_rng(1)
    sound = (rng.standard_normal(SAMPLE_RATE * 300) * 3000).astype(np.int16)
    for pause_at in (112.0, 117.5, 244.0):  # short gaps between "words", one long gap
        sound[int(pause_at * SAMPLE_RATE): int((pause_at + 0.2) * SAMPLE_RATE)] = 0
    sound[int(125.0 * SAMPLE_RATE): int(126.0 * SAMPLE_RATE)] = 0
    bounds = chunk_bounds(sound, chunk_seconds=120.0, search_seconds=10.0)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(sound)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    first_cut = bounds[0][1] / SAMPLE_RATE
    assert 125.0 <= first_cut <= 126.0  # the longest pause, not the nearest short gap
    assert len(bounds) == 3 and 244.0 <= bounds[1][1] / SAMPLE_RATE <= 244.2
    assert chunk_bounds(sound[: SAMPLE_RATE * 60]) == [(0, SAMPLE_RATE * 60)]
