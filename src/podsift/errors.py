"""podsift's errors. Every message says what happened and what the user can do about it.

    PodsiftError
    ├── ConfigError          podsift.toml or a PODSIFT_* variable is wrong
    ├── FetchError           a URL could not be fetched (network, HTTP status, size cap, policy)
    │   └── HTTPStatusError  the server answered with an error status
    ├── ParseError           bytes from a feed, OPML file or transcript could not be understood
    ├── TranscriptionError   speech-to-text failed, or its model could not be loaded
    └── NotFound             a show or episode named on the command line does not exist

A stage catches PodsiftError for one item (a feed, an episode), records the message against that
item and goes on with the others; anything else is a bug and is allowed to surface.
"""


class PodsiftError(Exception):
    """Base class: an error that concerns one item and that a user can act on."""


class ConfigError(PodsiftError):
    """The configuration file or environment holds a value podsift cannot use."""


class FetchError(PodsiftError):
    """A URL could not be fetched."""


class HTTPStatusError(FetchError):
    """The server answered with an HTTP error status."""

    def __init__(self, url: str, status: int, advice: str = "", retry_after: float | None = None):
        self.url, self.status, self.retry_after = url, status, retry_after
        super().__init__(f"{url} returned HTTP {status}: {advice or _status_advice(status)}")


class ParseError(PodsiftError):
    """Bytes that should be a feed, OPML document or transcript could not be parsed."""


class TranscriptionError(PodsiftError):
    """Speech-to-text failed for an episode, or the model could not be loaded."""


class NotFound(PodsiftError):
    """A show or episode the user named is not in the store."""


def _status_advice(status: int) -> str:
    if status == 404:
        return "the file is missing on the server; podsift retries on the next scan"
    if status == 410:
        return "the show has moved or ended; unsubscribe or give its new URL"
    if status in (401, 403):
        return "the server refuses access; check that the URL is public or includes its token"
    if status == 429 or status >= 500:
        return "the server is overloaded or failing; podsift retries on the next scan"
    return "check the URL in a browser"


def describe(exc: BaseException) -> str:
    """An error in one line, for a log or `podsift status`: a PodsiftError's message, or the
    exception's type and text (anything else is a bug, and its type helps the report)."""
    return str(exc) if isinstance(exc, PodsiftError) else f"{type(exc).__name__}: {exc}"
