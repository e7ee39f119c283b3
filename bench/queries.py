#!/usr/bin/env python3
"""Store size: the digest query and search on a store of 1,000,000 insights against a nearly empty one.

    python bench/queries.py [--insights 1000000] [--shows 1000] [--followed 40] [--repeat 7]
                            [--engines sqlite,postgres] [--json out.json]

Two stores per engine hold the same reader's world: FOLLOWED shows, each with an episode published
today (10 insights and a transcript of real sentences), and a year of history in which one
episode a day was the reader's and five of its insights were sent in that day's emailed digest
(1,825 sent insights, what every new digest is compared against).
  - empty: that and nothing else (about 4,000 insights);
  - full: the same rows plus everyone else's year: SHOWS shows in all, episodes spread over 365
    days, 10 insights each, until the store holds INSIGHTS insights, each with its 384-float
    vector and its full-text row, inserted in the order they would have arrived.
Insight texts are sentences of the real-dev corpus's published transcripts
(../shared/bench/corpus/real-dev), so full-text search meets real word frequencies; vectors are
random unit vectors.

Timed, warm, median of REPEAT calls after one untimed call, each call on both stores in turn:
  - digest: `digest_for` of today for the reader (today is not over, so it is built each time and
    not stored): the day's candidates, the sent history's vectors, the ranking;
  - search: `store.insights.search` for a common word, a rarer word and a two-word phrase, each taken
    from today's insights, so the answer is the same in both stores (checked).
Reported per engine: each query's milliseconds on both stores and the ratio full/empty; the target is
a ratio near 1.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from pgcluster import PgCluster  # noqa: E402  tests/pgcluster.py

from podsift.deliver.rank import digest_for  # noqa: E402
from podsift.models import Segment, Transcript  # noqa: E402
from podsift.settings import load_settings  # noqa: E402
from podsift.store import Store, open_store  # noqa: E402

CORPUS = HERE.parent.parent / "shared" / "bench" / "corpus" / "real-dev"
DIMENSIONS = 384  # the default embedder's
PER_EPISODE = 10
DAYS = 365
CHUNK = 20_000  # insights per transaction while filling


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--insights", type=int, default=1_000_000, help="insights in the full store")
    parser.add_argument("--shows", type=int, default=1000, help="shows in the full store")
    parser.add_argument("--followed", type=int, default=40, help="shows the reader follows")
    parser.add_argument("--repeat", type=int, default=7, help="timed calls of each query per store")
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    options = parser.parse_args()
    sentences = corpus_sentences()
    figures = {}
    with tempfile.TemporaryDirectory(prefix="podsift-queries-") as work:
        for engine in options.engines.split(","):
            figures[engine] = measure(engine, Path(work) / engine, sentences, options)
    report(figures, options)
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2))


def corpus_sentences() -> list[str]:
    """The real-dev transcripts' cue texts, joined and split into sentences of 8 to 40 words."""
    text = " ".join(
        line
        for path in sorted(CORPUS.glob("*/*.vtt"))
        for line in path.read_text().splitlines()
        if line and "-->" not in line and not line.startswith(("WEBVTT", "NOTE")) and not line.isdigit()
    )
    text = re.sub(r"<[^>]+>", "", text)
    found = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text)]
    return [s for s in found if 8 <= len(s.split()) <= 40]


# -- the stores -------------------------------------------------------------------------------


def measure(engine: str, folder: Path, sentences: list[str], options) -> dict:
    """Build both stores on `engine` and time each query on each, in turn."""
    cluster = PgCluster() if engine == "postgres" else None
    stores: dict[str, Store] = {}
    try:
        for name in ("empty", "full"):
            started = time.perf_counter()
            stores[name] = open_engine(engine, folder / name, cluster, name)
            fill(stores[name], sentences, options, full=name == "full")
            count = stores[name].db.value("SELECT count(*) FROM insights")
            print(f"{engine} {name}: {count} insights, built in {time.perf_counter() - started:.0f} s", flush=True)
        result = {"insights": {n: s.db.value("SELECT count(*) FROM insights") for n, s in stores.items()}}
        result["queries"] = time_queries(stores, options.repeat)
        return result
    finally:
        for store in stores.values():
            store.close()
        if cluster:
            cluster.close()


def open_engine(engine: str, home: Path, cluster: PgCluster | None, name: str) -> Store:
    """A new, migrated store on `engine`: a SQLite file in `home`, or a database of its own on the cluster."""
    home.mkdir(parents=True)
    if cluster is None:
        return open_store(load_settings(home, {}))
    return open_store(load_settings(home, {"PODSIFT_DATABASE_URL": cluster.database(f"podsift_{name}")}))


def fill(store: Store, sentences: list[str], options, full: bool) -> None:
    """The reader's world, and in the full store everyone else's year around it, oldest first.
    The reader's rows come from a random sequence of their own, so both stores hold the same."""
    mine_rng, others_rng = random.Random(15), random.Random(16)
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    me = store.people.local()
    shows = [store.shows.subscribe(me, f"http://127.0.0.1/feed/{n}.xml")[0].id for n in range(options.followed)]
    others = []
    for n in range(options.shows - options.followed if full else 0):  # shows someone else follows
        others.append(store.shows.subscribe(me, f"http://127.0.0.1/other/{n}.xml")[0].id)
        store.shows.unsubscribe(me, f"http://127.0.0.1/other/{n}.xml")
    filler = max(0, options.insights // PER_EPISODE - options.followed - DAYS) if full else 0
    mine: dict[str, int] = {}
    for day in range(DAYS, 0, -1):
        published = today - timedelta(days=day)
        count = filler // DAYS + (1 if day <= filler % DAYS else 0)
        rows = [
            (others_rng.choice(others), f"other-{day}-{n}", published + timedelta(minutes=n % 1400))
            for n in range(count)
        ]
        add_episodes(store, rows, sentences, others_rng)
        ours = add_episodes(
            store, [(shows[day % len(shows)], f"mine-{day}", published + timedelta(hours=6))], sentences, mine_rng
        )
        mine[published.date().isoformat()] = ours[f"mine-{day}"]
    todays = add_episodes(store, [(s, f"today-{s}", today + timedelta(minutes=1)) for s in shows], sentences, mine_rng)
    for episode_id in todays.values():  # today's transcripts: what search's passages read
        chosen = mine_rng.sample(sentences, 60)
        segments = [Segment(n * 12.0, n * 12.0 + 11, text) for n, text in enumerate(chosen)]
        store.transcripts.save(episode_id, Transcript(segments, source="publisher", format="vtt"))
        store.episodes.set_state(episode_id, "extracted")
    store.db.execute(
        "INSERT INTO search (kind, ref, episode_id, show_id, text) "
        "SELECT 'insight', i.id, i.episode_id, e.show_id, i.text "
        "FROM insights i JOIN episodes e ON e.id = i.episode_id"
    )
    for day, episode_id in mine.items():
        sent = store.db.all("SELECT id FROM insights WHERE episode_id = %s AND rank <= 5 ORDER BY rank", (episode_id,))
        store.digests.save(me, day, [(r[0], []) for r in sent])
        store.outbox.sent(store.outbox.queue(me, day, "email", None, f"<{day}@bench>").id)
    store.db.execute("ANALYZE")  # what a server's autovacuum, or SQLite's `PRAGMA optimize`, would have done


def add_episodes(store: Store, rows: list[tuple], sentences: list[str], rng: random.Random) -> dict[str, int]:
    """Episodes (show id, guid, published) in state 'extracted', each with PER_EPISODE insights; guid -> id."""
    stamp = datetime.now(timezone.utc).isoformat()
    ids = {}
    for start in range(0, len(rows), CHUNK // PER_EPISODE):
        chunk = rows[start : start + CHUNK // PER_EPISODE]
        with store.transaction():
            store.db.many(
                "INSERT INTO episodes (show_id, guid, title, audio_url, published_at, state, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, 'extracted', %s, %s)",
                [
                    (show, guid, guid, f"http://127.0.0.1/{guid}.mp3", when.isoformat(), stamp, stamp)
                    for show, guid, when in chunk
                ],
            )
            found = dict(
                store.db.all(
                    f"SELECT guid, id FROM episodes WHERE guid IN ({','.join(['%s'] * len(chunk))})",
                    [g for _, g, _ in chunk],
                )
            )
            store.db.many(
                "INSERT INTO insights (episode_id, rank, text, quote, start_s, end_s, score, reasons, embedding, "
                "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                insight_rows([found[g] for _, g, _ in chunk], sentences, rng, stamp),
            )
        ids |= found
    return ids


def insight_rows(episode_ids: list[int], sentences: list[str], rng: random.Random, stamp: str):
    vectors = np.random.default_rng(rng.randrange(1 << 30)).standard_normal(
        (len(episode_ids) * PER_EPISODE, DIMENSIONS)
    )
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    for n, episode_id in enumerate(episode_ids):
        for rank in range(1, PER_EPISODE + 1):
            text, start = rng.choice(sentences), rng.uniform(0, 3000)
            vector = vectors[n * PER_EPISODE + rank - 1].tobytes()
            yield (episode_id, rank, text, text, start, start + 20, 2.0 - rank / 10, "{}", vector, stamp)


# -- the timing -------------------------------------------------------------------------------


def time_queries(stores: dict[str, Store], repeat: int) -> dict:
    """Each query on both stores, alternating, REPEAT times after a warm-up call; medians in ms."""
    settings = load_settings(Path(tempfile.gettempdir()), {})
    reader = {name: store.people.local() for name, store in stores.items()}
    queries = {
        "digest": lambda s, r: [
            i.insight.text for i in digest_for(s, settings, r, datetime.now(timezone.utc).date(), no_embedder).items
        ]
    }
    for label, words in search_words(stores["empty"]).items():
        queries[f"search {label}: {words}"] = lambda s, r, w=words: sorted(
            (f["kind"], f["snippet"]) for f in s.insights.search(w, r)
        )
    results = {}
    for label, query in queries.items():
        answers = {name: query(store, reader[name]) for name, store in stores.items()}  # warm-up, and the check
        assert answers["empty"] == answers["full"], f"{label}: the two stores answered differently"
        times = collections.defaultdict(list)
        for _ in range(repeat):
            for name, store in stores.items():
                started = time.perf_counter()
                query(store, reader[name])
                times[name].append((time.perf_counter() - started) * 1000)
        results[label] = {name: statistics.median(t) for name, t in times.items()}
        results[label]["found"] = len(answers["empty"])
        print(f"  {label}: {results[label]['empty']:.1f} ms empty, {results[label]['full']:.1f} ms full", flush=True)
    return results


def no_embedder(texts):
    raise AssertionError("the bench reader has no interests: nothing should need embedding")


def search_words(store: Store) -> dict[str, str]:
    """The most common word of today's insights that search finds (Postgres drops English stop
    words such as "because"; FTS5 keeps them), a word of median frequency, and a two-word phrase."""
    texts = [
        r[0]
        for r in store.db.all(
            "SELECT i.text FROM insights i JOIN episodes e ON e.id = i.episode_id "
            "WHERE e.guid LIKE 'today-%%' ORDER BY i.id"
        )
    ]
    counts = collections.Counter(w for t in texts for w in set(re.findall(r"[a-z]{6,}", t.lower())))
    ranked = sorted(counts, key=lambda w: (-counts[w], w))
    me = store.people.local()
    common = next(w for w in ranked if store.insights.search(w, me))
    pair = next(m.group(0) for t in texts if (m := re.search(r"\b[a-z]{5,} [a-z]{5,}\b", t.lower())))
    return {"common word": common, "rarer word": ranked[len(ranked) // 2], "phrase": f'"{pair}"'}


def report(figures: dict, options) -> None:
    print(f"\n{'engine':10} {'query':44} {'empty ms':>9} {'full ms':>9} {'full/empty':>10}")
    for engine, result in figures.items():
        for label, t in result["queries"].items():
            t["ratio"] = t["full"] / t["empty"]
            print(f"{engine:10} {label[:44]:44} {t['empty']:9.1f} {t['full']:9.1f} {t['ratio']:10.2f}")


if __name__ == "__main__":
    main()
