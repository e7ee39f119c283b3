#!/usr/bin/env python3
"""Fit the insight scorer's weights (src/podsift/data/scorer.json) on labelled corpora, reproducibly.

    scripts/train_scorer.py --corpus PODSIFT_HOME TRUTH.json [--corpus HOME2 TRUTH2.json ...] [--write]

Each PODSIFT_HOME holds a store in which a corpus has been scanned (`bench/run.sh CORPUS WORK` leaves
one in WORK/home, and WORK/feeds/truth.json beside it). A candidate passage is a positive example when
it lies mostly inside a gold insight's time span and says the same thing (MiniLM cosine >= 0.4 to the
gold statement): the benchmark's own definition of a hit. Everything else is negative. The model is a
logistic regression over podsift.insights.features.FEATURES, fitted by gradient descent with L2 regularisation
from a fixed start, so the same data gives the same weights. It is fitted on the candidates as they
come, without reweighting the rare positives, so that a score is the chance that a passage is one an
editor would pick: the digest's floor then means the same on every show.

Prints, for each corpus, leave-one-show-out figures: each show's episodes are extracted with a model
fitted on every other show of every corpus, and scored by the benchmark's scorer (recall@3 of gold
insights, and the readable share of the top 5), so that what is written is known to generalise
beyond the shows it was fitted on.
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

from podsift.insights.extract import Extractor, select
from podsift.insights.features import FEATURES, Scorer
from podsift.store import Store

OUT = Path(__file__).resolve().parent.parent / "src" / "podsift" / "data" / "scorer.json"
BENCH = Path(__file__).resolve().parent.parent.parent / "shared" / "bench"
L2, STEPS, RATE = 0.001, 2000, 1.0
PLAIN = [k for k in FEATURES if k != "insight_like"]  # insight_like is fitted as the direction itself


def load(home: Path, truth_path: Path):
    """(show, episode truth, Transcript, title, notes) for every corpus episode found in the store."""
    truth = {e["guid"]: e for e in json.load(open(truth_path))}
    with Store.open(home / "podsift.db") as store:
        return [
            (truth[e.guid]["feed"], truth[e.guid], store.transcripts.get(e.id), e.title, e.description or "")
            for e in store.episodes.matching(states=("transcribed", "extracted"))
            if e.guid in truth
        ]


def examples(extractor: Extractor, corpus):
    """Per episode: (show, truth, candidates with features, the gold id each candidate carries)."""
    episodes = []
    for show, ep, transcript, title, notes in corpus:
        candidates = extractor.scored(transcript, title, notes)
        gold = extractor.embedder([g["insight"] for g in ep["gold"]]) if ep["gold"] else []
        labels = []
        for c in candidates:
            hit = None
            for g, vector in zip(ep["gold"], gold, strict=True):
                a, b = g["span"]
                inside = max(0.0, min(c.end, b) - max(c.start, a)) / max(c.end - c.start, 1e-6)
                if inside >= 0.5 and float(c.vector @ vector) >= 0.4:
                    hit = g["id"]
            labels.append(hit)
        episodes.append((show, ep, candidates, labels))
    return episodes


def fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Logistic regression by full-batch gradient descent from zero: deterministic."""
    w, b = np.zeros(x.shape[1]), float(np.log(max(y.mean(), 1e-4) / max(1 - y.mean(), 1e-4)))
    for _ in range(STEPS):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        g = p - y
        w -= RATE * (x.T @ g / len(y) + L2 * w)
        b -= RATE * g.mean()
    return w, b


def matrix(episodes):
    """Each candidate's features, then its embedding (whose weights become `Scorer.direction`)."""
    rows = [[c.reasons["features"][k] for k in PLAIN] + list(c.vector) for _, _, cands, _ in episodes for c in cands]
    labels = [1.0 if lab else 0.0 for _, _, _, labs in episodes for lab in labs]
    return np.array(rows), np.array(labels)


def benchmark_figures(episodes, scorer: Scorer, truth, keep: int = 5):
    """Per-episode recall@3 and readable share of the top 5, as the benchmark's scorer counts them."""
    import score as bench  # ../shared/bench/score.py

    rows = []
    for _, ep, cands, _ in episodes:
        for c in cands:
            c.score = scorer.score({**c.reasons["features"], "insight_like": float(c.vector @ scorer.direction)})
        chosen = select(list(cands), keep)
        rows.append(
            {
                "guid": ep["guid"],
                "insights": [
                    {"rank": c.rank, "start": c.start, "end": c.end, "insight": c.text, "quote": c.quote}
                    for c in chosen
                ],
            }
        )
    mine = {row["guid"] for row in rows}  # the scorer also counts, as zero, every episode not given
    scored = [r for r in bench.score_insights(truth, {"episodes": rows}) if r["guid"] in mine]
    return statistics.mean(r["recall@3"] for r in scored), statistics.mean(r["readable@5"] for r in scored)


def scorer_of(w: np.ndarray, b: float) -> Scorer:
    """The fitted weights as a Scorer: the embedding's weights as a unit direction and its length."""
    plain, vector = w[: len(PLAIN)], w[len(PLAIN) :]
    norm = float(np.linalg.norm(vector))
    weights = {**dict(zip(PLAIN, plain, strict=True)), "insight_like": norm}
    return Scorer(weights, b, (vector / norm).astype(np.float32) if norm else np.zeros_like(vector))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", nargs=2, action="append", metavar=("HOME", "TRUTH"), required=True, type=Path)
    ap.add_argument("--bench", type=Path, default=BENCH, help="the shared benchmark (for its scorer)")
    ap.add_argument("--write", action="store_true", help=f"write the fitted weights to {OUT}")
    a = ap.parse_args()
    sys.path.insert(0, str(a.bench))
    import score as bench

    extractor = Extractor(keep=0)
    corpora = []
    for home, truth_path in a.corpus:
        episodes = examples(extractor, load(home, truth_path))
        corpora.append((truth_path, episodes, bench.Truth(json.load(open(truth_path)))))
        x, y = matrix(episodes)
        print(f"{truth_path}: {len(episodes)} episodes, {len(y)} candidates, {int(y.sum())} positive", file=sys.stderr)
    everything = [e for _, episodes, _ in corpora for e in episodes]

    for truth_path, episodes, truth in corpora:
        held = []
        for show in sorted({show for show, *_ in episodes}):  # leave one show out
            w, b = fit(*matrix([e for e in everything if e[0] != show]))
            mine = [e for e in episodes if e[0] == show]
            held.append((len(mine), benchmark_figures(mine, scorer_of(w, b), truth)))
        n = sum(k for k, _ in held)
        recall = sum(k * r for k, (r, _) in held) / n
        readable = sum(k * r for k, (_, r) in held) / n
        current = Scorer()
        if current.direction is None:
            current.direction = np.zeros(len(episodes[0][2][0].vector), dtype=np.float32)
        now = benchmark_figures(episodes, current, truth)
        print(
            f"{truth_path.parent.parent.name}: held-out show recall@3 {recall:.2f}, readable top 5 {readable:.2f}; "
            f"weights now in scorer.json: recall@3 {now[0]:.2f}, readable top 5 {now[1]:.2f}"
        )
    scorer = scorer_of(*fit(*matrix(everything)))
    for k, v in sorted(scorer.weights.items(), key=lambda kv: -abs(kv[1])):
        print(f"  {k:>14} {v:+.2f}")
    print(f"  {'bias':>14} {scorer.bias:+.2f}")
    if a.write:
        doc = {
            "note": "fitted by scripts/train_scorer.py on the dev and real-dev corpora; see docs/insights.md",
            "bias": round(scorer.bias, 4),
            "weights": {k: round(v, 4) for k, v in scorer.weights.items()},
            "direction": [round(float(x), 5) for x in scorer.direction],
        }
        OUT.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
