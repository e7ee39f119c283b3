#!/usr/bin/env python3
"""Speech-to-text on the queue: does throughput add up as worker processes (cores) are added?

    python bench/stt_workers.py FEEDS_DIR [--limit 8] [--json out.json]

FEEDS_DIR holds the dev corpus's spoken episodes (`<show>/<episode>.mp3`, as bench/run.sh and
bench/ingest.sh build them). The first LIMIT of them are served on loopback in one feed with no
transcripts, so every episode is downloaded and transcribed on a worker. Each run starts from an
empty Postgres database (a throwaway cluster, as the tests use) and times `podsift scan`, which
queues and waits:
  - 1 worker on 1 core: `taskset -c 0 podsift worker` (podsift sizes its decoders to the cores it
    may use: one single-threaded decoder, one embedding thread);
  - 2 workers, a core each: the same on core 0 and on core 1, two processes as on two machines;
  - 1 worker on 2 cores: the default, one process with a decoder per core;
  - sqlite: the embedded default, threads in one process, for reference.
Reported: audio minutes transcribed per wall minute, and the ratio to one worker on one core. Two
workers at close to 2.0 means that throughput adds up per core, so N machines give N times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from growth import serve  # noqa: E402  bench/growth.py: a static site on loopback
from pgcluster import PgCluster  # noqa: E402  tests/pgcluster.py
from scale import run, table  # noqa: E402  bench/scale.py: one timed scan on a fresh store, a table


def build_site(site: Path, base: str, feeds_dir: Path, limit: int) -> Path:
    """One feed of the first `limit` episodes' audio, no transcripts; returns its OPML."""
    audio = sorted(feeds_dir.glob("*/*.mp3"))[:limit]
    if len(audio) < limit:
        raise SystemExit(f"{feeds_dir} holds {len(audio)} episodes' audio; build it with bench/ingest.sh")
    items = []
    for n, path in enumerate(audio):
        shutil.copy(path, site / f"e{n}.mp3")
        items.append(
            f"<item><title>{escape(path.stem)}</title><guid>e{n}</guid>"
            f"<pubDate>Tue, 01 Dec 2026 0{n % 10}:00:00 GMT</pubDate>"
            f'<enclosure url="{base}/e{n}.mp3" length="{path.stat().st_size}" type="audio/mpeg"/></item>'
        )
    (site / "feed.xml").write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Audio</title>{"".join(items)}</channel></rss>'
    )
    opml = site / "feeds.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body>'
        f'<outline type="rss" text="Audio" xmlUrl="{base}/feed.xml"/></body></opml>'
    )
    return opml


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("feeds", type=Path, help="the dev corpus's built feeds (bench/ingest.sh)")
    parser.add_argument("--limit", type=int, default=8, help="episodes to transcribe in each run")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("this benchmark pins workers to cores 0 and 1: it needs two cores")
    site = Path(tempfile.mkdtemp(prefix="podsift-stt-site-"))
    server = serve(site)
    opml = build_site(site, f"http://127.0.0.1:{server.server_address[1]}", args.feeds, args.limit)
    cluster = PgCluster()
    runs = {
        "1 worker, 1 core": {"workers": 1, "pins": ["0"]},
        "2 workers, a core each": {"workers": 2, "pins": ["0", "1"]},
        "1 worker, 2 cores": {"workers": 1, "pins": None},
    }
    try:
        results = {}
        for n, (name, how) in enumerate(runs.items()):
            results[name] = run(opml, cluster.database(f"stt_{n}"), how["workers"], pins=how["pins"])
            print(f"{name}: {results[name]['audio_per_minute']:.1f} audio minutes per minute", flush=True)
        results["sqlite, threads"] = run(opml)
    finally:
        cluster.close()
        server.shutdown()
        shutil.rmtree(site, ignore_errors=True)
    base = results["1 worker, 1 core"]["audio_per_minute"]
    audio = results["sqlite, threads"]["audio_s"] / 60
    print(f"{args.limit} episodes, {audio:.1f} minutes of audio, bundled tiny.en, default settings")
    rows = [
        (
            name,
            r["extracted"],
            f"{r['wall_s']:.0f}",
            f"{r['audio_per_minute']:.1f}",
            f"{r['audio_per_minute'] / base:.2f}",
        )
        for name, r in results.items()
    ]
    table(["run", "episodes", "wall s", "audio minutes per minute", "ratio to 1 worker on 1 core"], rows)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
