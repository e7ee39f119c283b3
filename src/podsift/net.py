"""The one module that talks to the network (httpx). Everything else works on bytes and files.

Every request names podsift and its version, has a timeout and a size cap, follows at most
MAX_REDIRECTS redirects (reporting whether they were all permanent, so the store can follow a
moved feed), and at most `per_host` requests run at once against one host.

Feeds are written by strangers, so a URL must not reach into the user's network: unless
`allow_private_networks` is set, the connection itself resolves the host and refuses any
address that is not public (loopback, private, link-local such as 169.254.169.254, carrier-grade
NAT, multicast, unspecified, IPv4-mapped forms of those) before it connects, and then connects to
the very address it checked. So DNS rebinding, redirects and odd spellings (0177.0.0.1, 0x7f.1,
a trailing dot) meet the same check. The resolver and the address policy can be injected, which
is how the tests exercise the guard on loopback without sending a packet anywhere else.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from . import __version__
from .errors import ConfigError, FetchError, HTTPStatusError
from .parsers.url import http_url
from .settings import Settings

USER_AGENT = f"podsift/{__version__} (self-hosted podcast digest; +https://pypi.org/project/podsift/)"
MAX_REDIRECTS = 5
MAX_MODEL_ANSWER = 4_000_000  # bytes: a list of models, or one card with its JSON around it
Resolver = Callable[[str], list[str]]


@dataclass
class Response:
    """A fetched body, or a 304 with no body."""

    url: str  # where the body came from, after redirects
    status: int
    content: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None  # set when every redirect on the way was permanent (301/308)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def system_resolver(host: str) -> list[str]:
    """The addresses the operating system gives for a host name."""
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, None)})
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve {host} ({exc.strerror}); check the URL's spelling") from None


class Refused(FetchError):
    """A response podsift will not keep (over the size cap, a web page instead of audio)."""


class BlockedAddress(FetchError):
    """A URL's host resolves to an address podsift does not connect to."""


def refusal(address: str) -> str | None:
    """Why podsift will not connect to this IP address, or None if it is a public one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_multicast:
        return "a multicast address"
    if not ip.is_global:
        return "a private or local address"
    return None


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses that pass `refusal`, checking the address it actually dials."""

    def __init__(self, resolver: Resolver, allow_private: bool, policy: Callable[[str], str | None] = refusal):
        self.resolver, self.allow_private, self.policy = resolver, allow_private, policy

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = self.resolver(host)
        if not self.allow_private:
            for address in addresses:
                why = self.policy(address)
                if why:
                    raise BlockedAddress(
                        f"{host} is {why} ({address}); podsift refuses those so that a feed cannot reach into "
                        "your network. Set allow_private_networks = true (or PODSIFT_ALLOW_PRIVATE_NETWORKS=1) "
                        "to allow it"
                    )
        error: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                error = exc
        raise error


class Fetcher:
    """An HTTP client with podsift's limits. Use as a context manager; safe to share between threads."""

    def __init__(
        self,
        settings: Settings,
        transport: httpx.BaseTransport | None = None,
        resolver: Resolver = system_resolver,
        policy: Callable[[str], str | None] = refusal,
    ):
        timeout = httpx.Timeout(settings.fetch.timeout, connect=min(10.0, settings.fetch.timeout))
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=16)
        if transport is None:
            transport = httpx.HTTPTransport(limits=limits)
            # httpx takes no network backend, so the guarded one goes into its connection pool.
            transport._pool = httpcore.ConnectionPool(
                ssl_context=transport._pool._ssl_context,
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_keepalive_connections,
                network_backend=GuardedBackend(resolver, settings.allow_private_networks, policy),
            )
        self.client = httpx.Client(
            headers={"User-Agent": USER_AGENT},
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
            limits=limits,
        )
        self.settings = settings
        self._hosts: dict[str, threading.Semaphore] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.client.close()

    def get(self, url: str, max_bytes: int, etag: str | None = None, last_modified: str | None = None) -> Response:
        """GET a document (feed, transcript); conditional when validators are given."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        deadline = time.monotonic() + self.settings.fetch.deadline
        with self._open(url, headers) as (response, final_url, moved_to):
            if response.status_code == 304:
                return Response(final_url, 304, moved_to=moved_to)
            body = b"".join(self._read(response, final_url, max_bytes, deadline))
            return Response(
                final_url,
                response.status_code,
                body,
                response.headers.get("content-type", ""),
                response.headers.get("etag"),
                response.headers.get("last-modified"),
                moved_to,
            )

    def download(
        self, url: str, dest: Path, max_bytes: int, progress: Callable[[int, int], None] | None = None
    ) -> Path:
        """Stream `url` to `dest` through a `.part` file; `dest` appears only when complete.

        An interrupted download keeps its `.part` (and the validator it was sent with), and the next
        call asks for the rest with Range and If-Range; a server that ignores the range, or a file
        that changed meanwhile, sends the whole file, which then starts over. A refused file (a web
        page, over the cap, gone) leaves nothing behind."""
        part, tag = dest.with_name(dest.name + ".part"), dest.with_name(dest.name + ".part.tag")
        dest.parent.mkdir(parents=True, exist_ok=True)
        have = part.stat().st_size if part.exists() and tag.exists() else 0
        headers = {"Range": f"bytes={have}-", "If-Range": tag.read_text()} if have else {}
        try:
            with self._open(url, headers) as (response, final_url, _):
                _refuse_web_page(response, final_url)
                self._save_body(response, final_url, part, tag, have, max_bytes, progress)
        except (Refused, HTTPStatusError) as exc:
            if isinstance(exc, HTTPStatusError) and (exc.status == 429 or exc.status >= 500):
                raise  # a passing failure: keep what arrived
            part.unlink(missing_ok=True)
            tag.unlink(missing_ok=True)
            if isinstance(exc, HTTPStatusError) and exc.status == 416 and have:
                return self.download(url, dest, max_bytes, progress)  # the range no longer fits: start over
            raise
        os.replace(part, dest)
        tag.unlink(missing_ok=True)
        return dest

    def _save_body(self, response, url: str, part: Path, tag: Path, have: int, max_bytes: int, progress) -> None:
        """Append the rest of a resumed download, or write a whole one; raise on a short body."""
        resumed = have and response.status_code == 206 and _range_start(response) == have
        if response.status_code == 206 and not resumed:
            raise Refused(f"{url} sent a byte range podsift did not ask for; the download starts over next scan")
        done = have if resumed else 0
        total = _total_length(response, done)
        validator = _validator(response)
        if validator:
            tag.write_text(validator)
        else:
            tag.unlink(missing_ok=True)  # nothing to check a later range against: no resuming
        deadline = time.monotonic() + self.settings.fetch.audio_deadline
        with open(part, "ab" if resumed else "wb") as out:
            for chunk in self._read(response, url, max_bytes - done, deadline):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
        if total and done < total:
            raise FetchError(f"{url} ended after {done} of {total} bytes; podsift resumes it on the next scan")

    # -- internals ----------------------------------------------------------------------------

    def _open(self, url: str, headers: dict[str, str]):
        return _Opened(self, url, headers)

    def _send(self, url: str, headers: dict[str, str]):
        """Send, following redirects by hand so that every hop passes the address check.

        Returns (response, final URL, moved-to URL or None, the host slot still held)."""
        permanent, current = True, url
        for _ in range(MAX_REDIRECTS + 1):
            slot = self._host_slot(self._check(current))
            slot.acquire()
            try:
                response = self.client.send(self.client.build_request("GET", current, headers=headers), stream=True)
            except httpx.InvalidURL as exc:
                slot.release()
                raise FetchError(f"{current!r} is not a valid URL ({exc}); check it in a browser") from None
            except httpx.HTTPError as exc:
                slot.release()
                raise FetchError(_explain(current, exc)) from None
            except BaseException:
                slot.release()
                raise
            if response.status_code not in (301, 302, 303, 307, 308):
                if response.status_code >= 400:
                    response.close()
                    slot.release()
                    wait = retry_after(response.headers.get("retry-after", ""))
                    raise HTTPStatusError(current, response.status_code, retry_after=wait)
                return response, current, (current if permanent and current != url else None), slot
            response.close()
            slot.release()
            location = response.headers.get("location", "")
            if not location:
                raise FetchError(f"{current} redirects without a Location; tell the publisher")
            permanent = permanent and response.status_code in (301, 308)
            try:
                current = urljoin(current, location)
            except ValueError:
                raise FetchError(
                    f"{current} redirects to {location!r}, which is not a URL; tell the publisher"
                ) from None
        raise FetchError(f"{url} redirects more than {MAX_REDIRECTS} times; check the URL in a browser")

    def _read(self, response: httpx.Response, url: str, max_bytes: int, deadline: float):
        """The body in chunks, decompressed, stopped at the size cap or the deadline."""
        declared = int(response.headers.get("content-length") or 0)
        if declared > max_bytes:
            raise Refused(
                f"{url} is {declared // 1_000_000} MB, over the {max_bytes // 1_000_000} MB cap; "
                "raise [fetch] max_*_mb in podsift.toml if it is genuine"
            )
        size = 0
        try:
            for chunk in response.iter_bytes():  # as it arrives: a fixed chunk size would wait to fill it
                size += len(chunk)
                if time.monotonic() > deadline:
                    raise FetchError(
                        f"{url} is taking too long to send ({size} bytes so far); podsift gave up and retries "
                        "on the next scan"
                    )
                if size > max_bytes:
                    raise Refused(
                        f"{url} is larger than the {max_bytes // 1_000_000} MB cap; "
                        "raise [fetch] max_*_mb in podsift.toml if it is genuine"
                    )
                yield chunk
        except httpx.HTTPError as exc:
            raise FetchError(_explain(url, exc)) from None

    def _check(self, url: str) -> str:
        """The URL's host, once the URL is known to be http(s); addresses are checked on connecting."""
        if not http_url(url):
            raise FetchError(f"{url!r} is not an http or https URL with a valid host; podsift fetches only those")
        return urlsplit(url).hostname

    def _host_slot(self, host: str) -> threading.Semaphore:
        with self._lock:
            if host not in self._hosts:
                self._hosts[host] = threading.BoundedSemaphore(self.settings.scan.per_host)
            return self._hosts[host]


class _Opened:
    """`with fetcher._open(url, headers) as (response, final_url, moved_to)`: closes the stream and
    frees the host slot, which is held while the body is read."""

    def __init__(self, fetcher: Fetcher, url: str, headers: dict[str, str]):
        self.fetcher, self.url, self.headers = fetcher, url, headers

    def __enter__(self):
        self.response, final, moved, self.slot = self.fetcher._send(self.url, self.headers)
        return self.response, final, moved

    def __exit__(self, *exc):
        self.response.close()
        self.slot.release()


def _refuse_web_page(response: httpx.Response, url: str) -> None:
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("text/html", "application/xhtml+xml"):
        raise Refused(
            f"{url} is a web page ({kind}), not audio: the feed's enclosure points at the wrong file; "
            "tell the publisher"
        )


def _range_start(response: httpx.Response) -> int:
    """Where a 206 response's Content-Range starts, or -1."""
    match = re.match(r"bytes (\d+)-\d+/", response.headers.get("content-range", ""))
    return int(match.group(1)) if match else -1


def _total_length(response: httpx.Response, offset: int) -> int:
    """The whole file's size in bytes, from Content-Range or Content-Length; 0 when unknown."""
    match = re.match(r"bytes \d+-\d+/(\d+)", response.headers.get("content-range", ""))
    if match:
        return int(match.group(1))
    length = response.headers.get("content-length", "")
    return offset + int(length) if length.isdigit() else 0


def _validator(response: httpx.Response) -> str:
    """What If-Range may name: a strong ETag, else Last-Modified; "" when there is neither."""
    etag = response.headers.get("etag", "")
    if etag and not etag.startswith("W/"):
        return etag
    return response.headers.get("last-modified", "")


def retry_after(value: str) -> float | None:
    """Seconds to wait from a Retry-After header (seconds, or an HTTP date); None when absent or unreadable."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _explain(url: str, exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"{url} timed out ({type(exc).__name__}); the server is slow or down; podsift retries on the next scan"
    text = str(exc)
    if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
        return f"{url}: TLS error ({text}); the server's certificate is not valid; tell the publisher"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {urlsplit(url).netloc} ({text}); check the URL, or try again later"
    return f"{url}: {type(exc).__name__} ({text}); podsift retries on the next scan"


class ModelEndpoint:
    """The OpenAI-compatible API of `[llm] base_url`. Its address is the user's own choice, not a
    stranger's feed, so the guard against private addresses does not apply: Ollama and llama.cpp's
    server listen on 127.0.0.1. Every answer is capped at MAX_MODEL_ANSWER bytes."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None):
        llm = settings.llm
        if not llm.base_url:
            raise ConfigError(
                "no language model is set: put base_url under [llm] in podsift.toml "
                '(for Ollama: base_url = "http://localhost:11434/v1", model = "llama3.2")'
            )
        headers = {"User-Agent": USER_AGENT}
        if llm.api_key:
            headers["Authorization"] = f"Bearer {llm.api_key}"
        self.base_url, self.model, self.max_concurrent = llm.base_url.rstrip("/"), llm.model, llm.max_concurrent
        self.takes_schema = True  # until the server refuses a response_format schema
        self.client = httpx.Client(
            headers=headers, timeout=httpx.Timeout(llm.timeout, connect=10.0), transport=transport
        )

    def __enter__(self) -> "ModelEndpoint":
        return self

    def __exit__(self, *exc) -> None:
        self.client.close()

    def models(self) -> list[str]:
        """The names of the models the endpoint serves (GET /models)."""
        found = self._json("GET", "/models").get("data")
        if not isinstance(found, list):
            raise FetchError(f"{self.base_url}/models did not list models; is base_url the API's /v1 address?")
        return [str(m.get("id")) for m in found if isinstance(m, dict) and m.get("id")]

    def chat(self, messages: list[dict], schema: dict | None = None, max_tokens: int = 400) -> tuple[str, int]:
        """The model's answer to a chat (POST /chat/completions) and the tokens it cost. The answer
        is asked for as JSON (Ollama, llama.cpp and vLLM honour that); `schema`, a JSON schema, rides
        along for the servers that hold their decoding to it (llama.cpp's), and is dropped for good
        if the server refuses it (400 or 422)."""
        answer_format = {"type": "json_object"}
        if schema is not None and self.takes_schema:
            answer_format["schema"] = schema
        body = {"model": self.model, "messages": messages, "temperature": 0.2, "max_tokens": max_tokens}
        try:
            data = self._json("POST", "/chat/completions", body | {"response_format": answer_format})
        except HTTPStatusError as exc:
            if "schema" not in answer_format or exc.status not in (400, 422):
                raise
            self.takes_schema = False  # OpenAI's own API: "Unknown parameter: 'response_format.schema'"
            return self.chat(messages, None, max_tokens)
        try:
            answer = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise FetchError(
                f"{self.base_url}/chat/completions answered without a message; is it OpenAI-compatible?"
            ) from None
        if not isinstance(answer, str):
            raise FetchError(f"{self.base_url}/chat/completions answered with a message that is not text")
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        return answer, int(usage.get("total_tokens") or 0)

    def _json(self, method: str, path: str, body: dict | None = None) -> dict:
        url = self.base_url + path
        try:
            with self.client.stream(method, url, json=body) as response:
                if response.status_code >= 400:
                    wait = retry_after(response.headers.get("retry-after", ""))
                    advice = _model_advice(response.status_code, wait)
                    raise HTTPStatusError(url, response.status_code, advice, retry_after=wait)
                content = bytearray()
                for chunk in response.iter_bytes():
                    content += chunk
                    if len(content) > MAX_MODEL_ANSWER:
                        raise Refused(
                            f"{url} answered with more than {MAX_MODEL_ANSWER} bytes; that is no model's answer"
                        )
        except httpx.TimeoutException:
            raise FetchError(f"{url} did not answer within [llm] timeout ({self.client.timeout.read:g} s)") from None
        except httpx.HTTPError as exc:
            raise FetchError(
                f"cannot reach the language model at {url} ({exc}); is its server running, and [llm] base_url right?"
            ) from None
        try:
            data = json.loads(content)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise FetchError(f"{url} did not answer with a JSON object; is base_url an OpenAI-compatible API's /v1?")
        return data


def _model_advice(status: int, wait: float | None) -> str:
    """What to do about a model server's HTTP error (empty: the general advice)."""
    if status in (401, 403):
        return "the server refuses the key; set PODSIFT_LLM_API_KEY to one it accepts"
    if status == 404:
        return "is [llm] model one it serves? `podsift llm check` lists them"
    if status == 429:
        asked = f"; it asked for {wait:g} s of quiet" if wait is not None else ""
        return f"rate-limited{asked}; podsift asks again at the next scan"
    return ""
