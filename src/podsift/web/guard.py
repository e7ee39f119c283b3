"""What stands between the web app and a stranger: sessions, CSRF tokens, the login limit, the
client's address and the headers every response carries.

- **Sessions** live in the store (`sessions`, keyed by a token's SHA-256); the signed cookie holds
  the token. Logging out deletes the row, and a new password deletes all of a person's rows, so a
  copied cookie stops working at once. A session unused for SESSION_IDLE ends by itself.
- **CSRF**: every form carries a token kept in the cookie, compared in constant time.
- **Login limit**: failures are counted per (address, account), per address and per account, so
  that guessing from one address is stopped, failures on one account lock out nobody else, and
  guessing one account from many addresses is stopped too.
- **Client address**: the connection's peer; X-Forwarded-For counts only when that peer is one of
  `trusted_proxies`, and then its right-most address that is not a proxy itself.
- **Headers**: a Content-Security-Policy that allows no inline script or style and no framing,
  with X-Frame-Options for older browsers, nosniff and a same-origin referrer.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import threading
import time
from collections import defaultdict, deque
from datetime import datetime, timedelta, timezone

from starlette.requests import Request

from ..settings import Settings, networks
from ..store import Store, iso
from ..users import session_token, token_hash

SESSION_IDLE = timedelta(days=14)
SESSION_REFRESH = timedelta(hours=1)  # how stale a session's last sighting may get before it is written again
LOGIN_WINDOW = 300.0  # seconds over which failed logins are counted
LIMITS = {"pair": 5, "address": 20, "account": 20}  # failures allowed in the window, per kind of key
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src http: https:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = [
    (b"content-security-policy", POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    if "csrf" not in request.session:
        request.session["csrf"] = secrets.token_urlsafe(32)
    return request.session["csrf"]


async def form_checked(request: Request):
    """The request's form, or None when its CSRF token is missing or wrong."""
    form = await request.form()
    expected = request.session.get("csrf", "")
    return form if expected and hmac.compare_digest(str(form.get("csrf", "")), expected) else None


def begin_session(request: Request, store: Store, recipient_id: int) -> None:
    """Log a person in: a new session in the store, its token in a fresh cookie."""
    token, hashed = session_token()
    store.people.start_session(hashed, recipient_id)
    request.session.clear()
    request.session["sid"] = token


def session_user(request: Request, store: Store) -> int | None:
    """Whose live session the request's cookie names, or None."""
    token = request.session.get("sid")
    if not isinstance(token, str):
        return None
    at = datetime.now(timezone.utc)
    return store.people.session_recipient(token_hash(token), iso(at - SESSION_IDLE), iso(at - SESSION_REFRESH))


def end_session(request: Request, store: Store) -> None:
    """Log out: the session ends in the store, for every copy of its cookie."""
    token = request.session.get("sid")
    if isinstance(token, str):
        store.people.end_session(token_hash(token))
    request.session.clear()


def client_address(request: Request, trusted: list) -> str:
    """The address a request comes from: the peer, or what trusted proxies say they forwarded."""
    peer = request.client.host if request.client else ""
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    address = peer
    while _within(address, trusted) and hops:  # walk back through the proxies, right to left
        address = hops.pop()
    return address or "unknown"


class LoginLimits:
    """Failed logins of the last LOGIN_WINDOW seconds, counted per (address, account), per address
    and per account; one key over its limit refuses the attempt."""

    def __init__(self, settings: Settings):
        self.trusted = networks(settings.trusted_proxies)
        self.failures: dict[tuple[str, ...], deque] = defaultdict(deque)
        self.lock = threading.Lock()

    def refused(self, address: str, account: str) -> bool:
        with self.lock:
            return any(self._recent(key) >= LIMITS[key[0]] for key in _keys(address, account))

    def failed(self, address: str, account: str) -> None:
        with self.lock:
            for key in _keys(address, account):
                self.failures[key].append(time.monotonic())

    def _recent(self, key: tuple[str, ...]) -> int:
        recent = self.failures[key]
        while recent and recent[0] < time.monotonic() - LOGIN_WINDOW:
            recent.popleft()
        if not recent:
            del self.failures[key]  # a stranger's address does not stay in memory for ever
            return 0
        return len(recent)


class SecurityHeaders:
    """ASGI middleware: the HEADERS on every response, error pages and the Atom feed included."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def _keys(address: str, account: str) -> list[tuple[str, ...]]:
    account = account.strip().lower()
    return [("pair", address, account), ("address", address), ("account", account)]


def _within(address: str, trusted: list) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)
