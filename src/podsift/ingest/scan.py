"""Stage 1, scan: poll every followed feed and record its new episodes as 'new' in the store.

`fetch_feed` runs in worker threads (network only); `apply_feed` runs on the store's thread.
A feed that fails records its error and leaves every other feed alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ..errors import HTTPStatusError, ParseError, PodsiftError
from ..models import Feed, FeedItem, Show
from ..net import Fetcher, Response
from ..parsers.feed import parse_feed
from ..parsers.url import feed_address
from ..settings import Settings
from ..store import Store

PAUSE_AFTER = 10  # consecutive failures before a feed is paused
BACKOFF_START, BACKOFF_CAP = 3600.0, 86400.0  # seconds


@dataclass
class FeedResult:
    """What polling one feed found."""

    show: Show
    outcome: str  # "updated", "unchanged" or "failed"
    new_episodes: int = 0
    message: str = ""  # the error, or a warning about a damaged but readable feed


def fetch_feed(fetcher: Fetcher, show: Show, settings: Settings) -> Response:
    """Conditional GET of a feed: a 304 comes back with no body and costs no parsing."""
    try:
        feed_address(show.feed_url)  # an older install stored URLs unchecked
    except ParseError as exc:
        raise ParseError(f"{exc}; unsubscribe it and subscribe to the show's right address") from None
    try:
        return fetcher.get(show.feed_url, settings.fetch.max_feed_mb * 1_000_000, show.etag, show.last_modified)
    except HTTPStatusError as exc:
        if exc.status == 404:
            raise HTTPStatusError(
                exc.url,
                404,
                "no feed at this address; check the URL, or unsubscribe and subscribe to the show's new feed",
            ) from None
        raise


def apply_feed(
    store: Store, show: Show, response: Response, settings: Settings, since: datetime | None = None
) -> FeedResult:
    """Parse a fetched feed and store its episodes; the show's validators are saved only on success."""
    if response.not_modified:
        store.shows.record_fetch(show.id, 304)
        return FeedResult(show, "unchanged")
    try:
        result = parse_feed(response.content, response.url)
    except PodsiftError as exc:
        return record_failure(store, show, str(exc), response.status)
    feed = result.feed
    with store.transaction():
        first_scan = not store.episodes.any_of(show.id)
        new = store_items(store, show.id, feed, settings, since, first_scan)
        store.shows.update_details(
            show.id, feed.title, feed.link, feed.description, feed.author, feed.image, feed.language
        )
        store.shows.record_fetch(show.id, response.status, response.etag, response.last_modified)
        moved = response.moved_to or feed.new_url
        if moved and moved != show.feed_url:
            store.shows.move(show.id, moved)
    return FeedResult(show, "updated", new, result.warning)


def settle(
    store: Store, show: Show, fetched: Callable[[], Response], settings: Settings, since: datetime | None = None
) -> FeedResult:
    """Store what one poll of a feed gave: its new episodes, or why it failed and when to try again.
    `fetched` returns the response (a finished future's `result`, or a fetch to make now)."""
    try:
        return apply_feed(store, show, fetched(), settings, since)
    except PodsiftError as exc:
        return record_failure(store, show, str(exc), getattr(exc, "status", 0), getattr(exc, "retry_after", None))


def record_failure(
    store: Store, show: Show, message: str, status: int = 0, retry_after: float | None = None
) -> FeedResult:
    """Remember why a feed failed, and when to try again: the next scan after a first failure, then
    backing off (1 h, 2 h, 4 h ... a day at most), or when the server said (Retry-After). A feed
    that is gone (410) or has failed PAUSE_AFTER times in a row is paused until subscribed again."""
    failures = show.error_count + 1
    pause = status == 410 or failures >= PAUSE_AFTER
    wait = (
        retry_after
        if retry_after is not None
        else (0.0 if failures == 1 else min(BACKOFF_START * 2 ** (failures - 2), BACKOFF_CAP))
    )
    next_check = (datetime.now(timezone.utc) + timedelta(seconds=wait)).isoformat(timespec="seconds") if wait else None
    if pause:
        message += "; paused: run `podsift subscribe` with this URL again to resume it"
    store.shows.record_error(show.id, status, message, next_check, pause)
    return FeedResult(show, "failed", message=message)


def due(show: Show, at: datetime) -> bool:
    """Whether a feed should be polled now: not paused, and not backing off."""
    return not show.paused and (show.next_check_at is None or datetime.fromisoformat(show.next_check_at) <= at)


def store_items(
    store: Store, show_id: int, feed: Feed, settings: Settings, since: datetime | None, first_scan: bool
) -> int:
    """Add the feed's unseen items; return how many were queued for transcription."""
    wanted = _wanted(feed.items, settings, since, first_scan)
    queued = 0
    for item in feed.items:
        existing = store.episodes.find(show_id, item.guid, item.audio_url)
        if existing is not None:
            store.episodes.refresh(existing, item)
            continue
        state = "new" if id(item) in wanted else "skipped"
        store.episodes.add(show_id, item, state)
        queued += state == "new"
    return queued


def _wanted(items: list[FeedItem], settings: Settings, since: datetime | None, first_scan: bool) -> set[int]:
    """The items a scan takes: those published since `since`, else the recent ones.

    A feed seen for the first time gives only its `first_scan_max` newest recent items, so that
    subscribing to a show with 500 episodes does not queue 500 transcriptions."""
    if since is not None:
        return {id(i) for i in items if i.published is None or i.published >= since}
    cutoff = datetime.now(timezone.utc) - timedelta(days=settings.scan.first_scan_days)
    recent = [i for i in items if i.published is None or i.published >= cutoff]
    if first_scan:
        epoch = datetime.min.replace(tzinfo=timezone.utc)
        recent = sorted(recent, key=lambda i: i.published or epoch, reverse=True)[: settings.scan.first_scan_max]
    return {id(i) for i in recent}
