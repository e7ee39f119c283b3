"""URLs from strangers and from users: what podsift will fetch, link or play.

A feed, OPML file or form gives text; `http_url` keeps it only if it is an http(s) URL that the
fetcher can open (a host, a port in range, brackets that close, no control characters), so that
one malformed address fails where it comes in rather than in the middle of every later scan.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..errors import ParseError

MAX_LENGTH = 2048  # longer than any real feed or enclosure address; browsers and servers cap near here
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # a newline or NUL in a URL is an injection, never an address


def http_url(url: str) -> str:
    """`url` if it is an http(s) URL with a host, its scheme in lower case and any space
    percent-encoded (as browsers do: real enclosures have them); "" for javascript:, data:, file:,
    "http:/no-host", "http://[::1" and the like, which must never reach a link, a player or the fetcher."""
    url = url.strip().replace(" ", "%20")
    return "" if _problem(url) else _lower_scheme(url)


def feed_address(text: str) -> str:
    """A feed address as a user typed it, checked; a ParseError says what is wrong with it."""
    url = text.strip()
    why = _problem(url) or (" " in url and "it holds a space")
    if why:
        raise ParseError(f"{url!r} is not a valid feed address ({why}); check it for typos")
    return _lower_scheme(url)


def _problem(url: str) -> str:
    """What makes `url` unusable, or "" when podsift can fetch it."""
    scheme, colon, _ = url.partition(":")
    if not colon or scheme.lower() not in ("http", "https"):
        return "it must start with http:// or https://"
    if len(url) > MAX_LENGTH:
        return f"it is longer than {MAX_LENGTH} characters"
    if _CONTROL.search(url):
        return "it holds a control character"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number from 0 to 65535
    except ValueError as exc:
        return str(exc)
    return "" if parts.hostname else "it names no host"


def _lower_scheme(url: str) -> str:
    scheme, _, rest = url.partition(":")
    return f"{scheme.lower()}:{rest}"
