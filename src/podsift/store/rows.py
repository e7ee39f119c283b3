"""Rows to podsift's models, and models to the values the store writes."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict
from datetime import datetime, timezone

import numpy as np

from ..models import Delivery, Episode, FeedItem, Recipient, Run, Show, StoredInsight, TranscriptLink
from .db import Row


def now() -> str:
    """The current UTC time as the store writes it."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def iso(value: datetime | None) -> str | None:
    """A time as the store writes and compares it: ISO-8601 in UTC, to the second (None stays None)."""
    return value.astimezone(timezone.utc).isoformat(timespec="seconds") if value else None


def build(cls, row: Row, **converted):
    """A model from a row: columns named like the model's fields, plus the `converted` ones."""
    columns = set(row.keys())
    values = {f.name: row[f.name] for f in dataclasses.fields(cls) if f.name in columns}
    return cls(**{**values, **converted})


def insight(row: Row) -> StoredInsight:
    vector = np.frombuffer(row["embedding"], dtype=np.float32) if row["embedding"] else None
    accepted, rejected = row["card_outcome"] == "accepted", row["card_outcome"] == "rejected"
    return build(
        StoredInsight,
        row,
        start=row["start_s"],
        end=row["end_s"],
        reasons=json.loads(row["reasons"]),
        vector=vector,
        text=row["card_text"] if accepted else row["text"],  # what the reader sees
        extract=row["text"],
        card_title=row["card_title"] if accepted else None,
        edited_by=row["card_model"] if accepted else None,
        edit_rejected=row["card_reason"] if rejected else None,
    )


def recipient(row: Row) -> Recipient:
    return build(Recipient, row, interests=json.loads(row["interests"]))


def delivery(row: Row) -> Delivery:
    return build(Delivery, row)


def show(row: Row) -> Show:
    return build(Show, row, paused=bool(row["paused"]))


def episode(row: Row) -> Episode:
    published = datetime.fromisoformat(row["published_at"]) if row["published_at"] else None
    links = [TranscriptLink(**d) for d in json.loads(row["transcript_links"])]
    return build(Episode, row, published_at=published, transcript_links=links)


def run(row: Row) -> Run:
    return build(Run, row)


# The columns a feed item sets when first seen and again when re-published, in item_values' order.
ITEM_COLUMNS = (
    "title",
    "description",
    "link",
    "audio_url",
    "audio_type",
    "audio_bytes",
    "audio_integrity",
    "transcript_links",
)


def item_values(item: FeedItem) -> tuple:
    return (
        item.title,
        item.description,
        item.link,
        item.audio_url,
        item.audio_type,
        item.audio_bytes,
        item.audio_integrity,
        json.dumps([asdict(link) for link in item.transcripts]),
    )


def blob(vector) -> bytes | None:
    """An embedding as the store keeps it: float32 bytes."""
    return None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()


def matrix(blobs: list) -> np.ndarray:
    """Stored embeddings (`blob`'s bytes) as one float32 matrix, a vector per row; (0, 0) for none."""
    if not blobs:
        return np.zeros((0, 0), dtype=np.float32)
    return np.frombuffer(b"".join(bytes(b) for b in blobs), dtype=np.float32).reshape(len(blobs), -1)


def half(vectors) -> bytes | None:
    """Sentence vectors as the store keeps them: float16 bytes, half the room, the same cosines to 3 places."""
    return None if vectors is None or not len(vectors) else np.asarray(vectors, dtype=np.float16).tobytes()
