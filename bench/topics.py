"""Topic digests: how well podsift tells what is about a subject, on labelled real episodes, and
what a topic digest costs over a year of history.

    python bench/topics.py [--skip-calibration] [--skip-cost] [--episodes 10000] [--insights 50000]
                           [--shared ../shared] [--json out.json]

Calibration. A store of the real episodes that topic_labels.json was written for (in ../shared/data,
none of them in the insight benchmark's corpora: Python Bytes' published WebVTT, and the Changelog's
Markdown made WebVTT by scripts/changelog_vtt.py), with insights from the default extractor. Each
labelled subject's topic digest (limit 20, all dates) is scored against the labels: precision (of
what it returned, the share labelled about it; "either" counts neither way), recall (of every
labelled insight, the share returned), readable (the share of what it returned that passes the
insight benchmark's reader checks) and, for the subjects nobody talked about, how
many came back empty. Side by side: podsift's matching, the same without each of its steps, and the
baseline (one threshold on the cosine of the insight's passage vector to the query).

Cost. One install's year: EPISODES episodes of 40 shows with INSIGHTS insights in all, each with a
random unit vector and three random sentence vectors (the arithmetic of real ones), transcripts left
out (a topic digest never reads them). A topic digest over the whole year against the same over
one day of it, the embedder loaded; median of five runs per subject.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from podsift.deliver import topic as matching
from podsift.insights.embed import MiniLM
from podsift.insights.extract import Extractor, Insight
from podsift.models import FeedItem
from podsift.parsers.transcript import parse_transcript
from podsift.store import Store

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))
from changelog_vtt import to_vtt  # noqa: E402  (a script beside the package, not part of it)

PYTHON_BYTES = (452, 453, 454, 456, 457, 459, 461, 463, 464, 466, 467, 468, 483, 485)
CHANGELOG = {
    "practical-ai-300": "Practical AI",
    "the-changelog-669": "The Changelog",
    "changelog--friends-122": "Changelog & Friends",
}
ALL_TIME = (datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2100, 1, 1, tzinfo=timezone.utc))
COST_SUBJECTS = ("diffusion models", "large language models", "caching", "the stock market")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-calibration", action="store_true")
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--episodes", type=int, default=10_000)
    parser.add_argument("--insights", type=int, default=50_000)
    parser.add_argument("--shared", type=Path, default=HERE.parents[1] / "shared")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    embedder, figures = MiniLM(), {}
    with tempfile.TemporaryDirectory(prefix="podsift-topics-") as work:
        if not options.skip_calibration:
            figures["calibration"] = calibrate(Path(work) / "real.db", options.shared, embedder)
        if not options.skip_cost:
            figures["cost"] = cost(Path(work), embedder, options.episodes, options.insights)
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2))


# -- calibration ------------------------------------------------------------------------------


def episodes(data: Path) -> list[tuple[str, str, bytes]]:
    """(show, slug, WebVTT) of the calibration episodes."""
    found = [
        ("Python Bytes", f"python-bytes-{n}", (data / "python_bytes" / f"ep{n}" / "transcript.vtt").read_bytes())
        for n in PYTHON_BYTES
    ]
    for slug, show in CHANGELOG.items():
        markdown = (data / "changelog" / f"{slug}.transcript.md").read_text(encoding="utf-8")
        found.append((show, slug, to_vtt(markdown).encode()))
    return found


def build_real(path: Path, data: Path, embedder) -> None:
    extractor, started = Extractor(embedder), time.perf_counter()
    with Store.open(path) as store:
        me, shows = store.people.local(), {}
        for n, (show, slug, vtt) in enumerate(episodes(data)):
            if show not in shows:
                shows[show], _ = store.shows.subscribe(me, f"https://{slug}.example/feed")
                store.db.execute("UPDATE shows SET title = %s WHERE id = %s", (show, shows[show].id))
            published = datetime(2026, 11, 1, tzinfo=timezone.utc) + timedelta(hours=n)
            item = FeedItem(slug, slug, f"https://cdn.example/{slug}.mp3", published=published)
            episode_id = store.episodes.add(shows[show].id, item, "new")
            store.transcripts.save(episode_id, parse_transcript(vtt, "text/vtt"))
            store.insights.save(episode_id, extractor.extract(store.transcripts.get(episode_id), slug))
    print(f"calibration store: {n + 1} episodes in {time.perf_counter() - started:.0f} s", flush=True)


@contextmanager
def variant(name: str, store: Store):
    """podsift's matching with one step taken out or one setting changed (`name`), put back afterwards."""
    saved = (matching._about, matching.MIN_EXPANSION, matching.initials, store.insights.sentence_vectors)
    floor = matching.MIN_SCORE
    if name.startswith("score floor"):
        matching.MIN_SCORE = float(name.split()[-1])
    if name in ("no whole-topic rule", "baseline"):
        matching._about = lambda sentences, query, words: float((sentences @ query).max())
    if name in ("no expansion", "baseline"):
        matching.MIN_EXPANSION = 10**9
    if name in ("no initials", "baseline"):
        matching.initials = lambda topic: ""
    if name in ("passage vector only", "baseline"):
        store.insights.sentence_vectors = lambda ids: {}  # each insight falls back to its passage vector
    try:
        yield
    finally:
        matching._about, matching.MIN_EXPANSION, matching.initials, store.insights.sentence_vectors = saved
        matching.MIN_SCORE = floor


VARIANTS = (
    "podsift",
    "no whole-topic rule",
    "no expansion",
    "no initials",
    "passage vector only",
    "baseline",
    "score floor 0.2",
    "score floor 0.3",
)


def calibrate(path: Path, shared: Path, embedder) -> list[dict]:
    """Each variant's precision and recall on the labels, and the share of what it returned that the
    insight benchmark's reader checks pass (`reader_faults` of ../shared/bench/score.py)."""
    build_real(path, shared / "data", embedder)
    sys.path.insert(0, str(shared / "bench"))
    from score import reader_faults

    labels = {k: v for k, v in json.loads((HERE / "topic_labels.json").read_text()).items() if not k.startswith("_")}
    rows = []
    with Store.open(path) as store:
        every = [i.text for i in store.insights.matching()]
        for name in VARIANTS:
            with variant(name, store):
                rows.append(score(name, store, embedder, labels, every, reader_faults))
    print("\n| matching | precision | recall | readable | subjects nobody spoke of, answered empty | items judged |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['variant']} | {r['precision']:.2f} | {r['recall']:.2f} | {r['readable']:.2f} | {r['empty']} "
            f"| {r['returned']} |"
        )
    return rows


def score(name: str, store: Store, embedder, labels: dict, every: list[str], faults=None) -> dict:
    """One variant's figures over every labelled subject; `every` is every stored insight's text."""
    hits = returned = wanted = found = empty = silent = readable = shown = 0
    for subject, label in labels.items():
        items = matching.topic_digest(store, embedder, subject, *ALL_TIME, 20)
        texts = [item.insight.text for item in items]
        shown += len(items)
        readable += sum(not faults(i.insight.text, i.insight.quote) for i in items) if faults else 0
        about = [t for t in texts if any(p in t for p in label["yes"])]
        judged = [t for t in texts if not any(p in t for p in label["either"]) or t in about]
        hits, returned = hits + len(about), returned + len(judged)
        reachable = [t for t in every if any(p in t for p in label["yes"])]
        wanted, found = wanted + len(reachable), found + sum(t in texts for t in reachable)
        if not label["yes"]:
            silent, empty = silent + 1, empty + (not texts)
    precision = hits / returned if returned else 1.0
    return {
        "variant": name,
        "precision": precision,
        "recall": found / wanted,
        "empty": f"{empty} of {silent}",
        "returned": returned,
        "readable": readable / shown if shown else 1.0,
    }


# -- cost -------------------------------------------------------------------------------------


def build_year(path: Path, episodes: int, insights: int, rng: random.Random) -> datetime:
    """A store holding a year of insights of 40 shows; returns the last day's start."""
    end = datetime(2026, 11, 30, tzinfo=timezone.utc)
    numbers = np.random.default_rng(7)
    with Store.open(path) as store:
        me = store.people.local()
        shows = [store.shows.subscribe(me, f"https://show{n}.example/feed")[0].id for n in range(40)]
        per_episode = insights // episodes
        for n in range(episodes):
            published = end - timedelta(days=365 * n / episodes)
            item = FeedItem(f"e{n}", f"Episode {n}", f"https://cdn.example/{n}.mp3", published=published)
            episode_id = store.episodes.add(rng.choice(shows), item, "transcribed")
            store.insights.save(episode_id, random_insights(numbers, per_episode))
    return end


def random_insights(numbers: np.random.Generator, count: int) -> list[Insight]:
    found = []
    for rank in range(1, count + 1):
        sentences = numbers.standard_normal((3, 384)).astype(np.float32)
        sentences /= np.linalg.norm(sentences, axis=1, keepdims=True)
        vector = sentences.mean(0)
        vector /= np.linalg.norm(vector)
        text = "A sentence of an insight. Another sentence of it. And a third."
        found.append(Insight(text, text, 0, 20, float(numbers.uniform(0, 1)), {}, vector, rank, sentences=sentences))
    return found


def cost(work: Path, embedder, episodes: int, insights: int) -> dict:
    started = time.perf_counter()
    end = build_year(work / "year.db", episodes, insights, random.Random(7))
    print(
        f"\nyear store: {episodes} episodes, {insights} insights in {time.perf_counter() - started:.0f} s", flush=True
    )
    windows = {
        "one day": (end - timedelta(days=1), end + timedelta(days=1)),
        "a year": (end - timedelta(days=366), end + timedelta(days=1)),
    }
    figures = {}
    with Store.open(work / "year.db") as store:
        embedder(["warm up"])
        for subject in COST_SUBJECTS:
            figures[subject] = {
                span: statistics.median(timed(store, embedder, subject, window) for _ in range(5))
                for span, window in windows.items()
            }
    print("\n| subject | one day (ms) | a year (ms) | ratio |\n|---|---|---|---|")
    for subject, times in figures.items():
        day, year = times["one day"], times["a year"]
        print(f"| {subject} | {day * 1000:.0f} | {year * 1000:.0f} | {year / day:.1f}x |")
    return figures


def timed(store: Store, embedder, subject: str, window) -> float:
    started = time.perf_counter()
    matching.topic_digest(store, embedder, subject, *window)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
