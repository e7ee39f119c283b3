"""Stage 4, extract: an episode's transcript in, its ranked insights out.

Candidates are runs of one speaker's consecutive sentences that make a paragraph of 25 to 80 words
once cleaned and that an editor would send as they read (`clean.faults`): not opening on a question
or on a sentence that points back ("it", "that", "instead"), asking nothing, and ending on a
finished sentence. A sentence that cannot stand alone is joined to the one that names its subject
by being part of a longer run. Each candidate is scored by `features.Scorer`; the best are kept
greedily, skipping any that overlap in time or say nearly the same thing as one already kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..models import Segment, Transcript
from .clean import aside, clean_sentence, faults, reader_text
from .embed import Embedder, MiniLM
from .features import NOISE_PROTOTYPES, Context, Scorer, features

MIN_WORDS, MAX_WORDS = 25, 80
MAX_SENTENCES = 6
SAME_IDEA = 0.8  # cosine above which two passages of one episode say the same thing
MIN_GAP = 20.0  # seconds: passages closer than this in one episode usually continue one thought
MAX_SUBJECTS = 40  # show notes can be long; their first items are what the episode is about
TOPIC_QUESTION_WORDS = 6  # a question this long opens a new topic; "Wants to?" or "How?" does not


@dataclass
class Insight:
    """A statement worth knowing: what a reader sees, the exact words it rests on, and where."""

    text: str
    quote: str
    start: float
    end: float
    score: float
    reasons: dict = field(default_factory=dict)
    vector: np.ndarray | None = None
    rank: int = 0
    first: int = 0  # the sentences it spans in its transcript: segments[first:last]
    last: int = 0
    topic: int = 0  # which stretch between two topic-opening questions it answers
    sentences: np.ndarray | None = None  # the unit vector of each sentence it spans, one per row


class Extractor:
    """The offline default: candidate passages, a feature scorer, and greedy selection."""

    def __init__(self, embedder: Embedder | None = None, scorer: Scorer | None = None, keep: int = 8):
        self.embedder = embedder or MiniLM()
        self.scorer = scorer or Scorer()
        self.keep = keep
        self._noise: np.ndarray | None = None

    def extract(self, transcript: Transcript, title: str = "", notes: str = "") -> list[Insight]:
        """The episode's best insights, ranked from 1."""
        return select(self.scored(transcript, title, notes), self.keep)

    def scored(self, transcript: Transcript, title: str = "", notes: str = "") -> list[Insight]:
        """Every candidate passage with its score and reasons, unranked."""
        segments = transcript.segments
        found = self.candidates(segments)
        if not found:
            return []
        topics = topic_numbers(segments)
        subjects = note_subjects(notes)
        vectors = self.embedder([s.text for s in segments] + [f"{title}. {notes}"] + subjects)
        n = len(segments)
        # A passage's vector is the length-weighted mean of its sentences' vectors: each sentence is
        # embedded once, instead of once for every passage it is part of.
        sentence_vectors, topic = vectors[:n] * _lengths(segments)[:, None], vectors[n]
        centre = _unit(vectors[:n].mean(0))
        ctx = Context(
            transcript.duration, topic, centre, self._noise_vectors(), self.scorer.direction, vectors[n + 1 :]
        )
        for insight in found:
            vector = _unit(sentence_vectors[insight.first : insight.last].sum(0))
            values = features(insight.text, insight.quote, insight.start, insight.end, vector, ctx)
            insight.vector, insight.topic = vector, topics[insight.last - 1]
            insight.sentences = vectors[insight.first : insight.last]
            insight.score = self.scorer.score(values)
            insight.reasons = {
                **self.scorer.reasons(values),
                "topic": insight.topic,
                "features": {k: round(v, 3) for k, v in values.items()},
            }
        return found

    def candidates(self, segments: list[Segment]) -> list[Insight]:
        """Every run of one speaker's sentences that an editor would send as it reads: the right
        length, standing alone from its first word to its last (`clean.faults`)."""
        found = []
        for i in range(len(segments)):
            speaker = segments[i].speaker
            for j in range(i + 1, min(len(segments), i + MAX_SENTENCES) + 1):
                run = segments[i:j]
                quote = " ".join(s.text for s in run)
                if len(quote.split()) > MAX_WORDS * 1.3 or not _one_voice(run, speaker):
                    break
                text = reader_text([s.text for s in run])
                if MIN_WORDS <= len(text.split()) <= MAX_WORDS and not faults(text):
                    found.append(Insight(text, quote, run[0].start, run[-1].end, 0.0, first=i, last=j))
        return found

    def _noise_vectors(self) -> np.ndarray:
        if self._noise is None:
            self._noise = self.embedder(NOISE_PROTOTYPES)
        return self._noise


def select(candidates: list[Insight], keep: int) -> list[Insight]:
    """The best candidates, one per topic first, then the rest by score.

    A candidate within MIN_GAP seconds of a kept one, or saying nearly the same thing, is skipped."""
    kept: list[Insight] = []
    ranked = sorted(candidates, key=lambda c: c.score, reverse=True)
    for one_per_topic in (True, False):
        for c in ranked:
            if len(kept) == keep:
                break
            if one_per_topic and any(k.topic == c.topic for k in kept):
                continue
            if any(c.start < k.end + MIN_GAP and k.start < c.end + MIN_GAP for k in kept):
                continue
            if any(float(c.vector @ k.vector) >= SAME_IDEA for k in kept):
                continue
            kept.append(c)
    kept.sort(key=lambda c: c.score, reverse=True)
    for rank, insight in enumerate(kept, 1):
        insight.rank = rank
    return kept


def note_subjects(notes: str) -> list[str]:
    """The subjects show notes list: their sentences and the items of their lists, of 3 words or more.

    Show notes name what an episode covers ("the PostgreSQL 18 release, a case for testing, ..."),
    so a passage close to one item is about one of its subjects even when it is far from the mean."""
    parts = re.split(r"[.;:!?\n]+\s|,\s+(?:and\s+)?|\s+and\s+(?=[A-Z])", notes)
    return [p.strip() for p in parts if len(p.split()) >= 3][:MAX_SUBJECTS]


def topic_numbers(segments: list[Segment]) -> list[int]:
    """For each sentence, how many topic-opening questions came before it (or open with it)."""
    numbers, topic = [], 0
    for s in segments:
        if s.text.rstrip().endswith("?") and len(s.text.split()) >= TOPIC_QUESTION_WORDS:
            topic += 1
        numbers.append(topic)
    return numbers


def _one_voice(run: list[Segment], speaker: str) -> bool:
    """Whether the run is one speaker's, but for another's brief reaction inside it ("Right.")."""
    last = run[-1]
    return last.speaker == speaker or (len(run) > 1 and aside(clean_sentence(last.text)))


def _lengths(segments: list[Segment]) -> np.ndarray:
    return np.array([max(len(s.text.split()), 1) for s in segments], dtype=np.float32)


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v)
    return v / norm if norm else v
