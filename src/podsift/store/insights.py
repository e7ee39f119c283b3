"""Insights: each episode's ranked statements, the cards a model made of them, the votes readers
gave them, and search over insights and transcript sentences."""

from __future__ import annotations

import json
import re
from datetime import datetime

import numpy as np

from ..errors import NotFound, ParseError
from ..insights.search import SentenceHit, passages
from ..models import StoredInsight
from . import rows
from .db import Database, marks
from .episodes import MAX_ID, Episodes
from .rows import blob, half, iso, matrix, now
from .transcripts import Transcripts, index

MAX_SEARCH_WORDS = 20
MAX_SENTENCE_HITS = 5000  # sentences a search looks at: common words stop there
INSIGHT_SQL = (
    "SELECT i.*, e.guid, e.title AS episode_title, e.audio_url, e.show_id, e.published_at, "
    "s.title AS show_title, c.outcome AS card_outcome, c.title AS card_title, c.text AS card_text, "
    "c.model AS card_model, c.reason AS card_reason FROM insights i JOIN episodes e ON e.id = i.episode_id "
    "JOIN shows s ON s.id = e.show_id LEFT JOIN cards c ON c.insight_id = i.id"
)
# Insights that a digest has carried to a reader: their text is what was sent, and stays so.
SENT_INSIGHTS = (
    "SELECT di.insight_id FROM digest_items di JOIN deliveries d ON d.digest_id = di.digest_id WHERE d.status = 'sent' "
    "UNION SELECT ti.insight_id FROM topic_items ti JOIN deliveries d ON d.digest_id = ti.digest_id "
    "WHERE d.status = 'sent'"
)


class Insights:
    def __init__(self, db: Database, episodes: Episodes, transcripts: Transcripts):
        self.db, self.episodes, self.transcripts = db, episodes, transcripts

    def save(self, episode_id: int, insights: list) -> None:
        """Store an episode's ranked insights and mark it extracted, in one transaction; an episode
        whose insights are stored already keeps them as they are."""
        with self.db.transaction():
            if self.db.one("SELECT 1 FROM insights WHERE episode_id = %s LIMIT 1", (episode_id,)):
                insights = []
            indexed = []
            for i in insights:
                insight_id = self.db.insert(
                    "INSERT INTO insights (episode_id, rank, text, quote, start_s, end_s, score, reasons, embedding, "
                    "sentence_vectors, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        episode_id,
                        i.rank,
                        i.text,
                        i.quote,
                        i.start,
                        i.end,
                        i.score,
                        json.dumps(i.reasons),
                        blob(i.vector),
                        half(i.sentences),
                        now(),
                    ),
                )
                indexed.append((insight_id, i.text))
            index(self.db, "insight", episode_id, indexed)
            self.episodes.set_state(episode_id, "extracted", release=True)

    def matching(
        self,
        episode_ids: list[int] | None = None,
        published: tuple[datetime, datetime] | None = None,
        recipient_id: int | None = None,
    ) -> list[StoredInsight]:
        """Insights by episode, or of episodes published in [start, end) that a recipient follows."""
        clauses, args = [], []
        if episode_ids is not None:
            clauses.append(f"i.episode_id IN ({marks(len(episode_ids))})" if episode_ids else "1 = 0")
            args += episode_ids
        if published is not None:
            clauses.append("e.published_at >= %s AND e.published_at < %s")
            args += [iso(published[0]), iso(published[1])]
        if recipient_id is not None:
            clauses.append("e.show_id IN (SELECT show_id FROM subscriptions WHERE recipient_id = %s)")
            args.append(recipient_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return [
            rows.insight(r) for r in self.db.all(f"{INSIGHT_SQL} {where} ORDER BY e.published_at, e.id, i.rank", args)
        ]

    def by_id(self, ids: list[int]) -> list[StoredInsight]:
        """Insights in the order of `ids`; ids that no longer exist are left out."""
        ids = [i for i in ids if 0 < i <= MAX_ID]
        if not ids:
            return []
        found = {r["id"]: rows.insight(r) for r in self.db.all(f"{INSIGHT_SQL} WHERE i.id IN ({marks(len(ids))})", ids)}
        return [found[i] for i in ids if i in found]

    def sent_vectors(self, recipient_id: int, before_day: str) -> np.ndarray:
        """The embedding of every insight a recipient's digests before `before_day` carried, their
        followed topics' sections and the same ideas heard elsewhere included, one per row: all that
        ranking needs of a year of history."""
        ids: set[int] = set()
        for insight_id, also_heard in self.db.all(
            "SELECT di.insight_id, di.also_heard FROM digest_items di JOIN digests d ON d.id = di.digest_id "
            "WHERE d.recipient_id = %s AND d.day < %s UNION ALL SELECT ti.insight_id, ti.also_heard FROM topic_items "
            "ti JOIN digests d ON d.id = ti.digest_id WHERE d.recipient_id = %s AND d.day < %s",
            (recipient_id, before_day, recipient_id, before_day),
        ):
            ids |= {insight_id, *json.loads(also_heard)}
        vectors = [
            r[0]
            for chunk in _chunks(sorted(ids), 500)
            for r in self.db.all(
                f"SELECT embedding FROM insights WHERE id IN ({marks(len(chunk))}) AND embedding IS NOT NULL", chunk
            )
        ]
        return matrix(vectors)

    # -- topics: every followed show's insights, by meaning -------------------------------------

    def topic_candidates(self, since: datetime, until: datetime, min_score: float) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors, one per row) of the insights scoring at least `min_score` of episodes
        published in [since, until) on any show someone follows: all a topic digest ranks by."""
        found = self.db.all(
            "SELECT i.id, i.embedding FROM insights i JOIN episodes e ON e.id = i.episode_id "
            "WHERE e.published_at >= %s AND e.published_at < %s AND i.score >= %s AND i.embedding IS NOT NULL "
            "AND e.show_id IN (SELECT show_id FROM subscriptions)",
            (iso(since), iso(until), min_score),
        )
        return np.array([r[0] for r in found], dtype=np.int64), matrix([r[1] for r in found])

    def naming(self, word: str, limit: int = 500) -> list[int]:
        """Ids of insights on followed shows whose text has `word` (the full-text index: stems too)."""
        shows = [r[0] for r in self.db.all("SELECT DISTINCT show_id FROM subscriptions")]
        return [int(r["ref"]) for r in self.db.search_insights([word], shows, limit)] if shows else []

    def sentence_vectors(self, ids: list[int]) -> dict[int, np.ndarray]:
        """insight id -> the vectors of the sentences it spans (insights stored before podsift kept
        them have none)."""
        found = {}
        for chunk in _chunks(ids, 500):
            for insight_id, data, size in self.db.all(
                f"SELECT id, sentence_vectors, length(embedding) FROM insights WHERE id IN ({marks(len(chunk))}) "
                "AND sentence_vectors IS NOT NULL AND embedding IS NOT NULL",
                chunk,
            ):
                # The model's dimensions, from the float32 embedding's size in bytes (not the embedding itself).
                vectors = np.frombuffer(bytes(data), dtype=np.float16).reshape(-1, size // 4)
                found[insight_id] = vectors.astype(np.float32)
        return found

    # -- cards: a model's edit of an insight --------------------------------------------------

    def uncarded(self, ranks: int, since: datetime) -> list[StoredInsight]:
        """The top `ranks` insights of each episode published since `since` that no model has
        edited yet, or whose edit failed last time (the endpoint was down or refused), newest first.
        An insight already sent in a digest is left as it was sent."""
        found = self.db.all(
            f"{INSIGHT_SQL} WHERE i.rank <= %s AND e.published_at >= %s AND (c.insight_id IS NULL OR "
            f"c.outcome = 'failed') AND i.id NOT IN ({SENT_INSIGHTS}) ORDER BY e.published_at DESC, e.id, i.rank",
            (ranks, iso(since)),
        )
        return [rows.insight(r) for r in found]

    def forget_cards(self, episode_id: int | None = None) -> int:
        """Drop the cards of one episode, or of all, so that the next scan edits those insights
        afresh (with a new model or prompt); returns how many went. The cards of insights already
        sent in a digest stay: the web page and Atom feed keep showing what the email said."""
        where, args = f"insight_id NOT IN ({SENT_INSIGHTS})", ()
        if episode_id:
            where, args = where + " AND insight_id IN (SELECT id FROM insights WHERE episode_id = %s)", (episode_id,)
        return self.db.execute(f"DELETE FROM cards WHERE {where}", args).rowcount

    def save_card(self, insight_id: int, model: str, prompt_version: int, outcome: str, **card) -> None:
        """What the model made of one insight: `title`, `text`, `reason`, `tokens`, `seconds`."""
        self.db.execute(
            "INSERT INTO cards (insight_id, model, prompt_version, outcome, title, text, reason, tokens, seconds, "
            "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (insight_id) DO UPDATE SET "
            "model = excluded.model, prompt_version = excluded.prompt_version, outcome = excluded.outcome, "
            "title = excluded.title, text = excluded.text, reason = excluded.reason, tokens = excluded.tokens, "
            "seconds = excluded.seconds, created_at = excluded.created_at",
            (
                insight_id,
                model,
                prompt_version,
                outcome,
                card.get("title"),
                card.get("text"),
                card.get("reason"),
                card.get("tokens", 0),
                card.get("seconds", 0.0),
                now(),
            ),
        )

    # -- readers' votes -----------------------------------------------------------------------

    def vote(self, recipient_id: int, insight_id: int, vote: int) -> None:
        """Record a thumbs up (1) or down (-1); a second vote replaces the first."""
        if not self.by_id([insight_id]):
            raise NotFound(f"no insight {insight_id}: it may have been removed; reload the page")
        self.db.execute(
            "INSERT INTO feedback (recipient_id, insight_id, vote, created_at) VALUES (%s, %s, %s, %s) ON CONFLICT "
            "(recipient_id, insight_id) DO UPDATE SET vote = excluded.vote, created_at = excluded.created_at",
            (recipient_id, insight_id, 1 if vote > 0 else -1, now()),
        )

    def votes_by_show(self) -> dict[int, int]:
        """show id -> its insights' votes up less its votes down, from every reader: which shows'
        episodes are likeliest to be worth transcribing first."""
        return dict(
            self.db.all(
                "SELECT e.show_id, sum(f.vote) FROM feedback f JOIN insights i ON i.id = f.insight_id "
                "JOIN episodes e ON e.id = i.episode_id GROUP BY e.show_id"
            )
        )

    def votes(self, recipient_id: int) -> dict[int, int]:
        """insight id -> vote, for one recipient."""
        return dict(self.db.all("SELECT insight_id, vote FROM feedback WHERE recipient_id = %s", (recipient_id,)))

    # -- search -------------------------------------------------------------------------------

    def search(self, query: str, recipient_id: int, limit: int = 50) -> list[dict]:
        """Insights that match every word of `query`, then passages of transcript that between
        their sentences do (`search.passages`), in shows the recipient follows.

        Control characters separate words; a query of more than MAX_SEARCH_WORDS is a ParseError
        (matching a thousand phrases takes seconds, and no one means it)."""
        words = [w for w in re.sub(r"[\x00-\x1f\x7f]", " ", query).split() if w.strip('"')]
        if len(words) > MAX_SEARCH_WORDS:
            raise ParseError(f"search at most {MAX_SEARCH_WORDS} words at a time; this query has {len(words)}")
        if not words:
            return []
        shows = [
            r[0] for r in self.db.all("SELECT show_id FROM subscriptions WHERE recipient_id = %s", (recipient_id,))
        ]
        if not shows:
            return []
        found = self.db.search_insights(words, shows, limit)
        hits = [SentenceHit(*hit) for hit in self.db.search_sentences(words, shows, MAX_SENTENCE_HITS)]
        texts: dict[int, list] = {}
        for passage in passages(hits, len(words), limit):
            if passage.episode_id not in texts:
                texts[passage.episode_id] = self.transcripts.get(passage.episode_id).segments
            snippet = passage.text(texts[passage.episode_id])
            found.append(
                {"kind": "passage", "ref": passage.start, "snippet": snippet, "episode_id": passage.episode_id}
            )
        episode_ids = sorted({f["episode_id"] for f in found})
        titles = (
            {
                r[0]: (r[1], r[2])
                for r in self.db.all(
                    "SELECT e.id, e.title, s.title FROM episodes e JOIN shows s ON s.id = e.show_id "
                    f"WHERE e.id IN ({marks(len(episode_ids))})",
                    episode_ids,
                )
            }
            if episode_ids
            else {}
        )
        for f in found:
            f["episode_title"], f["show_title"] = titles[f["episode_id"]]
        return found


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]
