"""Search groups matching sentences into passages: the words of a query may be said in different
sentences of the same minute, never across a longer stretch, and passages do not overlap."""

from podsift.insights.search import SentenceHit, passages
from podsift.models import Segment


def hit(start, words, episode=1, rank=-1.0):
    return SentenceHit(episode, start, f"s{start}", frozenset(words), rank)


def test_a_passage_needs_every_word_within_a_minute():
    hits = [hit(0, {0}), hit(30, {1}), hit(200, {0}), hit(290, {1})]  # the second pair is 90 s apart
    found = passages(hits, words=2, limit=10)
    assert [(p.start, [s.start for s in p.sentences]) for p in found] == [(0, [0, 30])]


def test_denser_passages_come_first_and_none_overlaps_another():
    hits = [hit(0, {0, 1}), hit(100, {0}), hit(110, {1}), hit(120, {0, 1}), hit(5, {0, 1}, episode=2)]
    found = passages(hits, words=2, limit=10)
    assert [(p.episode_id, p.start) for p in found] == [(1, 100), (1, 0), (2, 5)]


def test_a_passage_reads_as_the_transcript_between_its_matches():
    segments = [Segment(float(t), t + 4.0, f"Sentence {t}.") for t in range(0, 60, 5)]
    (found,) = passages([hit(10, {0}), hit(25, {1})], words=2, limit=5)
    assert found.text(segments) == "s10 Sentence 15. Sentence 20. s25"
