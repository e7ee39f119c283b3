#!/usr/bin/env python3
"""Scale: the same work on the SQLite default and on Postgres with 1, 2 and 4 workers, side by side.

    python bench/scale.py [--feeds 500] [--per-feed 10] [--minutes 5] [--workers 1,2,4] [--json out.json]

FEEDS feeds of PER_FEED episodes each are served on loopback, every episode with a WebVTT
transcript of its own: the first MINUTES of one of the real-dev corpus's published transcripts
(../shared/bench/corpus/real-dev), in turn. Publisher transcripts leave speech-to-text out, so
what is measured is what the store and the queue add to polling, fetching and extraction.

Each run starts from an empty store, follows every feed (`podsift subscribe feeds.opml`) and
times `podsift scan` until every episode is extracted:
  - sqlite: the default, threads in one process;
  - postgres xN: N `podsift worker` processes on a throwaway Postgres cluster (Debian's initdb
    and pg_ctl, as the tests use), `podsift scan` queueing and waiting.
Reported: episodes per minute, the ratio to SQLite, and the queue's overhead per task: the
workers' time not spent inside a job (N x wall - the jobs' own run time, from Procrastinate's
events), per job.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from growth import serve  # noqa: E402  bench/growth.py: a static site on loopback
from pgcluster import PgCluster  # noqa: E402  tests/pgcluster.py

from podsift.settings import load_settings  # noqa: E402
from podsift.store import Store, open_store  # noqa: E402

CORPUS = HERE.parent.parent / "shared" / "bench" / "corpus" / "real-dev"
SETTINGS = "[scan]\nfirst_scan_days = 3650\nfirst_scan_max = 100000\n"  # a new feed's whole list is the day's work


def build_site(site: Path, base: str, feeds: int, per_feed: int, minutes: float) -> Path:
    """The feeds and their transcripts; returns the OPML file that lists the feeds."""
    sources = [cut(p.read_text(), minutes) for p in sorted(CORPUS.glob("*/*.vtt"))]
    published, outlines = datetime.now(timezone.utc) - timedelta(hours=2), []
    for f in range(feeds):
        items = []
        for e in range(per_feed):
            (site / f"f{f}e{e}.vtt").write_text(sources[(f * per_feed + e) % len(sources)])
            when = format_datetime(published - timedelta(minutes=e))
            items.append(
                f"<item><title>Episode {f}.{e}</title><guid>f{f}-e{e}</guid><pubDate>{when}</pubDate>"
                f'<enclosure url="{base}/f{f}e{e}.mp3" type="audio/mpeg"/>'
                f'<podcast:transcript url="{base}/f{f}e{e}.vtt" type="text/vtt"/></item>'
            )
        (site / f"f{f}.xml").write_text(
            '<?xml version="1.0"?><rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">'
            f"<channel><title>{escape(f'Show {f}')}</title>{''.join(items)}</channel></rss>"
        )
        outlines.append(f'<outline type="rss" text={quoteattr(f"Show {f}")} xmlUrl="{base}/f{f}.xml"/>')
    opml = site / "feeds.opml"
    opml.write_text(f'<?xml version="1.0"?><opml version="2.0"><body>{"".join(outlines)}</body></opml>')
    return opml


def cut(vtt: str, minutes: float) -> str:
    """A WebVTT transcript's cues that start in its first `minutes`."""
    header, *cues = vtt.split("\n\n")
    kept = [c for c in cues if "-->" in c and start_of(c) < minutes * 60]
    return "\n\n".join([header, *kept]) + "\n"


def start_of(cue: str) -> float:
    stamp = next(line for line in cue.splitlines() if "-->" in line).split("-->")[0].strip()
    parts = [float(p) for p in stamp.replace(",", ".").split(":")]
    return sum(p * 60**i for i, p in enumerate(reversed(parts)))


def podsift(env: dict, *args: str, background: bool = False, prefix: list[str] | None = None):
    command = [*(prefix or []), sys.executable, "-m", "podsift", *args]
    if background:
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True)


def run(opml: Path, database_url: str = "", workers: int = 0, pins: list[str] | None = None) -> dict:
    """One empty store, every feed followed, one timed scan; what it did and what it cost. With
    `pins`, worker i runs on CPU core pins[i] alone (`taskset`), as if each had a machine of one core."""
    home = Path(tempfile.mkdtemp(prefix="podsift-scale-"))
    (home / "podsift.toml").write_text(SETTINGS)
    env = {**os.environ, "PODSIFT_HOME": str(home), "PODSIFT_ALLOW_PRIVATE_NETWORKS": "1"}
    if database_url:
        env["PODSIFT_DATABASE_URL"] = database_url
    podsift(env, "subscribe", str(opml))
    prefixes = [["taskset", "-c", pins[n]] if pins else [] for n in range(workers)]
    started = [podsift(env, "worker", "--heartbeat", "2", background=True, prefix=p) for p in prefixes]
    try:
        time.sleep(2 if workers else 0)  # workers register; their models load at their first job, inside the timing
        began = time.perf_counter()
        podsift(env, "scan", "--quiet")
        wall = time.perf_counter() - began
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(timeout=60)
    settings = load_settings(home, env)
    with open_store(settings) as store:
        extracted = store.episodes.counts().get("extracted", 0)
        audio = store.db.value("SELECT coalesce(sum(audio_seconds), 0) FROM transcripts WHERE source = 'whisper'")
        jobs, busy = job_time(store) if database_url else (0, 0.0)
    shutil.rmtree(home, ignore_errors=True)
    overhead = (workers * wall - busy) / jobs if jobs else None
    return {
        "wall_s": wall,
        "extracted": extracted,
        "per_minute": extracted / wall * 60,
        "audio_s": float(audio),
        "audio_per_minute": float(audio) / wall,
        "jobs": jobs,
        "overhead_s": overhead,
    }


def table(header: list[str], rows: list[tuple]) -> None:
    """Print a Markdown table, as docs/performance.md quotes it."""
    for cells in [header, ["---"] * len(header), *rows]:
        print("| " + " | ".join(str(c) for c in cells) + " |")


def job_time(store: Store) -> tuple[int, float]:
    """(podsift jobs run, seconds they spent running), from Procrastinate's events."""
    row = store.db.one(
        "SELECT count(*), coalesce(sum(extract(epoch FROM e.at - s.at)), 0) FROM procrastinate_events s "
        "JOIN procrastinate_events e ON e.job_id = s.job_id AND e.type IN ('succeeded', 'failed') "
        "JOIN procrastinate_jobs j ON j.id = s.job_id WHERE s.type = 'started' "
        "AND j.task_name NOT IN ('podsift.recover', 'podsift.prune')"
    )
    return int(row[0]), float(row[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--per-feed", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=5.0, help="each transcript's length")
    parser.add_argument("--workers", default="1,2,4", help="worker processes on Postgres, comma-separated")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    site = Path(tempfile.mkdtemp(prefix="podsift-scale-site-"))
    server = serve(site)
    opml = build_site(site, f"http://127.0.0.1:{server.server_address[1]}", args.feeds, args.per_feed, args.minutes)
    episodes = args.feeds * args.per_feed
    cluster = PgCluster()
    try:
        results = {"sqlite": run(opml)}
        for n in (int(w) for w in args.workers.split(",")):
            results[f"postgres x{n}"] = run(opml, cluster.database(f"scale_{n}"), n)
    finally:
        cluster.close()
        server.shutdown()
        shutil.rmtree(site, ignore_errors=True)
    base = results["sqlite"]["per_minute"]
    print(f"{episodes} episodes in {args.feeds} feeds, {args.minutes:g}-minute transcripts, {os.cpu_count()} cores")
    rows = [
        (
            name,
            r["extracted"],
            f"{r['wall_s']:.1f}",
            f"{r['per_minute']:.0f}",
            f"{r['per_minute'] / base:.2f}",
            f"{r['overhead_s'] * 1000:.0f} ms ({r['jobs']} jobs)" if r["overhead_s"] is not None else "-",
        )
        for name, r in results.items()
    ]
    table(["store", "extracted", "wall s", "episodes per minute", "ratio to SQLite", "queue overhead per task"], rows)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
