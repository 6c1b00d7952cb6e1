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
        assert enclosure_refusal(url).startswith("refused enclosure URL")


def test_clock():
    assert (clock(0), clock(75.4), clock(4000)) == ("0:00", "1:15", "1:06:40")
