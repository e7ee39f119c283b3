"""Stage 5, rank: the day's digest, the best five insights across all of a person's shows.

For day D (in the configured time zone) the candidates are the insights of episodes published on
D. Anything too close to an insight sent in an earlier digest is dropped (any show, any wording:
compared by meaning). The same idea heard on two shows that day becomes one item naming both.
At most two items come from one show, an insight must clear a score threshold (a quiet day gets
a short digest, not filler), and `interests` lift insights on those subjects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np

from ..errors import NotFound
from ..insights.embed import Embedder
from ..models import StoredInsight
from ..settings import Settings, zone
from ..store import Store
from .items import DigestItem, merge_same, told_before
from .topic import topic_digest

DIGEST_SIZE = 5
PER_SHOW = 2
MIN_SCORE = 0.3  # a score is the chance an editor would pick it: below this, fewer than one in three were
INTEREST_LIFT = 0.5  # score added per unit of cosine to the closest interest
FEEDBACK_LIFT = 0.2  # score added (or taken) per unit of cosine to the closest liked (disliked) insight
SECTION_SIZE = 3  # a followed topic's insights in one email: a section, not a second digest
SUNDAY = 6  # date.weekday(): the day whose email carries a weekly topic digest
FIRST_DAY = date(1970, 1, 1)  # no podcast is older; nor can a digest be asked for a day after today


def digest_day(day: date, timezone: str) -> date:
    """`day`, if a digest can be asked for it: from FIRST_DAY to today in the reader's time zone
    (today's is provisional); otherwise a NotFound that gives the range."""
    today = datetime.now(zone(timezone)).date()
    if not FIRST_DAY <= day <= today:
        raise NotFound(f"there is no digest for {day}: give a day from {FIRST_DAY} to {today} (today in {timezone})")
    return day


def yesterday(timezone: str) -> date:
    """The day just ended in a time zone: the default day of a digest."""
    return datetime.now(zone(timezone)).date() - timedelta(days=1)


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in a time zone, as aware datetimes."""
    start = datetime.combine(day, time.min, tzinfo=zone(timezone))
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone(timezone))


def days_bounds(first: date, last: date, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) of the days from `first` to `last`, both included, in a time zone."""
    return day_bounds(first, timezone)[0], day_bounds(last, timezone)[1]


@dataclass
class TopicSection:
    """What a day's digest carries for one followed topic."""

    topic_id: int
    topic: str
    items: list[DigestItem]


@dataclass
class Digest:
    """A recipient's digest for a day. It is stored, and fixed, once the day is over and settled
    (every followed feed checked since, none of its episodes still in the works) or once it is
    sent; until then it is provisional: built afresh each time it is asked for, and not stored."""

    day: str
    items: list[DigestItem]
    id: int | None = None  # the stored digest's; None while provisional
    provisional: str = ""  # why it may still change ("" once fixed)
    sections: list[TopicSection] = field(default_factory=list)  # followed topics with something new

    @property
    def empty(self) -> bool:
        """Whether it has nothing to send: no insight, and no followed topic's."""
        return not self.items and not any(s.items for s in self.sections)


def day_over(day: date, timezone: str) -> bool:
    """Whether `day` has ended in a time zone."""
    return datetime.now(zone(timezone)) >= day_bounds(day, timezone)[1]


def digest_for(
    store: Store,
    settings: Settings,
    recipient_id: int,
    day: date,
    embedder: Embedder,
    rebuild: bool = False,
    keep: bool = False,
) -> Digest:
    """The recipient's digest for `day`: as stored once fixed; otherwise built now, and stored if
    the day is settled, or if `keep` (it is being sent) and it has something to send. An empty
    digest of an unsettled day is never stored. `rebuild` builds a fixed one again."""
    key = day.isoformat()
    stored = None if rebuild else store.digests.get(recipient_id, key)
    if stored is not None:
        sections = [
            TopicSection(topic_id, topic, digest_items(items))
            for topic_id, topic, items in store.digests.sections(stored[0])
        ]
        return Digest(key, digest_items(stored[1]), stored[0], sections=sections)
    recipient = store.people.get(recipient_id)
    timezone = recipient.timezone or settings.timezone  # the day in the reader's own zone
    bounds = day_bounds(day, timezone)
    candidates = store.insights.matching(published=bounds, recipient_id=recipient_id)
    sent = store.insights.sent_vectors(recipient_id, before_day=key)
    wanted = recipient.interests or list(settings.interests)  # a person's own interests, else the install's
    interests = embedder(wanted) if wanted else None
    items = choose(candidates, sent, interests, _voted(store, recipient_id))
    sections = topic_sections(store, settings, recipient_id, day, timezone, embedder, _stacked(sent, items))
    why = "" if keep and (items or sections) else unsettled(store, recipient_id, day, timezone)
    if why:
        return Digest(key, items, provisional=why, sections=sections)
    store.digests.save(
        recipient_id,
        key,
        _ids(items),
        replace=rebuild,
        sections=[(s.topic_id, _ids(s.items)) for s in sections],
    )
    return digest_for(store, settings, recipient_id, day, embedder)  # as stored: another process may have been first


def topic_sections(
    store: Store,
    settings: Settings,
    recipient_id: int,
    day: date,
    timezone: str,
    embedder: Embedder,
    sent: np.ndarray,
) -> list[TopicSection]:
    """The day's section for each topic the recipient follows that has something new: its insights
    on any followed show published that day (`topic_digests = "weekly"`: in the week ending that
    Sunday, on Sundays only), none close to what they were sent before or this digest carries."""
    topics = store.people.topics(recipient_id)
    weekly = settings.topic_digests == "weekly"
    if not topics or (weekly and day.weekday() != SUNDAY):
        return []
    start, end = days_bounds(day - timedelta(days=6 if weekly else 0), day, timezone)
    sections = []
    for topic in topics:
        items = topic_digest(store, embedder, topic.query, start, end, SECTION_SIZE, sent)
        if items:
            sections.append(TopicSection(topic.id, topic.query, items))
            sent = _stacked(sent, items)  # one insight, one section
    return sections


def _stacked(sent: np.ndarray, items: list[DigestItem]) -> np.ndarray:
    """`sent` with the vectors of `items` (and the same ideas heard elsewhere) added."""
    vectors = [i.vector for item in items for i in [item.insight, *item.also] if i.vector is not None]
    if not vectors:
        return sent
    return np.vstack([sent, *vectors]) if len(sent) else np.stack(vectors)


def _ids(items: list[DigestItem]) -> list[tuple[int, list[int]]]:
    return [(i.insight.id, [a.id for a in i.also]) for i in items]


def digest_items(stored) -> list[DigestItem]:
    """Digest items from the store's (insight, same idea heard elsewhere) pairs."""
    return [DigestItem(insight, also) for insight, also in stored]


def unsettled(store: Store, recipient_id: int, day: date, timezone: str) -> str:
    """Why a recipient's day may still gain insights ("" when it cannot), with what to do about it."""
    if not day_over(day, timezone):
        return f"{day} is not over yet in {timezone}"
    why = store.digests.unsettled(recipient_id, *day_bounds(day, timezone))
    return f"{why}; `podsift scan` brings it up to date" if why else ""


def stored_digests(store: Store, recipient_id: int, limit: int = 30) -> list[tuple[str, str, list[DigestItem]]]:
    """(day, built at, items) of a recipient's latest stored digests that have something to say, newest first."""
    found = []
    for day, built in store.digests.days(recipient_id, limit, with_items=True):
        _, items = store.digests.get(recipient_id, day)
        found.append((day, built, digest_items(items)))
    return found


def choose(
    candidates: list[StoredInsight],
    sent: np.ndarray,
    interests: np.ndarray | None = None,
    voted: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[DigestItem]:
    """Pick the digest from scored candidates: novel, distinct, spread across shows, good enough.

    `sent` holds the vectors of insights sent before, one per row; `voted` is (liked vectors,
    disliked vectors): insights like the liked ones rise, like the disliked sink."""
    ranked = sorted(
        ((_lifted(c, interests, voted), c) for c in candidates if c.vector is not None),
        key=lambda pair: pair[0],
        reverse=True,
    )
    items: list[DigestItem] = []
    per_show: dict[int, int] = {}
    for score, c in ranked:
        if score < MIN_SCORE or told_before(sent, c.vector):
            continue
        if merge_same(items, c):
            continue
        if per_show.get(c.show_id, 0) >= PER_SHOW or len(items) == DIGEST_SIZE:
            continue
        if any(
            i.insight.episode_id == c.episode_id and i.insight.reasons.get("topic") == c.reasons.get("topic")
            for i in items
        ):
            continue  # two passages answering the same question of one episode: one idea, told twice
        items.append(DigestItem(c))
        per_show[c.show_id] = per_show.get(c.show_id, 0) + 1
    return items


def _lifted(insight: StoredInsight, interests: np.ndarray | None, voted=None) -> float:
    score = insight.score
    if interests is not None and len(interests):
        score += INTEREST_LIFT * max(0.0, float((interests @ insight.vector).max()))
    if voted is not None:
        liked, disliked = voted
        if len(liked):
            score += FEEDBACK_LIFT * max(0.0, float((liked @ insight.vector).max()))
        if len(disliked):
            score -= FEEDBACK_LIFT * max(0.0, float((disliked @ insight.vector).max()))
    return score


def _voted(store: Store, recipient_id: int) -> tuple[np.ndarray, np.ndarray] | None:
    votes = store.insights.votes(recipient_id)
    if not votes:
        return None
    rated = store.insights.by_id(list(votes))
    return (_matrix([i for i in rated if votes[i.id] > 0]), _matrix([i for i in rated if votes[i.id] < 0]))


def _matrix(insights: list[StoredInsight]) -> np.ndarray:
    vectors = [i.vector for i in insights if i.vector is not None]
    return np.stack(vectors) if vectors else np.zeros((0, 0), dtype=np.float32)
