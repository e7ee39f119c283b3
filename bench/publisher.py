"""An episode with a publisher's transcript, taken both ways side by side.

    python bench/publisher.py FEEDS_DIR [--show the-commit-log] [--json out.json]

FEEDS_DIR is the corpus as bench/ingest.sh builds it (one feed, `the-commit-log`, links a WebVTT
transcript for each episode). It is served on loopback and subscribed in a throwaway home; then, for
every episode that links a transcript, podsift's two paths run one after the other, alternating
which goes first: the publisher path (fetch the transcript, parse it, cut it into sentences:
`fetch_transcript`) and the speech-to-text path (download the audio, transcribe it with the default
settings). The model is loaded before timing starts.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import tempfile
import threading
import time
from pathlib import Path

from podsift.ingest.fetch import download_audio, fetch_transcript
from podsift.net import Fetcher
from podsift.pipeline import Context, poll_feeds
from podsift.settings import load_settings
from podsift.store import Store
from podsift.transcribe.whisper import WhisperTranscriber


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("feeds", type=Path)
    parser.add_argument("--show", default="the-commit-log")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    options = parser.parse_args()

    handler = functools.partial(QuietHandler, directory=str(options.feeds))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # The corpus's feed names its files under the port bench/ingest.sh serves on; rewrite to ours.
    feed = (options.feeds / options.show / "feed.xml").read_text()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    (options.feeds / options.show / "bench-feed.xml").write_text(feed.replace("http://127.0.0.1:8765", base))

    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(Path(home), {"PODSIFT_ALLOW_PRIVATE_NETWORKS": "1"})
        rows = measure(settings, f"{base}/{options.show}/bench-feed.xml")
    server.shutdown()
    (options.feeds / options.show / "bench-feed.xml").unlink()

    publisher, speech = sum(r["publisher_s"] for r in rows), sum(r["speech_s"] for r in rows)
    summary = {"episodes": len(rows), "publisher_s": publisher, "speech_s": speech, "speedup": speech / publisher}
    print(
        f"\n{len(rows)} episodes: publisher path {publisher:.3f} s, speech-to-text path {speech:.1f} s: "
        f"the publisher's transcript is {summary['speedup']:.0f}x faster"
    )
    if options.json:
        options.json.write_text(json.dumps({"episodes": rows, "summary": summary}, indent=2))


def measure(settings, feed_url: str) -> list[dict]:
    """Both paths for every episode of the feed that links a transcript."""
    transcriber = WhisperTranscriber(settings.transcribe)
    transcriber._load()  # loading the model is not part of either path
    rows = []
    with Store.open(settings.db_path) as store, Fetcher(settings) as fetcher:
        store.shows.subscribe(store.people.local(), feed_url)
        poll_feeds(Context(settings, store, fetcher, transcriber), since=None)
        for n, episode in enumerate(e for e in store.episodes.matching() if e.transcript_links):
            paths = {
                "publisher": lambda e=episode: fetch_transcript(fetcher, e, settings),
                "speech": lambda e=episode: transcriber.transcribe(download_audio(fetcher, e, settings)),
            }
            times = {}
            for name in ("publisher", "speech") if n % 2 == 0 else ("speech", "publisher"):
                started = time.perf_counter()
                transcript = paths[name]()
                times[name] = time.perf_counter() - started
                assert transcript and transcript.segments, f"{name} path gave no transcript"
            rows.append({"episode": episode.title, **{f"{k}_s": v for k, v in times.items()}})
            print(f"{episode.title[:40]:40} publisher {times['publisher']:.3f} s, speech {times['speech']:.1f} s")
    return rows


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


if __name__ == "__main__":
    main()
