"""Growth: a new day's scan and digest on an empty store and on one that holds a year of history.

    python bench/growth.py [--episodes 10000] [--insights 50000] [--minutes 40] [--rounds 4]
                           [--copies 1,5,10] [--work DIR] [--json out.json]

The new day is the dev corpus of the shared insight benchmark (14 episodes in 6 shows), published
yesterday, each episode with a WebVTT transcript (its script, timed at a speaking pace), served on
loopback. Publisher transcripts leave speech-to-text out: its minutes would hide whatever the store
adds. Polling, transcript fetching, extraction, ranking and every store query still run.

Two homes follow the same six shows:
  - empty: nothing else;
  - grown: EPISODES earlier episodes of those shows spread over the year before, each with a
    MINUTES-long transcript (the corpus's sentences, so full-text search indexes real words), INSIGHTS
    insights in all, and a five-item digest, sent by email, on each day of that year: the day's
    digest is checked against 1,825 insights sent before. History's embedding vectors are random unit
    vectors: the arithmetic is the same, and no sent insight matches a new one, so both digests must
    come out the same (checked).
Each round copies both homes afresh and runs, as a user would, `podsift scan --since DAY` then
`podsift digest --date DAY` in each, alternating which home goes first; each command's wall time and
peak memory (its own ru_maxrss) are recorded.

Then, for memory however many episodes a scan takes: the day repeated in 1, 5, ... sets of shows
(COPIES), scanned on an empty home; peak memory should not grow with the count.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from podsift.insights.extract import Insight
from podsift.models import FeedItem, Segment, Transcript
from podsift.settings import load_settings
from podsift.store import Store

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "bench" / "corpus" / "dev"
WORDS_PER_SECOND = 2.6  # the corpus's espeak voices speak at 160-175 words a minute
DIMENSIONS = 384  # the default embedder's


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=10_000, help="history: earlier episodes in the grown store")
    parser.add_argument("--insights", type=int, default=50_000, help="history: insights in the grown store")
    parser.add_argument("--minutes", type=float, default=40, help="history: length of each earlier transcript")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--copies", default="1,5,10", help="sets of the day's shows for the memory runs")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--work", type=Path, help="keep the homes here (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    options = parser.parse_args()

    work = options.work or Path(tempfile.mkdtemp(prefix="podsift-growth-"))
    day = date.today() - timedelta(days=1)
    scripts = corpus(options.corpus)
    copies = [int(c) for c in options.copies.split(",")]
    server = serve(work / "site")
    base = f"http://127.0.0.1:{server.server_address[1]}"
    write_day(work / "site", base, scripts, day, max(copies))
    try:
        figures = {
            "day": day.isoformat(),
            "rounds": compare(work, scripts, day, options),
            "memory": memory(work, day, copies),
        }
    finally:
        server.shutdown()
        if not options.work:
            shutil.rmtree(work)
    report(figures)
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2))


# -- the day ----------------------------------------------------------------------------------


def corpus(folder: Path) -> dict[str, dict]:
    """{show slug: feed.json with its episodes' scripts under "scripts"}."""
    shows = {}
    for feed in sorted(folder.glob("*/feed.json")):
        show = json.loads(feed.read_text())
        show["scripts"] = {ep: json.loads((feed.parent / f"{ep}.json").read_text()) for ep in show["episodes"]}
        shows[feed.parent.name] = show
    if not shows:
        raise SystemExit(f"no corpus under {folder}; pass --corpus")
    return shows


def timed_turns(turns: list[dict]) -> list[tuple[float, float, dict]]:
    """Each turn with a start and end in seconds, at WORDS_PER_SECOND and a short pause between."""
    spans, t = [], 0.0
    for turn in turns:
        length = len(turn["text"].split()) / WORDS_PER_SECOND
        spans.append((t, t + length, turn))
        t += length + 0.35
    return spans


def vtt(turns: list[dict]) -> str:
    def stamp(s: float) -> str:
        return f"{int(s // 3600):02d}:{int(s % 3600 // 60):02d}:{s % 60:06.3f}"

    cues = [f"{stamp(a)} --> {stamp(b)}\n<v {t['speaker'].title()}>{t['text']}" for a, b, t in timed_turns(turns)]
    return "WEBVTT\n\n" + "\n\n".join(cues) + "\n"


def write_day(site: Path, base: str, shows: dict[str, dict], day: date, copies: int) -> None:
    """Copy c of every show at site/c/<show>/feed.xml (with one VTT per episode) and site/c/feeds.opml."""
    for c in range(1, copies + 1):
        outlines = []
        for slug, show in shows.items():
            folder = site / str(c) / slug
            folder.mkdir(parents=True, exist_ok=True)
            items = []
            for n, (ep, script) in enumerate(show["scripts"].items()):
                (folder / f"{ep}.vtt").write_text(vtt(script["turns"]))
                published = datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(
                    hours=5, minutes=37 * n
                )
                items.append(
                    "<item>"
                    f"<title>{escape(script['title'])}</title>"
                    f"<description>{escape(script.get('description', ''))}</description>"
                    f'<guid isPermaLink="false">{slug}/{ep}</guid>'
                    f"<pubDate>{format_datetime(published)}</pubDate>"
                    f'<enclosure url="{base}/{c}/{slug}/{ep}.mp3" length="1000000" type="audio/mpeg"/>'
                    f'<podcast:transcript url="{base}/{c}/{slug}/{ep}.vtt" type="text/vtt"/>'
                    "</item>"
                )
            title = show["title"] if c == 1 else f"{show['title']} ({c})"
            (folder / "feed.xml").write_text(
                '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
                'xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>'
                f"<title>{escape(title)}</title><description>{escape(show['description'])}</description>"
                f"{''.join(reversed(items))}</channel></rss>\n"
            )
            outlines.append(f'<outline type="rss" text={quoteattr(title)} xmlUrl="{base}/{c}/{slug}/feed.xml"/>')
        (site / str(c) / "feeds.opml").write_text(
            f'<?xml version="1.0"?>\n<opml version="2.0"><body>{"".join(outlines)}</body></opml>\n'
        )


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve(site: Path) -> http.server.ThreadingHTTPServer:
    """Serve the day on loopback, on the port a kept --work folder's homes subscribed to if there is one."""
    site.mkdir(parents=True, exist_ok=True)
    saved = site / "port"
    port = int(saved.read_text()) if saved.exists() else 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(QuietHandler, directory=str(site)))
    saved.write_text(str(server.server_address[1]))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# -- the homes --------------------------------------------------------------------------------


def new_home(home: Path, site: Path, copies: int = 1) -> None:
    """A home that follows `copies` sets of the day's shows, and nothing else."""
    shutil.rmtree(home, ignore_errors=True)
    for c in range(1, copies + 1):
        podsift(home, "subscribe", str(site / str(c) / "feeds.opml"))


def grow(home: Path, shows: dict[str, dict], day: date, options) -> None:
    """Add a year of history before `day` to a home's store: episodes with transcripts, insights,
    and a sent five-item digest each day."""
    rng = random.Random(6)
    sentences = [t["text"] for show in shows.values() for s in show["scripts"].values() for t in s["turns"]]
    settings = load_settings(home, {})
    started = time.perf_counter()
    with Store.open(settings.db_path) as store:
        me = store.people.local()
        show_ids = [s.id for s in store.shows.followed(me)]
        per_episode = options.insights // options.episodes
        by_day: dict[date, list[int]] = {}
        for n in range(options.episodes):
            published = datetime.combine(day, datetime.min.time(), timezone.utc) - timedelta(
                days=365 * (n + 1) / options.episodes
            )
            episode_id = history_episode(store, rng.choice(show_ids), n, published, sentences, rng, options.minutes)
            store.insights.save(episode_id, history_insights(sentences, rng, per_episode))
            by_day.setdefault(published.date(), []).append(episode_id)
            if n % 1000 == 999:
                print(f"  history: {n + 1} episodes, {time.perf_counter() - started:.0f} s", flush=True)
        for past, episode_ids in sorted(by_day.items()):
            sent = store.insights.matching(episode_ids=episode_ids)[:5]
            store.digests.save(me, past.isoformat(), [(i.id, []) for i in sent])
            delivery = store.outbox.queue(me, past.isoformat(), "email", None, f"<{past}@bench>")
            store.outbox.sent(delivery.id)
    size = settings.db_path.stat().st_size / 1e6
    print(f"  history built in {time.perf_counter() - started:.0f} s; the store is {size:.0f} MB")


def history_episode(store: Store, show_id: int, n: int, published: datetime, sentences, rng, minutes: float) -> int:
    """One earlier episode, transcribed: sentences drawn from the corpus until `minutes` are filled."""
    item = FeedItem(
        guid=f"history-{n}",
        title=f"Earlier episode {n}",
        audio_url=f"http://127.0.0.1/old/{n}.mp3",
        published=published,
        duration=minutes * 60,
    )
    episode_id = store.episodes.add(show_id, item, "transcribed")
    segments, t = [], 0.0
    while t < minutes * 60:
        text = rng.choice(sentences)
        length = len(text.split()) / WORDS_PER_SECOND
        segments.append(Segment(t, t + length, text))
        t += length + 0.35
    store.transcripts.save(episode_id, Transcript(segments, source="whisper", format="whisper"))
    return episode_id


def history_insights(sentences: list[str], rng: random.Random, count: int) -> list[Insight]:
    vectors = np.random.default_rng(rng.randrange(1 << 30)).standard_normal((count, DIMENSIONS)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    insights = []
    for rank, vector in enumerate(vectors, 1):
        text = rng.choice(sentences)
        start = rng.uniform(0, 2000)
        insights.append(Insight(text, text, start, start + 20, rng.uniform(0.5, 2), {"topic": rank}, vector, rank))
    return insights


# -- the runs ---------------------------------------------------------------------------------


def podsift(home: Path, *args: str) -> dict:
    """Run the podsift command in `home`; its wall time, peak memory and output."""
    env = {**os.environ, "PODSIFT_HOME": str(home), "PODSIFT_ALLOW_PRIVATE_NETWORKS": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "podsift", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if status:
        raise SystemExit(f"podsift {' '.join(args)} failed in {home}:\n{output}")
    cpu = usage.ru_utime + usage.ru_stime
    return {"seconds": seconds, "cpu_s": cpu, "peak_mb": usage.ru_maxrss / 1024, "output": output}


def day_run(home: Path, day: date) -> dict:
    """The day as a user runs it: scan, then digest; what each cost and what the digest holds."""
    scan = podsift(home, "scan", "--since", day.isoformat(), "--quiet")
    digest = podsift(home, "digest", "--date", day.isoformat())
    with Store.open(home / "podsift.db") as store:
        stored = store.digests.get(store.people.local(), day.isoformat())
        texts = [insight.text for insight, _ in stored[1]] if stored else []
        extracted = store.episodes.counts().get("extracted", 0)
    return {
        "scan_s": scan["seconds"],
        "scan_cpu_s": scan["cpu_s"],
        "scan_peak_mb": scan["peak_mb"],
        "digest_s": digest["seconds"],
        "digest_cpu_s": digest["cpu_s"],
        "digest_peak_mb": digest["peak_mb"],
        "digest": texts,
        "extracted": extracted,
    }


def compare(work: Path, shows: dict, day: date, options) -> list[dict]:
    """Rounds of the day on a fresh copy of each home, alternating which goes first."""
    templates = {"empty": work / "empty", "grown": work / "grown"}
    day_episodes = sum(len(s["episodes"]) for s in shows.values())
    if not (templates["grown"] / "podsift.db").exists():
        print(f"building the grown store: {options.episodes} episodes, {options.insights} insights")
        new_home(templates["grown"], work / "site")
        grow(templates["grown"], shows, day, options)
    new_home(templates["empty"], work / "site")
    for template in templates.values():  # a kept --work home may predate a migration: none runs while timed
        Store.open(load_settings(template, {}).db_path).close()
    rounds = []
    for n in range(options.rounds):
        row: dict = {"round": n + 1}
        for name in ("empty", "grown") if n % 2 == 0 else ("grown", "empty"):
            home = work / f"run-{name}"
            shutil.rmtree(home, ignore_errors=True)
            shutil.copytree(templates[name], home)
            os.sync()  # else the first checkpoint's fsync writes out the whole fresh copy, timed
            row[name] = day_run(home, day)
            history = options.episodes if name == "grown" else 0
            assert row[name]["extracted"] == history + day_episodes, f"{name}: not every episode was extracted"
            shutil.rmtree(home)
        assert row["empty"]["digest"] == row["grown"]["digest"], "the two stores built different digests"
        assert row["empty"]["digest"], "the day's digest is empty"
        print(
            f"round {n + 1}: scan {row['empty']['scan_s']:.1f} s empty, {row['grown']['scan_s']:.1f} s grown; "
            f"digest {row['empty']['digest_s']:.1f} s empty, {row['grown']['digest_s']:.1f} s grown",
            flush=True,
        )
        rounds.append(row)
    return rounds


def memory(work: Path, day: date, copies: list[int]) -> list[dict]:
    """Peak memory of scanning the day in 1, 5, ... sets of shows on an empty home."""
    rows = []
    for count in copies:
        home = work / f"memory-{count}"
        new_home(home, work / "site", count)
        run = day_run(home, day)
        rows.append(
            {"copies": count, "episodes": run["extracted"], "scan_s": run["scan_s"], "peak_mb": run["scan_peak_mb"]}
        )
        print(f"{run['extracted']} episodes: scan {run['scan_s']:.0f} s, peak {run['scan_peak_mb']:.0f} MB", flush=True)
        shutil.rmtree(home)
    return rows


def report(figures: dict) -> None:
    rounds = figures["rounds"]

    def total(name: str, key: str) -> float:
        return sum(r[name][key] for r in rounds)

    ratios = {
        key: total("grown", key) / total("empty", key) for key in ("scan_s", "scan_cpu_s", "digest_s", "digest_cpu_s")
    }
    print(
        f"\nday {figures['day']}, {len(rounds)} rounds, grown/empty: scan {ratios['scan_s']:.2f} "
        f"(CPU {ratios['scan_cpu_s']:.2f}), digest {ratios['digest_s']:.2f} (CPU {ratios['digest_cpu_s']:.2f})"
        f"\nscan peak memory: {max(r['grown']['scan_peak_mb'] for r in rounds):.0f} MB grown, "
        f"{max(r['empty']['scan_peak_mb'] for r in rounds):.0f} MB empty; by episodes scanned: "
        + ", ".join(f"{m['episodes']}: {m['peak_mb']:.0f} MB" for m in figures["memory"])
    )
    figures["summary"] = ratios


if __name__ == "__main__":
    main()
