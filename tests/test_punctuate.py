"""Punctuation restored for transcripts published without it (podsift.transcribe.punctuate).

The text below was written for these tests: a host and a guest talking about caching, cut into
timed cues the way a caption file cuts speech (cues end mid-sentence, pauses fall between them).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from podsift.insights.extract import Extractor
from podsift.models import Segment, Transcript
from podsift.transcribe.punctuate import Punctuator, bare, needs_punctuation, punctuated
from podsift.transcribe.sentences import split_segments

SPOKEN = [
    ("Ana", "So today we are talking about caching with Priya, who runs the platform team at a payments company."),
    ("Priya", "Thanks for having me. Caching is the part of our stack that people notice only when it breaks."),
    ("Priya", "Last year our cache hit rate fell from 94 percent to 61 percent in one afternoon."),
    ("Priya", "The database had to serve three times its normal load, and checkout latency doubled."),
    ("Ana", "What caused it?"),
    ("Priya", "A deploy changed the cache key format, so every old entry became useless at once."),
    ("Priya", "We now version our cache keys and warm the new version before any traffic moves to it."),
    ("Priya", "The lesson is that a cache is not an optimisation you can ignore, it is part of your capacity plan."),
    ("Ana", "How do you test that before a release?"),
    ("Priya", "We replay one hour of production reads against a cold cache and measure the miss rate."),
    ("Priya", "If the database would need more than twice its usual connections, the release is blocked."),
    ("Ana", "That sounds like a simple rule that saves a lot of pain."),
    ("Priya", "It is simple, and it has stopped four bad releases since we started doing it in March."),
]


def cues(strip: bool) -> list[Segment]:
    """The conversation as caption cues of about seven words, each 0.3 s after the last."""
    out, t = [], 0.0
    for speaker, line in SPOKEN:
        words = line.split()
        for k in range(0, len(words), 7):
            chunk = " ".join(words[k : k + 7])
            if strip:
                chunk = " ".join(bare(w) for w in chunk.split())
            length = 0.35 * len(chunk.split())
            out.append(Segment(round(t, 2), round(t + length, 2), chunk, speaker))
            t += length + (0.6 if k + 7 >= len(words) else 0.15)
    return out


def ends(segments: list[Segment]) -> list[bool]:
    """For each word, whether a sentence ends after it."""
    return [bool(re.search(r"[.?!]$", w)) for s in segments for w in s.text.split()]


def test_a_punctuated_transcript_is_left_exactly_as_it_was():
    original = cues(strip=False)
    assert not needs_punctuation(original)
    assert punctuated(original) is original


def test_a_transcript_without_marks_or_capitals_is_recognised_as_one():
    assert needs_punctuation(cues(strip=True))
    assert not needs_punctuation(cues(strip=True)[:5])  # too short to judge: left alone


def test_restoring_changes_no_word_only_marks_and_capitals():
    restored = Punctuator.shipped().restore(cues(strip=True))
    before = [bare(w) for s in cues(strip=True) for w in s.text.split()]
    after = [bare(w) for s in restored for w in s.text.split()]
    assert after == before
    assert re.findall(r"\d+", " ".join(s.text for s in restored)) == re.findall(r"\d+", " ".join(t for _, t in SPOKEN))
    assert [(s.start, s.end, s.speaker) for s in restored] == [(s.start, s.end, s.speaker) for s in cues(True)]


def test_most_sentence_ends_come_back_and_few_are_invented():
    truth = ends(cues(strip=False))
    guess = ends(Punctuator.shipped().restore(cues(strip=True)))
    hits = sum(t and g for t, g in zip(truth, guess, strict=True))
    assert hits / sum(truth) >= 0.6  # recall of sentence ends
    assert hits / sum(guess) >= 0.6  # precision


def test_sentences_start_with_a_capital_and_i_is_capitalised():
    text = " ".join(s.text for s in split_segments(cues(strip=True)))
    sentences = re.split(r"(?<=[.?!])\s+", text)
    assert len(sentences) >= 8
    assert all(s[0].isupper() for s in sentences if s[0].isalpha())
    assert text.endswith(".")
    assert " i " not in text


def test_no_sentence_of_a_restored_transcript_runs_on():
    sentences = split_segments(cues(strip=True))
    assert max(len(s.text.split()) for s in sentences) <= 40


def test_insights_come_from_a_transcript_published_without_punctuation():
    transcript = Transcript(split_segments(cues(strip=True)))
    insights = Extractor().extract(transcript, "Caching at a payments company", "")
    assert insights, "an unpunctuated transcript gave no insight at all"
    for insight in insights:
        assert insight.text.rstrip()[-1] in ".!"
        assert not re.search(r"(?:\b[\w'$%]+\s+){30,}", insight.text)  # no run of 30 words without a mark


def test_the_benchmark_copy_without_punctuation_keeps_times_tags_and_numbers():
    path = Path(__file__).resolve().parents[1] / "bench" / "unpunctuate.py"
    spec = importlib.util.spec_from_file_location("unpunctuate", path)
    unpunctuate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(unpunctuate)
    vtt = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:04.500\n<v Ana Lima>Prices rose 3.5%, to $20,000. Why?\n\n"
        '00:00:04.500 --> 00:00:06.000\n"It\'s odd," she said.\n'
    )
    assert unpunctuate.strip_vtt(vtt) == (
        "WEBVTT\n\n00:00:01.000 --> 00:00:04.500\n<v Ana Lima>prices rose 3.5% to $20,000 why\n\n"
        "00:00:04.500 --> 00:00:06.000\nit's odd she said\n"
    )
