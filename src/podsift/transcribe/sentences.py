"""Sentence-level spans with their own times, from cues or from timed words.

Publishers cut transcripts into display cues that break mid-sentence, and speech-to-text gives
segments of up to 30 s; insights need the second a sentence starts. Cues are split into words
whose times are interpolated by character position inside the cue, words are joined into
sentences (after `punctuate` has put back the marks of a transcript published without any),
and a sentence does not cross a change of speaker unless the change falls in mid-sentence.
"""

from __future__ import annotations

import re

from ..models import Segment
from .punctuate import punctuated

ABBREVIATIONS = {
    "mr.",
    "mrs.",
    "ms.",
    "dr.",
    "prof.",
    "st.",
    "vs.",
    "etc.",
    "e.g.",
    "i.e.",
    "inc.",
    "ltd.",
    "jr.",
    "sr.",
    "no.",
    "approx.",
    "u.s.",
    "u.k.",
    "a.m.",
    "p.m.",
    "mt.",
    "fig.",
}
SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*$")
MAX_WORDS = 80  # a run-on sentence is cut here so that no span is longer than an insight


def words_of(segments: list[Segment]) -> list[Segment]:
    """One-word segments from cue-level ones, each timed by where it falls in its cue's text."""
    words = []
    for seg in segments:
        tokens = seg.text.split()
        total = sum(len(t) + 1 for t in tokens) or 1
        span, offset = seg.end - seg.start, 0
        for token in tokens:
            start = seg.start + span * offset / total
            offset += len(token) + 1
            words.append(Segment(round(start, 3), round(seg.start + span * offset / total, 3), token, seg.speaker))
    return words


def sentences(words: list[Segment]) -> list[Segment]:
    """Join one-word segments into sentences: split after end punctuation or a speaker change.

    In a transcript with capitals, a change of speaker inside an unfinished sentence whose next
    word is in lower case ("You get a big set of boosts just for" / "upgrading your database.") is
    a speaker tag put on the wrong cue, not a new turn: the sentence goes on, as the first
    speaker's. (Without capitals, lower case says nothing, and every change is a turn.)"""
    out: list[Segment] = []
    current: list[Segment] = []
    for word in words:
        if current and (
            len(current) >= MAX_WORDS or (word.speaker != current[-1].speaker and not _goes_on(current, word))
        ):
            out.append(_segment(current))
            current = []
        current.append(word)
        if _ends_sentence(word.text):
            out.append(_segment(current))
            current = []
    if current:
        out.append(_segment(current))
    return out


def split_segments(segments: list[Segment]) -> list[Segment]:
    """Cue-level segments to sentence-level ones, with punctuation restored if the transcript has none."""
    return sentences(words_of(punctuated(segments)))


def _goes_on(current: list[Segment], word: Segment) -> bool:
    return current[0].text[:1].isupper() and word.text[:1].islower()


def _ends_sentence(token: str) -> bool:
    if not SENTENCE_END.search(token):
        return False
    bare = token.lower().strip("\"'”’)]")
    return bare not in ABBREVIATIONS and not re.fullmatch(r"(?:[a-z]\.){2,}", bare)


def _segment(words: list[Segment]) -> Segment:
    text = " ".join(w.text.strip() for w in words if w.text.strip())
    return Segment(words[0].start, max(words[-1].end, words[0].start), text, words[0].speaker)
