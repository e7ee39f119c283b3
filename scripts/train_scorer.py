#!/usr/bin/env python3
"""Fit the insight scorer's weights (src/podsift/data/scorer.json) on a labelled corpus, reproducibly.

    scripts/train_scorer.py PODSIFT_HOME TRUTH.json [--write]

PODSIFT_HOME holds a store in which the corpus has been scanned (bench/ingest.sh leaves one), and
TRUTH.json is the corpus's truth file from ../shared/bench/build_feeds.py. A candidate passage is a
positive example when it lies mostly inside a gold insight's time span and says the same thing
(MiniLM cosine >= 0.4 to the gold statement): the benchmark's own definition of a hit. Everything
else is negative. The model is a logistic regression over podsift.features.FEATURES, fitted by
gradient descent with L2 regularisation from a fixed start, so the same data gives the same weights.

Prints leave-one-show-out figures (each show's episodes ranked by a model that never saw that
show) so that what is written is known to generalise beyond the shows it was fitted on.
"""

import argparse
import json
import sqlite3
import sys
from pathlib import Path

import numpy as np

from podsift.extract import Extractor, select
from podsift.features import FEATURES, Scorer
from podsift.models import Segment, Transcript

OUT = Path(__file__).resolve().parent.parent / "src" / "podsift" / "data" / "scorer.json"
L2, STEPS, RATE = 0.03, 3000, 0.5


def load(home: Path, truth_path: Path):
    """(show, episode truth, Transcript) for every corpus episode found in the store."""
    db = sqlite3.connect(home / "podsift.db")
    truth = {e["guid"]: e for e in json.load(open(truth_path))}
    rows = db.execute(
        "SELECT e.guid, e.title, e.description, t.segments FROM episodes e JOIN transcripts t ON t.episode_id = e.id"
    )
    out = []
    for guid, title, notes, segments in rows:
        if guid in truth:
            segs = [Segment(a, b, text, spk) for a, b, spk, text in json.loads(segments)]
            out.append((truth[guid]["feed"], truth[guid], Transcript(segs), title, notes))
    return out


def examples(extractor: Extractor, corpus):
    """Feature rows, labels, and per-episode candidate lists for ranking checks."""
    gold_vectors = {}
    episodes = []
    for show, ep, transcript, title, notes in corpus:
        candidates = extractor.scored(transcript, title, notes)
        for g in ep["gold"]:
            gold_vectors[(ep["guid"], g["id"])] = extractor.embedder([g["insight"]])[0]
        labels = []
        for c in candidates:
            hit = None
            for g in ep["gold"]:
                a, b = g["span"]
                inside = max(0.0, min(c.end, b) - max(c.start, a)) / max(c.end - c.start, 1e-6)
                if inside >= 0.5 and float(c.vector @ gold_vectors[(ep["guid"], g["id"])]) >= 0.4:
                    hit = g["id"]
            labels.append(hit)
        episodes.append((show, ep, candidates, labels))
    return episodes


def fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    w, b = np.zeros(x.shape[1]), 0.0
    pos = max(y.mean(), 1e-3)
    sample = np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos))  # balance the rare positives
    for _ in range(STEPS):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        g = (p - y) * sample
        w -= RATE * (x.T @ g / len(y) + L2 * w)
        b -= RATE * g.mean()
    return w, b


def matrix(episodes):
    rows = [[c.reasons["features"][k] for k in FEATURES] for _, _, cands, _ in episodes for c in cands]
    labels = [1.0 if lab else 0.0 for _, _, _, labs in episodes for lab in labs]
    return np.array(rows), np.array(labels)


def ranking_quality(episodes, scorer: Scorer):
    """Mean over episodes with gold: distinct gold ideas among the top 1 and top 3 selected."""
    top1, top3 = [], []
    for _, ep, cands, labels in episodes:
        if not ep["gold"]:
            continue
        for c in cands:
            c.score = scorer.score(c.reasons["features"])
        label_of = {id(c): lab for c, lab in zip(cands, labels, strict=True)}
        chosen = select(list(cands), 3)
        hits = [label_of[id(c)] for c in chosen]
        top1.append(float(bool(hits and hits[0])))
        top3.append(len({h for h in hits if h}) / min(3, len(ep["gold"])))
    return float(np.mean(top1)), float(np.mean(top3))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("home", type=Path)
    ap.add_argument("truth", type=Path)
    ap.add_argument("--write", action="store_true", help=f"write the fitted weights to {OUT}")
    a = ap.parse_args()
    extractor = Extractor(keep=0)
    episodes = examples(extractor, load(a.home, a.truth))
    x, y = matrix(episodes)
    print(f"{len(episodes)} episodes, {len(y)} candidates, {int(y.sum())} positive", file=sys.stderr)

    shows = sorted({show for show, *_ in episodes})
    held = []
    for show in shows:  # leave one show out
        train = [e for e in episodes if e[0] != show]
        w, b = fit(*matrix(train))
        held.append(
            ranking_quality([e for e in episodes if e[0] == show], Scorer(dict(zip(FEATURES, w, strict=True)), b))
        )
    print(
        f"held-out show: top-1 hit {np.mean([h[0] for h in held]):.2f}, "
        f"top-3 recall {np.mean([h[1] for h in held]):.2f}"
    )
    w, b = fit(x, y)
    scorer = Scorer(dict(zip(FEATURES, w, strict=True)), b)
    print(
        f"all shows (fitted on them): top-1 hit {ranking_quality(episodes, scorer)[0]:.2f}, "
        f"top-3 recall {ranking_quality(episodes, scorer)[1]:.2f}"
    )
    current = ranking_quality(episodes, Scorer())
    print(f"weights now in scorer.json: top-1 hit {current[0]:.2f}, top-3 recall {current[1]:.2f}")
    for k, v in sorted(zip(FEATURES, w, strict=True), key=lambda kv: -abs(kv[1])):
        print(f"  {k:>14} {v:+.2f}")
    if a.write:
        doc = {
            "note": "fitted by scripts/train_scorer.py on the dev corpus; see docs/insights.md",
            "bias": round(float(b), 4),
            "weights": {k: round(float(v), 4) for k, v in zip(FEATURES, w, strict=True)},
        }
        OUT.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
