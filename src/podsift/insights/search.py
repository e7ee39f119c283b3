"""Search: insights that match every word of a query, and passages of transcript where its words
are said together, though not in one sentence ("error budget" finds the minute where an error
budget is discussed, whichever sentence says which word).

The store finds the sentences that contain any of the words (its full-text index, with stemming);
here they are grouped, per episode, into passages of at most PASSAGE_SECONDS, and a passage counts
only when it contains every word. Passages rank by how many of their sentences match and, after
that, by the index's own rank (bm25) of those sentences.
"""

from __future__ import annotations

from dataclasses import dataclass

PASSAGE_SECONDS = 60.0
MAX_SENTENCES = 8  # shown of one passage: a paragraph, not a page


@dataclass
class SentenceHit:
    """A transcript sentence that matches some of a query's words."""

    episode_id: int
    start: float
    marked: str  # its text, the matched words between \x02 and \x03
    words: frozenset[int]  # which of the query's words it contains (their positions in the query)
    rank: float  # the index's bm25 rank: lower is better


@dataclass
class Passage:
    """A stretch of one episode whose matching sentences between them contain every word."""

    episode_id: int
    start: float
    sentences: list[SentenceHit]  # the matching ones, in order

    def text(self, segments) -> str:
        """The passage as a reader sees it: every sentence of the transcript in its span (at most
        MAX_SENTENCES), the matched words marked."""
        marked = {s.start: s.marked for s in self.sentences}
        end = self.sentences[-1].start
        inside = [marked.get(seg.start, seg.text) for seg in segments if self.start <= seg.start <= end]
        return " ".join(inside[:MAX_SENTENCES]) + (" ..." if len(inside) > MAX_SENTENCES else "")

    def key(self) -> tuple:
        return (-len(self.sentences), sum(s.rank for s in self.sentences), self.episode_id, self.start)


def passages(hits: list[SentenceHit], words: int, limit: int) -> list[Passage]:
    """The best passages made of `hits`, none overlapping another, each containing all `words`."""
    by_episode: dict[int, list[SentenceHit]] = {}
    for hit in hits:
        by_episode.setdefault(hit.episode_id, []).append(hit)
    found = []
    for episode_id, sentences in by_episode.items():
        sentences.sort(key=lambda s: s.start)
        found += _best_windows(episode_id, sentences, words)
    return sorted(found, key=Passage.key)[:limit]


def _best_windows(episode_id: int, sentences: list[SentenceHit], words: int) -> list[Passage]:
    """Every window of sentences within PASSAGE_SECONDS that contains all words, best first,
    keeping only those that overlap no better one."""
    windows = []
    for i, first in enumerate(sentences):
        covered: set[int] = set()
        for j in range(i, len(sentences)):
            if sentences[j].start - first.start > PASSAGE_SECONDS:
                break
            covered |= sentences[j].words
            if len(covered) == words:
                last = j
                while last + 1 < len(sentences) and sentences[last + 1].start - first.start <= PASSAGE_SECONDS:
                    last += 1  # take in the window's other matching sentences too
                windows.append(Passage(episode_id, first.start, sentences[i : last + 1]))
                break
    kept: list[Passage] = []
    for window in sorted(windows, key=Passage.key):
        span = (window.start, window.sentences[-1].start)
        if all(span[1] < k.start or k.sentences[-1].start < span[0] for k in kept):
            kept.append(window)
    return kept
