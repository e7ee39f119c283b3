"""Transcript parsers on the Podcasting 2.0 spec's own examples and a real show's VTT, and the
sentence splitter that turns cues into sentence-level spans."""

from pathlib import Path

import pytest

from podsift.errors import ParseError
from podsift.models import Segment
from podsift.parsers.transcript import format_of, parse_transcript
from podsift.transcribe.sentences import sentences, split_segments

DATA = Path(__file__).parent / "data"
SPEC = DATA / "feeds" / "podcast-namespace"


def spec(suffix: str) -> bytes:
    return (SPEC / f"docs_examples_transcripts_example.{suffix}").read_bytes()


def test_spec_vtt_keeps_voices_and_entities():
    t = parse_transcript(spec("vtt"), "text/vtt")
    assert t.format == "vtt" and len(t.segments) == 7
    assert t.segments[0] == Segment(0.0, 2.76, "In today's episode, you'll learn whether or not you", "Sarah")
    assert "Podcasting Q&A" in t.segments[2].text
    assert t.segments[-1].speaker == "Gillian" and t.segments[-1].end == 25.35


def test_spec_srt_takes_speaker_labels_and_carries_them():
    t = parse_transcript(spec("srt"), "application/x-subrip")
    assert t.segments[0] == Segment(0.179, 2.399, "When you first get started in podcasting, it's", "Travis")
    assert t.segments[1].speaker == "Travis"  # unlabelled cue: same speaker goes on
    assert {s.speaker for s in t.segments} >= {"Travis", "Sarah"}
    assert all(s.start <= s.end for s in t.segments)


def test_spec_json_word_segments_become_sentences():
    t = parse_transcript(spec("json"), "application/json")
    assert [(s.speaker, s.text) for s in t.segments][:2] == [("Darth Vader", "I"), ("Darth Vader", "am")]
    joined = split_segments(t.segments)
    assert [(s.speaker, s.text, s.start, s.end) for s in joined] == [
        ("Darth Vader", "I am your father.", 0.5, 2.5),
        ("Luke", "Nooooo", 2.75, 3.0),
    ]


def test_spec_html_paragraph_times_and_speakers():
    t = parse_transcript(spec("html"), "text/html")
    assert (t.segments[0].start, t.segments[0].speaker) == (0.0, "Travis")
    assert (t.segments[1].start, t.segments[1].speaker) == (53.0, "Sarah")
    assert t.segments[0].end == 53.0
    assert "it's almost guaranteed" in t.segments[0].text


def test_real_show_vtt():
    t = parse_transcript((DATA / "transcripts" / "python-bytes-452.vtt").read_bytes(), "text/vtt")
    assert len(t.segments) == 661  # the file's cues
    assert {s.speaker for s in t.segments} == {"Brian Okken", "Michael Kennedy"}
    spans = split_segments(t.segments)
    first = spans[0]
    assert first.speaker == "Michael Kennedy" and first.start == 0.08
    assert (
        first.text
        == "Hello and welcome to Python Bytes, where we deliver Python news and headlines directly to your earbuds."
    )
    assert all(a.start <= b.start for a, b in zip(spans, spans[1:], strict=False))
    assert any(s.text == "This is episode 452, recorded October 9th." for s in spans)


@pytest.mark.parametrize(
    "mime,data,kind",
    [
        ("", b"WEBVTT\n\n", "vtt"),
        ("", b'{"segments": []}', "json"),
        ("", b"1\n00:00:01,000 --> 00:00:02,000\nhi", "srt"),
        ("", b"<html><p>x</p></html>", "html"),
        ("text/vtt; charset=utf-8", b"", "vtt"),
        ("text/plain", b"hello", ""),
    ],
)
def test_format_from_type_or_content(mime, data, kind):
    assert format_of(mime, data) == kind


@pytest.mark.parametrize(
    "mime,data,message",
    [
        ("text/plain", b"just words", "no timings"),
        ("text/vtt", b"not vtt", "must start with WEBVTT"),
        ("application/json", b"{broken", "not valid JSON"),
        ("application/json", b'{"version": "1.0.0"}', 'no "segments" list'),
        ("text/vtt", b"WEBVTT\n\nNOTE nothing timed here\n", "holds no timed text"),
    ],
)
def test_malformed_transcripts_say_what_is_wrong(mime, data, message):
    with pytest.raises(ParseError, match=message):
        parse_transcript(data, mime)


def test_sentences_split_on_punctuation_not_abbreviations():
    words = [
        Segment(i, i + 0.5, w) for i, w in enumerate("Dr. Smith met Mr. Jones at 3 p.m. today. It rained. Then".split())
    ]
    spans = sentences(words)
    assert [s.text for s in spans] == ["Dr. Smith met Mr. Jones at 3 p.m. today.", "It rained.", "Then"]
    assert (spans[1].start, spans[1].end) == (9, 10.5)


def test_sentences_break_at_speaker_change_and_run_ons():
    words = [Segment(0, 1, "so", "A"), Segment(1, 2, "yes", "B")] + [
        Segment(i, i + 1, "word", "B") for i in range(2, 200)
    ]
    spans = sentences(words)
    assert spans[0].text == "so" and spans[0].speaker == "A"
    assert max(len(s.text.split()) for s in spans) <= 80


def test_a_speaker_tag_on_the_wrong_cue_does_not_cut_a_sentence():
    cues = [
        Segment(0.0, 3.0, "You get a big set of speedups just for", "Ana"),
        Segment(3.0, 5.0, "upgrading your database server.", "Ben"),  # the captioner tagged Ana's words as Ben's
        Segment(5.0, 6.0, "Right, and it is free.", "Ben"),  # a real turn: it opens on a capital
    ]
    spans = split_segments(cues)
    assert [(s.speaker, s.text) for s in spans] == [
        ("Ana", "You get a big set of speedups just for upgrading your database server."),
        ("Ben", "Right, and it is free."),
    ]
