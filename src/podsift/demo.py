"""`podsift demo`: the bundled two-episode podcast, served on 127.0.0.1, scanned end to end.

The audio was spoken by espeak-ng (`scripts/make_demo.py`); one episode ships a WebVTT
transcript as a Podcasting 2.0 publisher would, the other is transcribed on this machine.
"""

from __future__ import annotations

import dataclasses
import email.utils
import json
import shutil
import tempfile
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from xml.sax.saxutils import escape

from rich.console import Console

from .cli import _store, print_report, run_scan
from .deliver.rank import digest_for
from .deliver.render import digest_text, transcript_text
from .insights.embed import MiniLM
from .settings import load_settings, zone

TITLE = "Pocket Science (podsift demo)"


def demo_feed(base: str, episodes: list[dict], now: datetime) -> str:
    """The demo's RSS, its episodes published in the last few hours so a first scan takes them."""
    items = []
    for n, ep in enumerate(reversed(episodes)):
        published = email.utils.format_datetime(now - timedelta(hours=2 + 3 * n))
        transcript = (
            f'<podcast:transcript url="{base}/{ep["slug"]}.vtt" type="text/vtt" language="en"/>' if ep["vtt"] else ""
        )
        items.append(
            f'<item><title>{escape(ep["title"])}</title><guid isPermaLink="false">demo/{ep["slug"]}</guid>'
            f"<pubDate>{published}</pubDate><itunes:duration>{round(ep['duration'])}</itunes:duration>"
            f'<enclosure url="{base}/{ep["slug"]}.mp3" type="audio/mpeg"/>{transcript}</item>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
        'xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>'
        f"<title>{escape(TITLE)}</title><link>{base}/</link>"
        "<description>Two short episodes that come with podsift.</description>" + "".join(items) + "</channel></rss>\n"
    )


@contextmanager
def serve_demo(folder: Path):
    """Serve the demo podcast from `folder` on a free loopback port; yields the feed URL."""
    bundle = resources.files("podsift") / "demo"
    episodes = json.loads((bundle / "episodes.json").read_text())
    for ep in episodes:
        for suffix in (".mp3", ".vtt") if ep["vtt"] else (".mp3",):
            (folder / f"{ep['slug']}{suffix}").write_bytes((bundle / f"{ep['slug']}{suffix}").read_bytes())
    handler = partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    (folder / "feed.xml").write_text(demo_feed(base, episodes, datetime.now(timezone.utc)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{base}/feed.xml"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # the demo's own output is what the user should see
        pass


def run_demo(home: Path | None, out: Console, err: Console) -> None:
    """Subscribe to the demo feed in `home` (a temporary folder when None), scan, print transcripts and digest."""
    temporary = home is None
    home = Path(tempfile.mkdtemp(prefix="podsift-demo-")) if temporary else home
    try:
        settings = dataclasses.replace(load_settings(home), allow_private_networks=True)  # loopback only
        with tempfile.TemporaryDirectory() as served, serve_demo(Path(served)) as feed_url:
            err.print(f"Serving the demo podcast at {feed_url}")
            with _store(settings) as store:
                store.shows.subscribe(store.people.local(), feed_url, TITLE)
            report = run_scan(settings, since=None)
        print_report(report)
        with _store(settings) as store:
            episodes = store.episodes.matching(states=("extracted",))
            for episode in episodes:
                transcript = store.transcripts.get(episode.id)
                source = "publisher's transcript" if transcript.source == "publisher" else "transcribed here"
                out.rule(f"{episode.title} ({source})")
                out.print(transcript_text(transcript), markup=False)
            local = zone(settings.timezone)
            for day in sorted({e.published_at.astimezone(local).date() for e in episodes if e.published_at}):
                digest = digest_for(store, settings, store.people.local(), day, MiniLM())
                note = " (provisional: the day is not over)" if digest.provisional else ""
                out.rule(f"The digest for {day}{note}")
                out.print(digest_text(day.isoformat(), digest.items), markup=False)
    finally:
        if temporary:
            shutil.rmtree(home, ignore_errors=True)
