"""The nouns of podsift: what parsers produce and what the store keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TranscriptLink:
    """One `<podcast:transcript>` tag of an item: where a publisher's transcript lives."""

    url: str
    type: str  # MIME type as published: text/vtt, application/x-subrip, application/json, text/html...
    language: str = ""
    rel: str = ""  # "captions" marks a timed transcript made for display


@dataclass(frozen=True)
class Soundbite:
    """A `<podcast:soundbite>`: a publisher's pick of a moment worth hearing."""

    start: float
    duration: float
    title: str = ""


@dataclass(frozen=True)
class Person:
    """A `<podcast:person>`: a host or guest, with the name a transcript may use as speaker."""

    name: str
    role: str = "host"


@dataclass
class FeedItem:
    """One episode as a feed describes it; `key` identifies it across fetches."""

    guid: str
    title: str
    audio_url: str
    audio_type: str = ""
    audio_bytes: int = -1
    audio_integrity: str = ""  # the publisher's SRI hash of the audio ("sha384-..."), from podcast:integrity
    published: datetime | None = None
    duration: float = 0.0
    description: str = ""
    link: str = ""
    transcripts: list[TranscriptLink] = field(default_factory=list)
    soundbites: list[Soundbite] = field(default_factory=list)
    persons: list[Person] = field(default_factory=list)


@dataclass
class Feed:
    """A parsed feed: the show's own fields and its items, newest or oldest first as published."""

    title: str
    link: str = ""
    description: str = ""
    author: str = ""
    image: str = ""
    language: str = ""
    new_url: str = ""  # itunes:new-feed-url or <redirect><newLocation>: the feed has moved
    items: list[FeedItem] = field(default_factory=list)


@dataclass(frozen=True)
class Segment:
    """A timed stretch of a transcript, at most one speaker's sentence or a publisher's cue."""

    start: float
    end: float
    text: str
    speaker: str = ""


@dataclass
class Transcript:
    """An episode's words with their times. `source` is "publisher" or "whisper"."""

    segments: list[Segment]
    source: str = "publisher"
    format: str = ""  # vtt, srt, json, html or whisper
    language: str = ""
    model: str = ""  # the speech-to-text model, for whisper transcripts

    @property
    def duration(self) -> float:
        return self.segments[-1].end if self.segments else 0.0

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments)


@dataclass
class Show:
    """A subscribed feed as stored, with what the last fetch learned."""

    id: int
    feed_url: str
    title: str = ""
    link: str = ""
    description: str = ""
    etag: str | None = None
    last_modified: str | None = None
    last_checked_at: str | None = None
    last_status: int | None = None
    error: str | None = None
    error_count: int = 0
    next_check_at: str | None = None  # backing off after failures, or asked to wait (Retry-After)
    paused: bool = False
    episode_count: int = 0


@dataclass
class Episode:
    """An episode as stored; `state` says which stage takes it next."""

    id: int
    show_id: int
    guid: str
    title: str
    audio_url: str
    state: str
    published_at: datetime | None = None
    duration: float = 0.0
    description: str = ""
    link: str = ""
    audio_type: str = ""
    audio_bytes: int = -1
    audio_integrity: str = ""
    transcript_links: list[TranscriptLink] = field(default_factory=list)
    error: str | None = None
    attempts: int = 0
    audio_path: str | None = None
    show_title: str = ""


@dataclass
class StoredInsight:
    """An insight as stored, with the episode and show it came from."""

    id: int
    episode_id: int
    rank: int
    text: str
    quote: str
    start: float
    end: float
    score: float
    reasons: dict
    vector: Any  # numpy float32 unit vector, or None
    guid: str
    episode_title: str
    audio_url: str
    show_id: int
    show_title: str
    extract: str = ""  # the extractive text, when `text` is a model's accepted card
    card_title: str | None = None
    edited_by: str | None = None  # the model whose card `text` is, or None
    edit_rejected: str | None = None  # why the model's card was not shown, or None


@dataclass
class Recipient:
    """A person who receives digests, with their own subscriptions and settings."""

    id: int
    email: str | None
    name: str = ""
    interests: list[str] = field(default_factory=list)
    unsubscribed_at: str | None = None
    timezone: str | None = None  # None: the install's
    delivery_time: str | None = None  # "HH:MM"; None: the install's
    password_hash: str | None = field(default=None, repr=False)


@dataclass
class Topic:
    """A subject a person follows across every show the install follows."""

    id: int
    recipient_id: int
    query: str
    created_at: str = ""


@dataclass
class Delivery:
    """One outbox row: a day's digest for one recipient on one channel."""

    id: int
    recipient_id: int
    day: str
    channel: str
    message_id: str
    status: str  # pending | sending | sent | failed | cancelled (its recipient unsubscribed first)
    digest_id: int | None = None  # the stored digest it carries
    attempts: int = 0
    error: str | None = None
    next_attempt_at: str | None = None
    sent_at: str | None = None
    claimed_by: str | None = None  # host:pid of the process that last took it for sending


@dataclass
class Run:
    """A scan, a daily job or a scheduler, as recorded for `podsift status`."""

    id: int
    kind: str  # scheduler | daily | scan
    holder: str  # host:pid
    started_at: str
    beat_at: str  # its last sign of life
    outcome: str  # running | ok | incomplete | failed | stopped
    summary: str = ""
    error: str | None = None
    error_at: str | None = None
