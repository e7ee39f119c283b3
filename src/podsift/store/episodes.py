"""Episodes: the queue. Each carries a state (new -> downloaded -> transcribed -> extracted, or
skipped, or failed with its attempts), and a claim (a lease) while a process works on it."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime

from ..errors import NotFound
from ..models import Episode, FeedItem
from . import rows
from .db import Database, marks
from .leases import dead_holder, free
from .rows import ITEM_COLUMNS, iso, item_values, now

EPISODE_STATES = ("skipped", "new", "downloaded", "transcribed", "extracted", "failed")
MAX_ID = 2**63 - 1  # the largest integer either engine stores: a longer id names nothing
EPISODE_SQL = "SELECT e.*, s.title AS show_title FROM episodes e JOIN shows s ON s.id = e.show_id"
FOLLOWED = "show_id IN (SELECT show_id FROM subscriptions)"


class Episodes:
    def __init__(self, db: Database):
        self.db = db

    def find(self, show_id: int, guid: str, audio_url: str) -> int | None:
        """The stored episode an item is: same guid, else same audio (a feed that changed its guids)."""
        by_guid = self.db.value("SELECT id FROM episodes WHERE show_id = %s AND guid = %s", (show_id, guid))
        if by_guid is not None:
            return by_guid
        return self.db.value("SELECT id FROM episodes WHERE show_id = %s AND audio_url = %s", (show_id, audio_url))

    def any_of(self, show_id: int) -> bool:
        """Whether a show has any stored episode (a first scan skips the back catalogue)."""
        return self.db.one("SELECT 1 FROM episodes WHERE show_id = %s LIMIT 1", (show_id,)) is not None

    def add(self, show_id: int, item: FeedItem, state: str) -> int:
        """Store a new feed item. One without a readable date is dated when podsift first saw it:
        otherwise it would belong to no day, and reach no digest."""
        stamp = now()
        columns = ("show_id", "guid", *ITEM_COLUMNS, "published_at", "duration", "soundbites", "persons", "state")
        values = (
            show_id,
            item.guid,
            *item_values(item),
            iso(item.published) or stamp,
            item.duration,
            json.dumps([asdict(b) for b in item.soundbites]),
            json.dumps([asdict(p) for p in item.persons]),
            state,
        )
        return self.db.insert(
            f"INSERT INTO episodes ({', '.join(columns)}, created_at, updated_at) VALUES ({marks(len(columns) + 2)})",
            (*values, stamp, stamp),
        )

    def refresh(self, episode_id: int, item: FeedItem) -> None:
        """Take a re-published item's current details; its identity and state stay."""
        self.db.execute(
            f"UPDATE episodes SET {', '.join(f'{c} = %s' for c in ITEM_COLUMNS)}, "
            "duration = CASE WHEN %s > 0 THEN %s ELSE duration END, updated_at = %s WHERE id = %s",
            (*item_values(item), item.duration, item.duration, now(), episode_id),
        )

    def get(self, episode_id: int) -> Episode:
        found = self.db.need(f"{EPISODE_SQL} WHERE e.id = %s", (episode_id,), f"no episode {episode_id}")
        return rows.episode(found)

    def lookup(self, ref: str) -> Episode:
        """An episode by id, guid or the start of its title, as a user types it on the command line."""
        if ref.isdigit() and int(ref) <= MAX_ID:
            row = self.db.one(f"{EPISODE_SQL} WHERE e.id = %s", (int(ref),))
            if row:
                return rows.episode(row)
        found = self.db.all(f"{EPISODE_SQL} WHERE e.guid = %s ORDER BY e.id", (ref,))
        if not found:
            prefix = ref.lower().replace("%", "") + "%"
            found = self.db.all(f"{EPISODE_SQL} WHERE LOWER(e.title) LIKE %s ORDER BY e.id", (prefix,))
        if len(found) == 1:
            return rows.episode(found[0])
        if not found:
            raise NotFound(f"no episode matches {ref!r}; `podsift episodes` lists ids, guids and titles")
        names = "; ".join(f"{r['id']}: {r['title']}" for r in found[:5])
        raise NotFound(f"{len(found)} episodes match {ref!r} ({names}); give the id instead")

    def matching(
        self,
        states: tuple[str, ...] = (),
        show_id: int | None = None,
        since: datetime | None = None,
        recipient_id: int | None = None,
        followed: bool = False,
    ) -> list[Episode]:
        """Episodes filtered by state, show, publication time and follower, oldest first.

        `followed` keeps only shows somebody still follows."""
        clauses, args = [], []
        if states:
            clauses.append(f"e.state IN ({marks(len(states))})")
            args += list(states)
        if show_id is not None:
            clauses.append("e.show_id = %s")
            args.append(show_id)
        if since is not None:
            clauses.append("e.published_at >= %s")
            args.append(iso(since))
        if recipient_id is not None:
            clauses.append("e.show_id IN (SELECT show_id FROM subscriptions WHERE recipient_id = %s)")
            args.append(recipient_id)
        if followed:
            clauses.append(f"e.{FOLLOWED}")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return [rows.episode(r) for r in self.db.all(f"{EPISODE_SQL} {where} ORDER BY e.published_at, e.id", args)]

    def set_state(self, episode_id: int, state: str, audio_path: str | None = None, release: bool = False) -> None:
        """Move an episode on; a success clears the error of an earlier attempt. With `release`,
        the claim on it ends too: a stage is finished and the next may be taken by anyone."""
        assert state in EPISODE_STATES, state
        self.db.execute(
            "UPDATE episodes SET state = %s, audio_path = %s, error = NULL, updated_at = %s, "
            "claimed_by = CASE WHEN %s THEN NULL ELSE claimed_by END WHERE id = %s",
            (state, audio_path, now(), release, episode_id),
        )

    def fail(self, episode_id: int, error: str) -> None:
        """Record a failed attempt, ending its claim; later scans retry it until attempts run out."""
        self.db.execute(
            "UPDATE episodes SET state = 'failed', error = %s, attempts = attempts + 1, "
            "audio_path = NULL, updated_at = %s, claimed_by = NULL WHERE id = %s",
            (error, now(), episode_id),
        )

    def requeue(self, states: tuple[str, ...], since: datetime, max_attempts: int) -> int:
        """Put skipped episodes published since `since`, and failed ones with attempts left, back in
        the queue: 'transcribed' for one whose transcript is stored (its insights failed), else 'new'."""
        return self.db.execute(
            "UPDATE episodes SET state = CASE WHEN EXISTS "
            "(SELECT 1 FROM transcripts t WHERE t.episode_id = episodes.id) THEN 'transcribed' ELSE 'new' END, "
            f"updated_at = %s WHERE state IN ({marks(len(states))}) "
            "AND (state != 'failed' OR attempts < %s) AND (state = 'failed' OR published_at >= %s) "
            f"AND {FOLLOWED}",
            (now(), *states, max_attempts, iso(since)),
        ).rowcount

    def counts(self) -> dict[str, int]:
        """Episodes of followed shows by state."""
        return dict(self.db.all(f"SELECT state, COUNT(*) FROM episodes WHERE {FOLLOWED} GROUP BY state"))

    def retryable(self, max_attempts: int) -> int:
        """Failed episodes of followed shows that a later scan tries again."""
        return self.db.value(
            f"SELECT COUNT(*) FROM episodes WHERE state = 'failed' AND attempts < %s AND {FOLLOWED}", (max_attempts,)
        )

    # -- claims: who works on an episode ------------------------------------------------------

    def claimable(self, states: tuple[str, ...], at: str) -> list[Episode]:
        """Episodes of followed shows in `states` that no live process holds, oldest first."""
        found = self.db.all(
            f"{EPISODE_SQL} WHERE e.state IN ({marks(len(states))}) AND e.{FOLLOWED} ORDER BY e.published_at, e.id",
            states,
        )
        return [rows.episode(r) for r in found if free(r["claimed_by"], r["claimed_until"], at)]

    def claim(self, episode_id: int, states: tuple[str, ...], holder: str, until: str, at: str) -> bool:
        """Take an episode in one of `states` for work until `until`; False if a live process holds it.

        A claim is a lease: the holder renews it while it works (`renew_claims`), and a holder
        that dies leaves it to be taken when the lease ends, or at once by a process on the same
        machine that sees the holder is gone."""
        dead = dead_holder(self.db.value("SELECT claimed_by FROM episodes WHERE id = %s", (episode_id,)))
        return bool(
            self.db.execute(
                f"UPDATE episodes SET claimed_by = %s, claimed_until = %s WHERE id = %s AND state IN "
                f"({marks(len(states))}) AND (claimed_by IS NULL OR claimed_until <= %s OR claimed_by = %s)",
                (holder, until, episode_id, *states, at, dead),
            ).rowcount
        )

    def renew_claims(self, holder: str, until: str) -> None:
        """Extend every claim `holder` has: it is still at work."""
        self.db.execute("UPDATE episodes SET claimed_until = %s WHERE claimed_by = %s", (until, holder))

    def release_claims(self, holder: str, episode_id: int | None = None) -> None:
        """End `holder`'s claim on one episode, or on all it has (a scan that stops)."""
        where, args = ("AND id = %s", (episode_id,)) if episode_id is not None else ("", ())
        self.db.execute(f"UPDATE episodes SET claimed_by = NULL WHERE claimed_by = %s {where}", (holder, *args))

    def others_at_work(self, holder: str, at: str) -> dict[str, int]:
        """Live processes other than `holder` working on queued episodes: holder -> episodes held."""
        found = self.db.all(
            "SELECT claimed_by, claimed_until FROM episodes WHERE claimed_by IS NOT NULL AND claimed_by != %s "
            "AND state IN ('new', 'downloaded', 'transcribed')",
            (holder,),
        )
        held: dict[str, int] = {}
        for by, until in found:
            if not free(by, until, at):
                held[by] = held.get(by, 0) + 1
        return held
