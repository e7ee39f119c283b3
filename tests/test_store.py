"""The storage contract, on each engine: conftest's `store` runs every test here on SQLite and on
a real Postgres server (Debian's, started by conftest), as huey's tests run each storage."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from conftest import EPISODE, transcript

from podsift.errors import NotFound, PodsiftError
from podsift.insights.extract import Insight
from podsift.models import FeedItem, Segment, Transcript
from podsift.store import KEEP_RUNS, StoreError, iso

T0 = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)
LATER = "2999-01-01T00:00:00+00:00"


def episode(store, guid="ep-1", title="Glaciers", url="https://a/feed", published=T0, state="new"):
    """A followed show's episode; returns (show, episode id)."""
    show, _ = store.shows.subscribe(store.people.local(), url)
    item = FeedItem(guid=guid, title=title, audio_url=f"https://a/{guid}.mp3", published=published)
    return show, store.episodes.add(show.id, item, state)


def unit(*values) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def extracted(store, sentences=EPISODE, **kwargs) -> tuple[int, list]:
    """An episode with a transcript and two insights; returns (episode id, the stored insights)."""
    _, episode_id = episode(store, **kwargs)
    store.transcripts.save(episode_id, transcript(sentences))
    found = [
        Insight(sentences[3], sentences[3], 18.0, 23.5, 0.9, {"why": "a fact"}, unit(1, 0, 0), rank=1),
        Insight(sentences[4], sentences[4], 24.0, 29.5, 0.7, {}, unit(0, 1, 0), rank=2),
    ]
    store.insights.save(episode_id, found)
    return episode_id, store.insights.matching(episode_ids=[episode_id])


# -- people -------------------------------------------------------------------------------------


def test_the_owner_is_made_once_and_takes_the_first_email(store):
    me = store.people.local()
    assert store.people.local() == me == store.people.owner()
    ada, created = store.people.add("ada@example.org", "Ada")
    assert ada.id == me and created  # a new email, on the single-person install's recipient: its shows stay
    bo, created = store.people.add("bo@example.org")
    assert created and bo.id != me and [p.email for p in store.people.all()] == ["ada@example.org", "bo@example.org"]
    assert store.people.add("bo@example.org", "Bo")[0].name == "Bo"
    with pytest.raises(NotFound, match="podsift user add cy@example.org"):
        store.people.by_email("cy@example.org")
    with pytest.raises(PodsiftError, match="owner"):
        store.people.remove(me)


def test_a_schedule_of_none_keeps_and_empty_resets(store):
    me = store.people.local()
    store.people.set_schedule(me, "Europe/Paris", "06:30")
    store.people.set_schedule(me, None, "")
    person = store.people.get(me)
    assert (person.timezone, person.delivery_time) == ("Europe/Paris", None)
    store.people.set_interests(me, ["glaciers"])
    assert store.people.get(me).interests == ["glaciers"]


def test_removing_a_person_takes_their_follows_and_sessions_not_the_shows(store):
    store.people.add("ada@example.org")  # the owner
    show, _ = episode(store)
    bo, _ = store.people.add("bo@example.org")
    store.shows.subscribe(bo.id, show.feed_url)
    store.people.start_session("token", bo.id)
    store.people.remove(bo.id)
    assert store.people.session_recipient("token", "2000-01-01", "2000-01-01") is None
    assert [s.id for s in store.shows.followed()] == [show.id]
    assert [(p.id, shows) for p, shows, _ in store.people.overview()] == [(store.people.owner(), 1)]


def test_a_session_is_live_while_seen_and_ends_with_a_new_password(store):
    me = store.people.local()
    store.people.start_session("token", me)
    assert store.people.session_recipient("token", "2000-01-01", LATER) == me  # its sighting moves on
    assert store.people.session_recipient("token", LATER, LATER) is None  # not seen since then
    store.people.set_password(me, "hash")
    assert store.people.session_recipient("token", "2000-01-01", "2000-01-01") is None


def test_unsubscribing_from_email_cancels_what_the_outbox_owes(store):
    me = store.people.local()
    store.people.add("ada@example.org")
    owed = store.outbox.queue(me, "2026-11-02", "email", None, "<m1@x>")
    store.people.stop_email(me)
    assert store.people.mailable() == [] and store.outbox.get(owed.id).status == "cancelled"
    store.people.resume_email(me)
    assert [p.id for p in store.people.mailable()] == [me]


# -- shows --------------------------------------------------------------------------------------


def test_a_feed_is_one_show_however_many_follow_it(store):
    me = store.people.local()
    bo, _ = store.people.add("bo@example.org")
    show, added = store.shows.subscribe(me, "https://a/feed")
    again, added_again = store.shows.subscribe(me, "https://a/feed")
    assert (again.id, added, added_again) == (show.id, True, False)
    assert store.shows.subscribe(bo.id, "https://a/feed")[0].id == show.id
    assert store.shows.unsubscribe(bo.id, "https://a/feed") and store.shows.followed(bo.id) == []
    with pytest.raises(NotFound, match="podsift feeds"):
        store.shows.by_url("https://b/feed")


def test_a_paused_feed_resumes_when_followed_again_and_a_move_keeps_its_history(store):
    show, episode_id = episode(store)
    store.shows.record_error(show.id, 500, "HTTP 500", None, pause=True)
    paused = store.shows.get(show.id)
    assert paused.paused and paused.error_count == 1 and paused.error == "HTTP 500"
    assert not store.shows.subscribe(store.people.local(), show.feed_url)[0].paused
    store.shows.record_fetch(show.id, 200, etag='"e1"')
    assert store.shows.get(show.id).etag == '"e1"' and store.shows.get(show.id).error is None
    store.shows.move(show.id, "https://b/feed")
    moved = store.shows.by_url("https://b/feed")
    assert moved.id == show.id and moved.etag is None and moved.episode_count == 1


# -- episodes: the queue ------------------------------------------------------------------------


def test_an_episode_is_found_by_guid_or_by_audio_and_looked_up_as_typed(store):
    show, first = episode(store, "ep-1", "Glaciers move")
    _, second = episode(store, "ep-2", "Glaciers melt")
    assert store.episodes.find(show.id, "ep-1", "") == first
    assert store.episodes.find(show.id, "new-guid", "https://a/ep-2.mp3") == second
    assert store.episodes.lookup(str(first)).id == first and store.episodes.lookup("ep-2").id == second
    assert store.episodes.lookup("glaciers mo").id == first
    with pytest.raises(NotFound, match="2 episodes match"):
        store.episodes.lookup("Glaciers")
    with pytest.raises(NotFound, match="podsift episodes"):
        store.episodes.lookup("99999999999999999999999")


def test_episodes_are_filtered_by_state_show_time_and_follower(store):
    show, old = episode(store, "ep-1", published=T0)
    _, new = episode(store, "ep-2", published=T0 + timedelta(days=2), state="skipped")
    assert [e.id for e in store.episodes.matching()] == [old, new]
    assert [e.id for e in store.episodes.matching(states=("skipped",))] == [new]
    assert [e.id for e in store.episodes.matching(since=T0 + timedelta(days=1))] == [new]
    assert [e.id for e in store.episodes.matching(show_id=show.id, recipient_id=store.people.local())] == [old, new]
    assert store.episodes.counts() == {"new": 1, "skipped": 1} and store.episodes.any_of(show.id)


def test_a_claim_is_a_lease_one_holder_wins_and_it_ends_when_released_or_run_out(store):
    _, episode_id = episode(store)
    at, soon = iso(T0), iso(T0 + timedelta(minutes=5))
    assert store.episodes.claim(episode_id, ("new",), "host-a:1", soon, at)
    assert not store.episodes.claim(episode_id, ("new",), "host-b:2", soon, at)
    assert store.episodes.claimable(("new",), at) == [] and store.episodes.others_at_work("host-b:2", at) == {
        "host-a:1": 1
    }
    assert store.episodes.claim(episode_id, ("new",), "host-b:2", soon, iso(T0 + timedelta(minutes=6)))  # ran out
    store.episodes.release_claims("host-b:2")
    assert store.episodes.claim(episode_id, ("new",), "host-a:1", soon, at)
    assert not store.episodes.claim(episode_id, ("downloaded",), "host-c:3", soon, at)  # not in that state


def test_a_claim_of_a_process_that_died_here_is_taken_at_once(store):
    _, episode_id = episode(store)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    holder = f"{__import__('socket').gethostname()}:{gone.pid}"
    assert store.episodes.claim(episode_id, ("new",), holder, LATER, iso(T0))
    assert store.episodes.claim(episode_id, ("new",), "host-b:2", LATER, iso(T0))


def test_a_failure_counts_and_requeues_until_attempts_run_out(store):
    _, episode_id = episode(store)
    store.episodes.fail(episode_id, "HTTP 404: the enclosure is gone")
    assert store.episodes.retryable(2) == 1
    assert store.episodes.requeue(("failed",), T0, max_attempts=2) == 1
    assert store.episodes.get(episode_id).state == "new"
    store.episodes.fail(episode_id, "again")
    assert store.episodes.requeue(("failed",), T0, max_attempts=2) == 0
    assert store.episodes.get(episode_id).attempts == 2


# -- transcripts and insights -------------------------------------------------------------------


def test_a_transcript_is_stored_once_and_moves_its_episode_on(store):
    _, episode_id = episode(store)
    store.episodes.claim(episode_id, ("new",), "me:1", LATER, iso(T0))
    store.transcripts.save(episode_id, Transcript([Segment(0, 2.5, "Ice flows. Slowly.", "A")], source="publisher"))
    store.transcripts.save(episode_id, Transcript([Segment(0, 1, "Other words.")]))
    saved = store.transcripts.get(episode_id)
    assert [(s.start, s.end, s.text, s.speaker) for s in saved.segments] == [(0, 2.5, "Ice flows. Slowly.", "A")]
    assert store.episodes.get(episode_id).state == "transcribed"
    assert [e.id for e in store.episodes.claimable(("transcribed",), iso(T0))] == [episode_id]  # claim released
    with pytest.raises(NotFound, match="podsift scan"):
        store.transcripts.get(episode_id + 1)


def test_insights_keep_their_order_vectors_and_quote(store):
    episode_id, (first, second) = extracted(store)
    assert (first.rank, first.start, first.end, first.reasons) == (1, 18.0, 23.5, {"why": "a fact"})
    assert np.allclose(first.vector, unit(1, 0, 0)) and first.show_title == "" and first.episode_title == "Glaciers"
    assert [i.id for i in store.insights.by_id([second.id, 10**30, first.id])] == [second.id, first.id]
    assert store.episodes.get(episode_id).state == "extracted"
    store.insights.save(episode_id, [])  # saved already: kept as they are
    assert len(store.insights.matching(episode_ids=[episode_id])) == 2
    assert store.insights.matching(published=(T0, T0 + timedelta(days=1)), recipient_id=store.people.local())


def test_a_card_changes_what_the_reader_sees_until_it_is_forgotten(store):
    _, (first, _) = extracted(store)
    assert {i.id for i in store.insights.uncarded(5, T0)} == {i.id for i in store.insights.matching()}
    store.insights.save_card(first.id, "llama3.2", 2, "accepted", title="Ice", text="Ice flows.", tokens=9)
    shown = store.insights.by_id([first.id])[0]
    assert (shown.text, shown.extract, shown.card_title) == ("Ice flows.", first.text, "Ice")
    assert shown.edited_by == "llama3.2"
    assert first.id not in {i.id for i in store.insights.uncarded(5, T0)}
    assert store.insights.forget_cards() == 1 and store.insights.by_id([first.id])[0].text == first.text


def test_votes_replace_each_other(store):
    _, (first, _) = extracted(store)
    me = store.people.local()
    store.insights.vote(me, first.id, 1)
    store.insights.vote(me, first.id, -5)
    assert store.insights.votes(me) == {first.id: -1}
    with pytest.raises(NotFound, match="reload the page"):
        store.insights.vote(me, first.id + 100, 1)


def test_votes_add_up_per_show_for_the_order_episodes_are_transcribed_in(store):
    _, (first, second) = extracted(store)
    _, (other, _) = extracted(store, url="https://b/feed", guid="ep-2")
    me, bo = store.people.local(), store.people.add("bo@example.org")[0].id
    assert store.insights.votes_by_show() == {}
    store.insights.vote(me, first.id, 1)
    store.insights.vote(bo, second.id, 1)
    store.insights.vote(me, other.id, -1)
    shows = {i.id: store.episodes.get(i.episode_id).show_id for i in (first, other)}
    assert store.insights.votes_by_show() == {shows[first.id]: 2, shows[other.id]: -1}


def test_speech_speed_is_what_recent_speech_to_text_got_through_per_second(store):
    assert store.transcripts.speech_speed() is None
    for n, (audio, work) in enumerate([(600.0, 60.0), (300.0, 10.0)]):
        _, episode_id = episode(store, guid=f"s{n}")
        store.transcripts.save(episode_id, Transcript([Segment(0, audio, "Words.")], source="whisper"), work)
    _, published = episode(store, guid="p")
    store.transcripts.save(published, Transcript([Segment(0, 900, "Words.")], source="publisher"), 0.01)
    assert store.transcripts.speech_speed() == 900.0 / 70.0  # the publisher's transcript is not speech-to-text


def test_search_finds_insights_with_every_word_and_passages_that_hold_them_between_sentences(store):
    extracted(store)
    found = store.insights.search("glacier downhill", store.people.local())
    kinds = [(f["kind"], f["episode_title"]) for f in found]
    assert ("insight", "Glaciers") in kinds and ("passage", "Glaciers") in kinds
    insight = next(f for f in found if f["kind"] == "insight")
    assert "\x02" in insight["snippet"] and "downhill" in insight["snippet"]
    assert store.insights.search("glaciers sourdough", store.people.local()) == []


@pytest.mark.parametrize("query", ['"', 'glacier OR "ice', "-glacier", "glacier NEAR(ice)", "ice* or not", "a:b"])
def test_search_takes_words_never_syntax(store, query):
    extracted(store)
    assert isinstance(store.insights.search(query, store.people.local()), list)


def test_search_sees_only_the_shows_a_person_follows(store):
    store.people.add("ada@example.org")  # the owner, who follows the show
    extracted(store)
    bo, _ = store.people.add("bo@example.org")
    store.shows.subscribe(bo.id, "https://b/feed")
    assert store.insights.search("glaciers", bo.id) == []
    assert store.insights.search("glaciers", store.people.local())


def test_search_matches_the_words_said_never_the_show_a_row_belongs_to(store):
    episode_id, _ = extracted(store)
    show_id = store.episodes.get(episode_id).show_id
    assert store.insights.search(str(show_id), store.people.local()) == []


# -- digests and the outbox ---------------------------------------------------------------------


def test_a_digest_is_stored_once_unless_rebuilt_and_its_vectors_are_history(store):
    _, (first, second) = extracted(store)
    me = store.people.local()
    digest_id = store.digests.save(me, "2026-11-02", [(first.id, [second.id])])
    assert store.digests.save(me, "2026-11-02", []) == digest_id  # another process's, a moment ago: kept
    kept_id, [(item, also)] = store.digests.get(me, "2026-11-02")
    assert (kept_id, item.id, [a.id for a in also]) == (digest_id, first.id, [second.id])
    assert store.insights.sent_vectors(me, "2026-11-03").shape == (2, 3)
    assert store.insights.sent_vectors(me, "2026-11-02").shape == (0, 0)
    store.digests.save(me, "2026-11-02", [], replace=True)
    assert store.digests.get(me, "2026-11-02")[1] == [] and store.digests.days(me, with_items=True) == []
    store.digests.finish_day(me, "2026-11-02")
    store.digests.finish_day(me, "2026-11-02")
    assert store.digests.last_finished_day(me) == "2026-11-02"


def test_a_day_is_unsettled_while_a_feed_is_unchecked_or_an_episode_unread(store):
    show, episode_id = episode(store)
    me, day = store.people.local(), (T0.replace(hour=0), T0.replace(hour=0) + timedelta(days=1))
    assert "not been checked" in store.digests.unsettled(me, *day)
    store.shows.record_fetch(show.id, 200)
    assert "still being transcribed" in store.digests.unsettled(me, *day)
    store.transcripts.save(episode_id, transcript(EPISODE))
    store.insights.save(episode_id, [])
    assert store.digests.unsettled(me, *day) == ""


def test_the_outbox_writes_a_delivery_once_and_leases_it_for_sending(store):
    me = store.people.local()
    first = store.outbox.queue(me, "2026-11-02", "email", None, "<m1@x>")
    assert store.outbox.queue(me, "2026-11-02", "email", None, "<m2@x>").message_id == "<m1@x>"
    at = iso(T0)
    assert store.outbox.claim(first.id, at, iso(T0 + timedelta(minutes=5)), "host-a:1")
    assert not store.outbox.claim(first.id, at, iso(T0 + timedelta(minutes=5)), "host-b:2")
    store.outbox.retry_later(first.id, "451 try later", iso(T0 + timedelta(hours=1)))
    assert store.outbox.get(first.id).status == "pending" and [d.id for d in store.outbox.unsent()] == [first.id]
    store.outbox.failed(first.id, "550 no such user")
    assert store.outbox.retry_now(first.id).status == "pending"
    store.outbox.sent(first.id)
    assert store.outbox.retry_now(first.id).status == "sent" and store.outbox.unsent() == []
    assert [d.attempts for d in store.outbox.all("2026-11-02")] == [1]


# -- runs, locks and transactions ---------------------------------------------------------------


def test_a_named_lock_has_one_holder_until_released_or_expired(store):
    assert store.runs.acquire("daily", "host-a:1", iso(T0 + timedelta(hours=1)), iso(T0))
    assert not store.runs.acquire("daily", "host-b:2", iso(T0 + timedelta(hours=1)), iso(T0))
    assert store.runs.acquire("daily", "host-b:2", LATER, iso(T0 + timedelta(hours=2)))  # expired
    store.runs.release("daily", "host-b:2")
    assert store.runs.lock_holder("daily") is None


def test_runs_keep_their_outcome_and_errors_and_only_the_latest_are_kept(store):
    run = store.runs.start("scan", "me:1")
    store.runs.error(run, "feed down")
    store.runs.beat(run, "waiting")
    store.runs.end(run, "ok", "3 episodes")
    latest = store.runs.latest("scan")
    assert (latest.outcome, latest.summary, latest.error) == ("ok", "3 episodes", "feed down")
    assert store.runs.last_error().id == run
    for _ in range(3):
        store.runs.start("daily", "me:1")
    assert store.runs.latest("daily").id > run and KEEP_RUNS >= 3


def test_a_failed_transaction_leaves_nothing_half_done(store):
    with pytest.raises(StoreError, match="rolled back"):
        with store.transaction():
            store.db.execute("INSERT INTO shows (feed_url, created_at) VALUES ('https://x/f', 'now')")
            store.db.execute("INSERT INTO shows (feed_url, created_at) VALUES ('https://x/f', 'now')")
    assert store.db.value("SELECT COUNT(*) FROM shows") == 0
    store.shows.subscribe(store.people.local(), "https://x/f")  # the connection goes on working
    assert len(store.shows.followed()) == 1


# -- the whole command line on Postgres ---------------------------------------------------------


def test_the_threaded_scan_and_the_digest_run_on_postgres_as_on_sqlite(server, home, database_url, monkeypatch):
    from click.testing import CliRunner
    from conftest import rss, vtt

    from podsift.cli import main

    monkeypatch.setenv("PODSIFT_DATABASE_URL", database_url)
    monkeypatch.setenv("PODSIFT_ALLOW_PRIVATE_NETWORKS", "1")
    published = datetime.now(timezone.utc) - timedelta(days=1)
    (server.root / "ep.vtt").write_text(vtt(EPISODE))
    item = {"guid": "ep-1", "title": "Glaciers", "audio": f"{server.url}/ep.mp3", "transcript": f"{server.url}/ep.vtt"}
    (server.root / "feed.xml").write_text(rss("Cold Facts", [{**item, "published": published}]))

    def cli(*args):
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    cli("subscribe", f"{server.url}/feed.xml")
    assert "episodes with insights found │ 1" in cli("scan", "--here", "--quiet")  # threads, on Postgres
    assert "Glaciers flow because ice" in cli("digest", "--date", published.date().isoformat())
    assert not (home / "podsift.db").exists()  # nothing went to SQLite
    from podsift.store.postgres import PostgresDatabase

    db = PostgresDatabase(database_url)
    try:
        assert db.value("SELECT COUNT(*) FROM search WHERE kind = 'sentence'") == len(EPISODE)
        assert db.value("SELECT state FROM episodes") == "extracted"
    finally:
        db.close()


# -- followed subjects ----------------------------------------------------------------------------


def test_followed_subjects_and_what_each_digest_carried_for_them(store):
    me = store.people.local()
    topic = store.people.follow_topic(me, "  glacier   flow ")
    assert store.people.follow_topic(me, "glacier flow").id == topic.id  # once, spaces tidied
    episode_id = store.episodes.add(
        episode(store, guid="ep-0")[0].id,
        FeedItem(guid="ep-2", title="Ice", audio_url="https://a/2.mp3", published=T0),
        "new",
    )
    store.transcripts.save(episode_id, transcript(EPISODE))
    sentences = np.stack([unit(1, 0, 0), unit(1, 1, 0)])
    store.insights.save(
        episode_id,
        [
            Insight(EPISODE[3], EPISODE[3], 18.0, 23.5, 0.9, {}, unit(1, 0, 0), 1, sentences=sentences),
            Insight(EPISODE[4], EPISODE[4], 24.0, 29.5, 0.1, {}, unit(0, 1, 0), 2),
        ],
    )
    first, second = store.insights.matching(episode_ids=[episode_id])
    stored = store.insights.sentence_vectors([first.id, second.id])
    assert list(stored) == [first.id] and np.allclose(stored[first.id], sentences, atol=1e-3)
    window = (T0 - timedelta(days=1), T0 + timedelta(days=1))
    ids, vectors = store.insights.topic_candidates(*window, min_score=0.5)
    assert list(ids) == [first.id] and vectors.shape == (1, 3)
    assert len(store.insights.topic_candidates(T0 + timedelta(days=1), T0 + timedelta(days=2), 0.0)[0]) == 0
    assert sorted(store.insights.naming("glacier")) == [first.id, second.id]  # the full-text index: stems too

    digest_id = store.digests.save(me, "2026-11-02", [(second.id, [])], sections=[(topic.id, [(first.id, [])])])
    ((topic_id, query, items),) = store.digests.sections(digest_id)
    assert (topic_id, query, [i.id for i, _ in items]) == (topic.id, "glacier flow", [first.id])
    ((day, _, carried),) = store.digests.topic_days(topic.id)
    assert day == "2026-11-02" and [i.id for i, _ in carried] == [first.id]
    assert len(store.insights.sent_vectors(me, before_day="2026-11-03")) == 2  # the section's insight too

    store.people.unfollow_topic(me, topic.id)
    assert store.people.topics(me) == [] and store.digests.sections(digest_id) == []
    with pytest.raises(PodsiftError, match="a topic needs words"):
        store.people.follow_topic(me, "   ")
