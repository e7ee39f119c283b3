"""Downloads under fault: interrupted and resumed, ranges ignored, files changed on the way,
integrity hashes, a disk running out of room, many requests to one host, bad certificates."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import http.server
import shutil
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_scan import publish, run_scan, states, subscribe

from podsift.errors import FetchError
from podsift.ingest.fetch import download_audio, no_room
from podsift.models import Episode
from podsift.net import Fetcher
from podsift.parsers.feed import parse_feed

DATA = Path(__file__).parent / "data" / "feeds"


@pytest.fixture
def dest(tmp_path) -> Path:
    """Where a test downloads to, in a folder of its own."""
    (tmp_path / "cache").mkdir()
    return tmp_path / "cache" / "a.mp3"


@pytest.fixture
def audio(server) -> bytes:
    """200 kB of bytes that differ everywhere, so a misplaced chunk shows."""
    body = hashlib.shake_256(b"podsift").digest(200_000)
    (server.root / "a.mp3").write_bytes(body)
    return body


def test_an_interrupted_download_resumes_where_it_stopped(settings, server, audio, dest):
    server.cut["/a.mp3"] = 70_000
    with Fetcher(settings) as fetcher:
        with pytest.raises(FetchError, match="ended|incomplete|closed"):
            fetcher.download(f"{server.url}/a.mp3", dest, 10_000_000)
        assert not dest.exists() and dest.with_name("a.mp3.part").stat().st_size == 70_000
        fetcher.download(f"{server.url}/a.mp3", dest, 10_000_000)
    assert dest.read_bytes() == audio
    etag = '"' + hashlib.sha1(audio).hexdigest() + '"'
    assert server.ranges[-1] == ("/a.mp3", "bytes=70000-", etag)  # only the rest, and only if unchanged
    assert list(dest.parent.iterdir()) == [dest]  # no .part or .part.tag left


def test_a_server_that_ignores_the_range_starts_the_file_over(settings, server, audio, dest):
    server.cut["/a.mp3"] = 70_000
    server.ignore_range.add("/a.mp3")
    with Fetcher(settings) as fetcher:
        with pytest.raises(FetchError):
            fetcher.download(f"{server.url}/a.mp3", dest, 10_000_000)
        fetcher.download(f"{server.url}/a.mp3", dest, 10_000_000)
    assert server.ranges[-1][1] == "bytes=70000-"  # it was asked...
    assert dest.read_bytes() == audio  # ...answered in full, and not appended to the first 70 kB


def test_a_file_changed_since_the_interruption_is_fetched_whole(settings, server, audio, dest):
    server.cut["/a.mp3"] = 70_000
    with Fetcher(settings) as fetcher:
        with pytest.raises(FetchError):
            fetcher.download(f"{server.url}/a.mp3", dest, 10_000_000)
        (server.root / "a.mp3").write_bytes(b"re-edited" + audio[:50_000])
        fetcher.download(f"{server.url}/a.mp3", dest, 10_000_000)
    assert dest.read_bytes() == b"re-edited" + audio[:50_000]  # If-Range did not match: a whole new file


def test_a_short_body_without_a_validator_fails_and_is_not_kept_for_resuming(settings, server, audio, dest):
    server.raw["/a.mp3"] = (audio, {"Content-Type": "audio/mpeg"})  # no ETag, no Last-Modified
    server.cut["/a.mp3"] = 1_000
    with Fetcher(settings) as fetcher, pytest.raises(FetchError):
        fetcher.download(f"{server.url}/a.mp3", dest, 10_000_000)
    assert not dest.exists() and not dest.with_name("a.mp3.part.tag").exists()
    with Fetcher(settings) as fetcher:
        fetcher.download(f"{server.url}/a.mp3", dest, 10_000_000)
    assert server.ranges[-1][1] == "" and dest.read_bytes() == audio


def _episode(url: str, integrity: str) -> Episode:
    return Episode(id=7, show_id=1, guid="g", title="t", audio_url=url, state="new", audio_integrity=integrity)


def _sri(algorithm: str, body: bytes) -> str:
    return f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, body).digest()).decode()


def test_audio_is_checked_against_the_feeds_integrity_hash(settings, server, audio):
    url = f"{server.url}/a.mp3"
    with Fetcher(settings) as fetcher:
        # Only the strongest algorithm listed counts: a wrong sha256 beside the right sha384 passes.
        good = f"sha256-AAAA {_sri('sha384', audio)}"
        assert download_audio(fetcher, _episode(url, good), settings).read_bytes() == audio
        bad = _sri("sha384", audio + b"!")
        with pytest.raises(FetchError, match=r"podcast:integrity.*verify_integrity = false"):
            download_audio(fetcher, _episode(url, bad), settings)
        assert not list(settings.audio_dir.iterdir())  # the damaged file is not kept
        lenient = dataclasses.replace(settings, fetch=dataclasses.replace(settings.fetch, verify_integrity=False))
        assert download_audio(fetcher, _episode(url, bad), lenient).exists()


def test_integrity_is_read_from_the_alternate_enclosure_of_the_same_file():
    feed = parse_feed((DATA / "partytime" / "real-world" / "themnshow.xml").read_bytes()).feed
    item = next(i for i in feed.items if i.audio_url.endswith("themnshow054-20240914-FINAL.mp3"))
    assert item.audio_integrity == "sha384-8uYM8wvgwX5fUJOX3TMwSMIuVxtgxEzfO39iMjBe/l+R7sr1KRn+h8zMpilupYDR"
    # The namespace's example gives a hash only for a video alternate, not for the audio podsift takes.
    example = parse_feed((DATA / "podcast-namespace" / "example.xml").read_bytes()).feed
    assert all(not i.audio_integrity for i in example.items)


def test_downloads_wait_when_the_disk_is_nearly_full(settings, server, clips, whisper):
    # A reserve larger than any disk stands in for a disk with no room left.
    tight = dataclasses.replace(settings, audio=dataclasses.replace(settings.audio, min_free_mb=10**12))
    subscribe(settings, publish(server, clips, count=1))
    report = run_scan(tight, whisper)
    assert (report.transcribed, report.deferred, report.failures) == (0, 1, [])
    assert [state for state, _ in states(settings).values()] == ["new"]  # waiting, not failed
    assert server.hits("/show0.mp3") == 0
    assert run_scan(settings, whisper).transcribed == 1  # room again: it goes through


def test_the_free_space_check_counts_the_samples_transcription_will_decode(settings):
    settings.audio_dir.mkdir(parents=True)
    free_mb = shutil.disk_usage(settings.audio_dir).free // 1_000_000
    # Room for a 1 MB download with 100 MB to spare, but not for three hours of decoded samples (346 MB).
    tight = dataclasses.replace(settings, audio=dataclasses.replace(settings.audio, min_free_mb=free_mb - 101))
    long, short = (
        Episode(1, 1, "g", "t", "https://x.example/a.mp3", "new", duration=seconds, audio_bytes=1_000_000)
        for seconds in (3 * 3600, 60)
    )
    assert "decoded for transcription" in no_room(tight, long)
    assert no_room(tight, short) == ""


def test_no_more_than_per_host_requests_run_at_once_against_one_host(settings, server):
    for i in range(8):
        (server.root / f"f{i}.xml").write_text("<rss/>")
        server.delay[f"/f{i}.xml"] = 0.3
    one_host = dataclasses.replace(settings, scan=dataclasses.replace(settings.scan, per_host=2))
    with Fetcher(one_host) as fetcher, ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: fetcher.get(f"{server.url}/f{i}.xml", 1000), range(8)))
    assert server.most_active == 2
    # Another host name for the same server has its own allowance.
    server.most_active = 0
    other = server.url.replace("127.0.0.1", "localhost")
    with Fetcher(one_host) as fetcher, ThreadPoolExecutor(8) as pool:
        urls = [f"{base}/f{i}.xml" for base in (server.url, other) for i in range(4)]
        list(pool.map(lambda url: fetcher.get(url, 1000), urls))
    assert server.most_active == 4


def test_a_bad_certificate_is_reported_as_a_tls_error(settings, certificate):
    cert, key = certificate  # self-signed, so no system trust store accepts it
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with Fetcher(settings) as fetcher, pytest.raises(FetchError) as caught:
            fetcher.get(f"https://127.0.0.1:{httpd.server_address[1]}/feed.xml", 1000)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert "TLS error" in str(caught.value) and "certificate" in str(caught.value)


def test_measuring_the_cache_while_downloads_finish_beside_it_never_fails(settings):
    """A download that completes removes its .part.tag while the scan measures the cache for the
    next one (a real `podsift scan` once died of it): a file gone between listing and reading its
    size counts for nothing."""
    from podsift.ingest.fetch import cache_used

    folder = settings.audio_dir
    folder.mkdir(parents=True)
    stop, churned = threading.Event(), [0]

    def finish_downloads():
        while not stop.is_set():
            tag = folder / f"{churned[0] % 50}.mp3.part.tag"
            tag.write_text('"etag"')
            tag.unlink()
            churned[0] += 1

    churn = threading.Thread(target=finish_downloads)
    churn.start()
    try:
        for _ in range(3000):
            assert cache_used(settings) >= 0
    finally:
        stop.set()
        churn.join()
    assert churned[0] > 100  # the race was run, not missed
