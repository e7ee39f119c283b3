"""Feed polling: podsift against a plain loop of `feedparser.parse(url)`, side by side.

    python bench/poll.py [--feeds 1000] [--changed 0.1] [--hosts 10] [--rounds 2] [--json out.json]

The real-world feeds in ../shared/data/feeds (16 of them, 30 KB to 1 MB) are served over and over
as FEEDS feeds, spread over HOSTS loopback addresses (127.0.0.1, 127.0.0.2, ...), each with its own
ETag and Last-Modified. podsift subscribes to all of them in a throwaway home and polls once, which
stores their episodes and validators; that first poll is not timed.

Each round, a CHANGED share of the feeds publishes a new episode (new validators, one more item);
the rest answer a conditional GET with 304. Then, in an order that alternates by round:
  - podsift: `poll_feeds`, exactly what `podsift scan` runs first (conditional GETs in parallel,
    parse what changed, store new episodes), with the default settings;
  - the baseline: `for url in urls: feedparser.parse(url)`, as a user would write it.
The baseline keeps nothing, so it fetches and parses every feed every time; podsift also writes
to its store. The server counts requests per host at once, so politeness is measured, not assumed.
"""

from __future__ import annotations

import argparse
import http.server
import json
import tempfile
import threading
import time
from collections import Counter
from email.utils import formatdate
from pathlib import Path

import feedparser

from podsift.net import Fetcher
from podsift.parsers.feed import parse_feed
from podsift.pipeline import Context, poll_feeds
from podsift.settings import load_settings
from podsift.store import Store
from podsift.transcribe.whisper import WhisperTranscriber

SHARED_FEEDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "feeds"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--changed", type=float, default=0.1, help="share of feeds with a new episode each round")
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--corpus", type=Path, default=SHARED_FEEDS, help="folder of real feeds to serve")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    options = parser.parse_args()

    bodies = real_feeds(options.corpus)
    server = FeedServer(bodies, options.feeds, options.hosts)
    print(f"{options.feeds} feeds ({len(bodies)} real feeds repeated) on {options.hosts} loopback hosts")
    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(Path(home), {"PODSIFT_ALLOW_PRIVATE_NETWORKS": "1"})
        rows = measure(settings, server, options)
    server.close()

    podsift = sum(r["podsift_s"] for r in rows)
    baseline = sum(r["feedparser_s"] for r in rows)
    summary = {
        "feeds": options.feeds,
        "changed": options.changed,
        "hosts": options.hosts,
        "rounds": len(rows),
        "podsift_s": podsift,
        "feedparser_s": baseline,
        "speedup": baseline / podsift,
        "max_per_host_podsift": max(r["max_per_host_podsift"] for r in rows),
        "per_host_setting": settings.scan.per_host,
    }
    print(
        f"\npodsift {podsift:.1f} s, feedparser loop {baseline:.1f} s: podsift is {summary['speedup']:.1f}x faster; "
        f"at most {summary['max_per_host_podsift']} of its requests at once to one host "
        f"([scan] per_host = {settings.scan.per_host})"
    )
    if options.json:
        options.json.write_text(json.dumps({"rounds": rows, "summary": summary}, indent=2))


def measure(settings, server: FeedServer, options) -> list[dict]:
    """One untimed first poll, then each round's two pollers, checked for what they found."""
    urls = server.urls()
    with Store.open(settings.db_path) as store:
        recipient = store.people.local()
        for url in urls:
            store.shows.subscribe(recipient, url)
        started = time.perf_counter()
        first = podsift_poll(settings, store)
        print(f"first poll (untimed): {len(first)} feeds, {time.perf_counter() - started:.1f} s")
        rows = []
        for n in range(options.rounds):
            changed = server.publish(options.changed, n)
            runs = {"podsift": lambda: podsift_poll(settings, store), "feedparser": lambda: feedparser_loop(urls)}
            row: dict = {"round": n + 1, "changed": len(changed)}
            for name in ("podsift", "feedparser") if n % 2 == 0 else ("feedparser", "podsift"):
                server.reset_counts()
                started = time.perf_counter()
                found = runs[name]()
                row[f"{name}_s"] = time.perf_counter() - started
                row[f"max_per_host_{name}"] = server.max_at_once
                row[f"statuses_{name}"] = dict(server.statuses)
                check(name, found, changed, len(urls))
            rows.append(row)
            print(
                f"round {n + 1}: {len(changed)} changed; podsift {row['podsift_s']:.2f} s "
                f"({row['statuses_podsift']}), feedparser {row['feedparser_s']:.1f} s"
            )
    return rows


def podsift_poll(settings, store: Store) -> list:
    """What `podsift scan` does first, with a fresh client as each scan has."""
    with Fetcher(settings) as fetcher:
        return poll_feeds(Context(settings, store, fetcher, WhisperTranscriber(settings.transcribe)), since=None)


def feedparser_loop(urls: list[str]) -> list:
    """The baseline: what a user without podsift writes."""
    return [feedparser.parse(url) for url in urls]


def check(name: str, found: list, changed: set[int], feeds: int) -> None:
    """Both pollers must have read every feed; podsift must have found exactly the new episodes."""
    assert len(found) == feeds, f"{name} read {len(found)} of {feeds} feeds"
    if name == "podsift":
        outcomes = Counter(r.outcome for r in found)
        failed = [f"{r.show.feed_url}: {r.message}" for r in found if r.outcome == "failed"]
        assert not failed, f"podsift failed to read {failed}"
        assert outcomes == {"updated": len(changed), "unchanged": feeds - len(changed)}, outcomes
        assert sum(r.new_episodes for r in found) == len(changed), "podsift missed a new episode"
    else:
        assert all(parsed.entries for parsed in found), "feedparser read a feed with no entries"


def real_feeds(folder: Path) -> list[bytes]:
    """The corpus's real-world RSS feeds of 20 KB and more with episodes, except those that say they
    moved (itunes:new-feed-url): podsift would follow them off loopback."""
    bodies = []
    for path in sorted(folder.rglob("*.xml")):
        data = path.read_bytes()
        if len(data) < 20_000 or b"<item" not in data:
            continue
        feed = parse_feed(data, "http://127.0.0.1/").feed
        if feed.items and not feed.new_url:
            bodies.append(data)
    if not bodies:
        raise SystemExit(f"no feeds under {folder}; pass --corpus")
    return bodies


class FeedServer:
    """Serves feed N at http://127.0.0.{N % hosts + 1}:PORT/feed/N.xml, honouring If-None-Match and
    If-Modified-Since, and counting the requests each host is answering at once."""

    def __init__(self, bodies: list[bytes], feeds: int, hosts: int):
        self.bodies = [bodies[n % len(bodies)] for n in range(feeds)]
        self.versions = [1] * feeds
        self.hosts = hosts
        self.lock = threading.Lock()
        self.reset_counts()
        handler = self._handler()
        self.servers = [http.server.ThreadingHTTPServer((f"127.0.0.{h + 1}", 0), handler) for h in range(hosts)]
        for s in self.servers:
            threading.Thread(target=s.serve_forever, daemon=True).start()

    def urls(self) -> list[str]:
        return [self.url(n) for n in range(len(self.bodies))]

    def url(self, n: int) -> str:
        host, port = self.servers[n % self.hosts].server_address[:2]
        return f"http://{host}:{port}/feed/{n}.xml"

    def publish(self, share: float, round_: int) -> set[int]:
        """A new episode in every 1/share-th feed (a different set each round); returns their numbers."""
        step = max(1, round(1 / share)) if share else len(self.bodies) + 1
        changed = set(range(round_ % step, len(self.bodies), step))
        for n in changed:
            self.versions[n] += 1
        return changed

    def reset_counts(self) -> None:
        self.at_once: Counter = Counter()
        self.max_at_once = 0
        self.statuses: Counter = Counter()

    def close(self) -> None:
        for s in self.servers:
            s.shutdown()

    def body(self, n: int) -> bytes:
        """Feed n as version v: its real body with one new item per version after the first."""
        data, version = self.bodies[n], self.versions[n]
        new = b"".join(
            b"<item><title>New episode %d.%d</title><guid>bench-%d-%d</guid><pubDate>%s</pubDate>"
            b'<enclosure url="http://127.0.0.1/audio/%d-%d.mp3" type="audio/mpeg" length="1000"/></item>'
            % (n, v, n, v, formatdate(usegmt=True).encode(), n, v)
            for v in range(2, version + 1)
        )
        at = data.index(b"<item")
        return data[:at] + new + data[at:]

    def _handler(self):
        bench = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as feed hosts allow

            def do_GET(self) -> None:
                host = self.server.server_address[0]
                with bench.lock:
                    bench.at_once[host] += 1
                    bench.max_at_once = max(bench.max_at_once, bench.at_once[host])
                try:
                    self._answer()
                finally:
                    with bench.lock:
                        bench.at_once[host] -= 1

            def _answer(self) -> None:
                n = int(self.path.rsplit("/", 1)[1].split(".")[0])
                etag = f'"{n}-v{bench.versions[n]}"'
                modified = formatdate(1_700_000_000 + bench.versions[n] * 86400, usegmt=True)
                fresh = self.headers.get("If-None-Match") == etag
                status = 304 if fresh else 200
                with bench.lock:
                    bench.statuses[status] += 1
                body = b"" if fresh else bench.body(n)
                self.send_response(status)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", modified)
                if not fresh:
                    self.send_header("Content-Type", "application/rss+xml")
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        return Handler


if __name__ == "__main__":
    main()
