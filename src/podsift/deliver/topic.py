"""Topic digests: what every show the install follows said about one subject, best first.

An item must be an insight (podsift's score at least MIN_SCORE) and about the topic. "About" is
judged by meaning, sentence by sentence, in three steps:

1. The pool: the POOL insights of the window whose passage vector is closest to the query, and
   any that name the topic by its initials ("LLM" for "large language models"); in those the
   initials are read as the words they stand for, which a small embedding model does not know.
2. A sentence supports the topic when its cosine to the query is at least ABOUT, and the whole
   topic is closer to it than any one of the topic's words alone: "diffusion models" is more than
   "diffusion" to a sentence about denoising, and no more than "diffusion" to one about heat, so
   the second stays out.
3. The query expanded by the install's own matches (Rocchio: the query plus the mean of its
   EXPANSION best matches): a match must also lie within NEAR_EXPANDED of it, which keeps out a
   stray match in another sense once the install holds a few insights on the subject.

The thresholds were set on topic labels written for real episodes outside the benchmark's
corpora (docs/design.md, "Topic digests"). A topic nobody talked about gives an empty digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from ..insights.embed import Embedder
from ..models import StoredInsight
from ..store import Store
from .items import DigestItem, merge_same, told_before

MIN_SCORE = 0.12  # lower than the daily five's: the reader asked for this subject, so being on it counts
POOL = 200  # insights whose sentences are compared: the closest by passage vector
ABOUT = 0.45  # cosine of a sentence to the query above which it is about the topic
NEAR_EXPANDED = 0.5  # cosine of a match's passage to the expanded query
EXPANSION = 5  # best matches that expand the query
MIN_EXPANSION = 3  # fewer matches than this say too little about the install's sense of the topic
LIMIT = 10
FILLER = {"a", "an", "and", "the", "of", "in", "on", "for", "to", "with", "about", "from", "by", "or"}
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass
class Match:
    """An insight about the topic: how close its best sentence is, and its score."""

    insight: StoredInsight
    about: float

    @property
    def key(self) -> float:
        return self.about + self.insight.score


def topic_digest(
    store: Store,
    embedder: Embedder,
    topic: str,
    since: datetime,
    until: datetime,
    limit: int = LIMIT,
    sent: np.ndarray | None = None,
) -> list[DigestItem]:
    """The insights about `topic` of episodes published in [since, until) on any followed show,
    best first, the same idea told on several shows once (naming them), at most `limit`; none
    within SAME_IDEA of a vector in `sent` (what the reader was sent before)."""
    topic = " ".join(topic.split())
    if not topic:
        return []
    ids, vectors = store.insights.topic_candidates(since, until, MIN_SCORE)
    if not len(ids):
        return []
    query, words = _query(embedder, topic)
    acronym = initials(topic)
    pool = [int(ids[k]) for k in np.argsort(-(vectors @ query))[:POOL]]
    if acronym:
        window = set(int(i) for i in ids)
        pool += [i for i in store.insights.naming(acronym) if i in window and i not in pool]
    matches = _matches(store, embedder, store.insights.by_id(pool), query, words, topic, acronym)
    return _distinct(_expanded(matches, query), limit, sent)


def initials(topic: str) -> str:
    """The topic's initials when it has two to five words that are not filler ("LLM"), else ""."""
    words = [w for w in re.findall(r"[A-Za-z]+", topic) if w.lower() not in FILLER]
    return "".join(w[0] for w in words).upper() if 2 <= len(words) <= 5 else ""


def _query(embedder: Embedder, topic: str) -> tuple[np.ndarray, np.ndarray]:
    """The topic's vector, and one per word of it that is not filler (none for a one-word topic)."""
    words = [w for w in topic.split() if w.lower() not in FILLER]
    vectors = embedder([topic] + (words if len(words) > 1 else []))
    return vectors[0], vectors[1:]


def _matches(store, embedder, insights, query, words, topic, acronym) -> list[Match]:
    """The insights with a sentence about the topic, each with its best such sentence's cosine."""
    named = re.compile(rf"\b{acronym}s?\b") if acronym else None
    spelled = {i.id: SENTENCE_END.split(named.sub(topic, i.text)) for i in insights if named and named.search(i.text)}
    stored = store.insights.sentence_vectors([i.id for i in insights if i.id not in spelled])
    if spelled:  # embedded at once, then dealt out to their insights in order
        vectors = embedder([s for sentences in spelled.values() for s in sentences])
        at = np.cumsum([0] + [len(sentences) for sentences in spelled.values()])
        stored |= {insight_id: vectors[at[n] : at[n + 1]] for n, insight_id in enumerate(spelled)}
    found = []
    for insight in insights:
        sentences = stored.get(insight.id)
        about = _about(sentences if sentences is not None else insight.vector[None, :], query, words)
        if about >= ABOUT:
            found.append(Match(insight, about))
    return found


def _about(sentences: np.ndarray, query: np.ndarray, words: np.ndarray) -> float:
    """The best cosine to the query of a sentence that the whole topic explains better than any
    one of its words; 0 when no sentence does."""
    full = sentences @ query
    if len(words):
        full = np.where(full >= (sentences @ words.T).max(1), full, 0.0)
    return float(full.max()) if len(full) else 0.0


def _expanded(matches: list[Match], query: np.ndarray) -> list[Match]:
    """The matches that also lie near the query expanded by the best of them, best first."""
    matches = sorted(matches, key=lambda m: m.about, reverse=True)
    if len(matches) < MIN_EXPANSION:
        return matches
    expanded = query + np.mean([m.insight.vector for m in matches[:EXPANSION]], axis=0)
    expanded /= np.linalg.norm(expanded)
    return [m for m in matches if float(m.insight.vector @ expanded) >= NEAR_EXPANDED]


def _distinct(matches: list[Match], limit: int, sent: np.ndarray | None) -> list[DigestItem]:
    items: list[DigestItem] = []
    for match in sorted(matches, key=lambda m: m.key, reverse=True):
        if told_before(sent, match.insight.vector):
            continue
        if not merge_same(items, match.insight) and len(items) < limit:
            items.append(DigestItem(match.insight))
    return items
