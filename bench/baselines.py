#!/usr/bin/env python3
"""Baseline digests over the same transcripts podsift made, for a side-by-side score.

    baselines.py PODSIFT_HOME TRUTH.json OUT_DIR

Reads the episodes and transcripts of a podsift store (so every system sees the same words) and
writes, for each baseline, one digest JSON per day and an insights JSON, in the format
`podsift digest --format json` prints. The baselines are the benchmark README's:
- first: the first sentences after the intro (TREC's "first minute"): an episode's first
  sentences from the 30th second on, one item per episode in publication order;
- textrank: TextRank over each episode's sentences (MiniLM cosine graph, PageRank), the day's
  items the highest-ranked sentences across episodes;
- random: random sentences of 12 or more words (seed 7).
"""

import json
import random
import sys
from pathlib import Path

import numpy as np

from podsift.insights.embed import MiniLM
from podsift.store import Store


def episodes(home: Path, truth: list[dict]):
    """(guid, audio_url, day, sentences) per corpus episode, sentences as (start, end, text)."""
    day_of = {e["guid"]: e["day"] for e in truth}
    with Store.open(home / "podsift.db") as store:
        return [
            (
                e.guid,
                e.audio_url,
                day_of[e.guid],
                [(s.start, s.end, s.text) for s in store.transcripts.get(e.id).segments],
            )
            for e in store.episodes.matching()
            if e.guid in day_of and e.state in ("transcribed", "extracted")
        ]


def first_sentences(sentences):
    return [(1.0, s) for s in sentences if s[0] >= 30.0][:5]


def textrank(sentences, embed):
    if not sentences:
        return []
    vectors = embed([s[2] for s in sentences])
    sim = np.clip(vectors @ vectors.T, 0, None)
    np.fill_diagonal(sim, 0)
    weights = sim / np.clip(sim.sum(1, keepdims=True), 1e-9, None)
    rank = np.full(len(sentences), 1 / len(sentences))
    for _ in range(50):
        rank = 0.15 / len(sentences) + 0.85 * weights.T @ rank
    order = np.argsort(-rank)[:5]
    return [(float(rank[i] * len(sentences)), sentences[i]) for i in order]


def random_sentences(sentences, rng):
    long = [s for s in sentences if len(s[2].split()) >= 12]
    return [(rng.random(), s) for s in rng.sample(long, min(5, len(long)))]


def item(rank, guid, url, sentence):
    start, end, text = sentence
    return {"rank": rank, "insight": text, "quote": text, "guid": guid, "audio_url": url, "start": start, "end": end}


def write(out: Path, name: str, picks: dict):
    """picks: guid -> (url, day, [(score, sentence)]); one digest per day, best scores first, 2 per episode."""
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    insights = {
        "episodes": [
            {"guid": g, "audio_url": url, "insights": [item(r, g, url, s) for r, (_, s) in enumerate(ranked, 1)]}
            for g, (url, _, ranked) in picks.items()
        ]
    }
    (folder / "insights.json").write_text(json.dumps(insights))
    for day in sorted({d for _, d, _ in picks.values()}):
        pool = [
            (score, n, g, url, s)
            for g, (url, d, ranked) in picks.items()
            if d == day
            for n, (score, s) in enumerate(ranked[:2])
        ]
        pool.sort(key=lambda p: (p[1], -p[0]))  # every episode's best before any episode's second
        items = [item(r, g, url, s) for r, (_, _, g, url, s) in enumerate(pool[:5], 1)]
        (folder / f"digest-{day}.json").write_text(json.dumps({"date": day, "items": items}))


def main():
    home, truth_path, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    eps = episodes(home, json.loads(truth_path.read_text()))
    embed, rng = MiniLM(), random.Random(7)
    systems = {
        "first sentences": first_sentences,
        "textrank": lambda s: textrank(s, embed),
        "random": lambda s: random_sentences(s, rng),
    }
    for name, pick in systems.items():
        write(out, name.replace(" ", "-"), {g: (url, day, pick(sents)) for g, url, day, sents in eps})


if __name__ == "__main__":
    main()
