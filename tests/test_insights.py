"""Insight extraction and the daily digest, on small transcripts written for these tests."""

from datetime import date, datetime, timezone

import numpy as np
import pytest
from conftest import EPISODE, transcript

from podsift.deliver.rank import MIN_SCORE, choose, day_bounds, digest_for
from podsift.insights.clean import clean_sentence, dangles, reader_text
from podsift.insights.extract import Extractor, Insight, note_subjects
from podsift.models import FeedItem, StoredInsight
from podsift.store import Store


@pytest.mark.parametrize(
    "spoken,read",
    [
        ("So, um, the the system itself is, uh, unstable.", "The system itself is unstable."),
        ("Yeah, you know, basically ice flows.", "Ice flows."),
        ("Sam, okay, so loss aversion is real", "Loss aversion is real"),
        ("and i think it works", "I think it works"),
        ("Right.", ""),  # a bare reaction leaves nothing to read
    ],
)
def test_cleaning_removes_disfluencies_and_keeps_meaning(spoken, read):
    assert clean_sentence(spoken) == read


def test_reader_text_drops_interjections_inside_a_passage():
    text = reader_text(
        ["The system is unstable.", "Wants to?", "Oh no.", "A late bus collects more riders, so it falls later."]
    )
    assert text == "The system is unstable. A late bus collects more riders, so it falls later."


def test_candidates_never_open_on_a_dangling_word(embedder):
    found = Extractor(embedder).candidates(transcript(EPISODE).segments)
    assert found and not any(dangles(c.text) for c in found)
    assert all(25 <= len(c.text.split()) <= 80 for c in found)
    # "It means ..." only appears joined to the sentence that says what "it" is.
    joined = [c for c in found if "It means a glacier" in c.text]
    assert joined and all("Glaciers flow because" in c.text for c in joined)


def test_the_insight_outranks_intro_ad_and_outro(embedder):
    # EPISODE with a second subject before its ad: long enough for several picks and ad candidates.
    sentences = EPISODE[:7] + COOKING[3:5] + EPISODE[7:]
    extractor = Extractor(embedder)
    insights = extractor.extract(transcript(sentences), "Why glaciers move", "How ice flows downhill.")
    best = insights[0]
    assert best.rank == 1 and best.quote.startswith(("Glaciers flow because ice", "Salt does not make"))
    assert best.reasons["for"] and "features" in best.reasons
    scored = extractor.scored(transcript(sentences), "Why glaciers move", "How ice flows downhill.")
    ads = [c for c in scored if "promo code" in c.quote or "brought to you" in c.quote]
    assert ads and all(a.score < best.score - 0.1 for a in ads)  # every passage with the ad in it
    assert len(insights) >= 2
    for n, a in enumerate(insights):  # no two picks overlap in time
        assert all(a.end <= b.start or b.end <= a.start for b in insights[n + 1 :]), (a.quote, insights)


def insight(id, show, vector, score=0.8, text="x"):
    v = np.asarray(vector, dtype=np.float32)
    return StoredInsight(
        id, id, 1, text, text, 0.0, 10.0, score, {}, v / np.linalg.norm(v), f"g{id}", "ep", "a", show, f"show {show}"
    )


AXES = np.eye(8)
NOTHING_SENT = np.zeros((0, 0), dtype=np.float32)


def test_digest_caps_two_per_show_and_five_in_all():
    candidates = [insight(i, show=1 if i < 4 else i, vector=AXES[i], score=0.9 - i * 0.01) for i in range(8)]
    items = choose(candidates, NOTHING_SENT)
    assert [i.insight.id for i in items] == [0, 1, 4, 5, 6]


def test_same_idea_on_two_shows_is_one_item_naming_both():
    items = choose(
        [insight(1, 1, [1, 0.1, 0]), insight(2, 2, [1, 0, 0.1], score=0.7), insight(3, 3, [0, 0, 1])], NOTHING_SENT
    )
    assert [i.insight.id for i in items] == [1, 3]
    assert [a.id for a in items[0].also] == [2]


def test_idea_sent_before_is_never_sent_again():
    sent = np.stack([insight(9, 5, [1, 0.05, 0]).vector])
    items = choose([insight(1, 1, [1, 0, 0]), insight(2, 2, [0, 1, 0], score=0.6)], sent)
    assert [i.insight.id for i in items] == [2]


def test_quiet_day_gives_a_short_digest():
    thin = insight(2, 2, AXES[1], score=MIN_SCORE - 0.01)  # fewer than one in three like it were worth sending
    items = choose([insight(1, 1, AXES[0], score=0.9), thin], NOTHING_SENT)
    assert [i.insight.id for i in items] == [1]


def test_interests_lift_their_subjects():
    plain = [insight(1, 1, AXES[0], score=0.8), insight(2, 2, AXES[1], score=0.7)]
    assert choose(plain, NOTHING_SENT, interests=np.array([AXES[1]], dtype=np.float32))[0].insight.id == 2


def test_day_bounds_follow_the_time_zone():
    start, end = day_bounds(date(2026, 11, 2), "America/New_York")
    assert start.astimezone(timezone.utc) == datetime(2026, 11, 2, 5, tzinfo=timezone.utc)
    assert (end - start).total_seconds() == 86400


def test_digest_is_built_once_and_later_days_skip_what_was_sent(settings, embedder):
    with Store.open(settings.db_path) as store:
        me = store.people.local()
        store.people.set_interests(me, ["cooking"])  # lifts show c's passage over the score threshold
        extractor = Extractor(embedder)
        episodes = (("a", 2, EPISODE, "Glaciers"), ("b", 3, EPISODE, "Glaciers"), ("c", 3, COOKING, "Pasta water"))
        for feed, day, sentences, title in episodes:  # show b retells a's glacier story the next day
            show, _ = store.shows.subscribe(me, f"https://{feed}.example/feed")
            store.shows.record_fetch(show.id, 200)  # checked since: the days are settled
            published = datetime(2026, 11, day, 9, tzinfo=timezone.utc)
            item = FeedItem(guid=feed, title=title, audio_url=f"https://x/{feed}.mp3", published=published)
            episode_id = store.episodes.add(show.id, item, "transcribed")
            store.insights.save(episode_id, extractor.extract(transcript(sentences), title))

        first = digest_for(store, settings, me, date(2026, 11, 2), embedder)
        assert first.id is not None and not first.provisional and first.items[0].insight.guid == "a"
        again = digest_for(store, settings, me, date(2026, 11, 2), embedder)
        assert (again.id, [i.insight.id for i in again.items]) == (first.id, [i.insight.id for i in first.items])
        # The next day show b tells the same glacier story and show c something new: only c's is sent.
        second = digest_for(store, settings, me, date(2026, 11, 3), embedder)
        assert [i.insight.guid for i in second.items] == ["c"]
        assert all(float(i.insight.vector @ first.items[0].insight.vector) < 0.6 for i in second.items)
        rebuilt = digest_for(store, settings, me, date(2026, 11, 2), embedder, rebuild=True)
        assert [i.insight.id for i in rebuilt.items] == [i.insight.id for i in first.items]


def test_sent_vectors_are_every_insight_earlier_digests_carried(settings):
    with Store.open(settings.db_path) as store:
        me, _ = store.people.add("me@example.org")
        other, _ = store.people.add("other@example.org")
        show, _ = store.shows.subscribe(me.id, "https://a.example/feed")
        item = FeedItem(guid="g", title="t", audio_url="https://a.example/1.mp3")
        episode_id = store.episodes.add(show.id, item, "transcribed")
        vectors = AXES[:3].astype(np.float32)
        store.insights.save(episode_id, [Insight("x", "x", 0, 1, 1.0, {}, v, rank) for rank, v in enumerate(vectors)])
        first, heard_elsewhere, later = [i.id for i in store.insights.matching(episode_ids=[episode_id])]
        store.digests.save(me.id, "2026-11-02", [(first, [heard_elsewhere])])
        store.digests.save(me.id, "2026-11-03", [(later, [])])

        sent = store.insights.sent_vectors(me.id, before_day="2026-11-03")
        assert sorted(map(tuple, sent)) == sorted(map(tuple, vectors[:2]))
        assert store.insights.sent_vectors(me.id, before_day="2026-11-02").shape[0] == 0
        assert store.insights.sent_vectors(other.id, before_day="2026-12-01").shape[0] == 0


def test_digest_and_insights_commands_print_the_benchmark_interface(settings, embedder):
    import json

    from click.testing import CliRunner

    from podsift.cli import main

    with Store.open(settings.db_path) as store:
        show, _ = store.shows.subscribe(store.people.local(), "https://a.example/feed")
        store.shows.record_fetch(show.id, 200)
        published = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)
        item = FeedItem(guid="ep-1", title="Glaciers", audio_url="https://a.example/1.mp3", published=published)
        episode_id = store.episodes.add(show.id, item, "transcribed")
        store.insights.save(episode_id, Extractor(embedder).extract(transcript(EPISODE), "Why glaciers move"))

    runner = CliRunner()
    digest = json.loads(runner.invoke(main, ["digest", "--date", "2026-11-02", "--format", "json"]).stdout)
    assert digest["date"] == "2026-11-02" and digest["items"]
    first = digest["items"][0]
    assert {"rank", "insight", "quote", "podcast", "episode", "guid", "audio_url", "start", "end"} <= set(first)
    assert (first["rank"], first["guid"], first["start"]) == (1, "ep-1", 18.0)

    listed = json.loads(runner.invoke(main, ["insights", "--format", "json"]).stdout)
    ranks = [i["rank"] for i in listed["episodes"][0]["insights"]]
    assert listed["episodes"][0]["guid"] == "ep-1" and ranks == sorted(ranks) and ranks[0] == 1

    explained = runner.invoke(main, ["insights", "--explain"]).output
    assert "for: " in explained and "Glaciers flow because" in explained
    markdown = runner.invoke(main, ["digest", "--date", "2026-11-02", "--format", "markdown"]).output
    assert "(https://a.example/1.mp3#t=18)" in markdown
    html = runner.invoke(main, ["digest", "--date", "2026-11-02", "--format", "html"]).output
    assert html.startswith("<!doctype html>") and "#t=18" in html
    empty = runner.invoke(main, ["digest", "--date", "2026-11-05"]).output
    assert "nothing worth your time" in empty


def test_digest_html_escapes_feed_text():
    from podsift.deliver.items import DigestItem
    from podsift.deliver.render import digest_html

    hostile = insight(1, 1, AXES[0], text="<script>alert(1)</script> & more")
    hostile.show_title = '<img src=x onerror="alert(1)">'
    page = digest_html("2026-11-02", [DigestItem(hostile)])
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page


# An episode shaped like EPISODE (greeting, subject, three sentences on it, a reaction, an ad, a
# sign-off) on another subject, so that what tells the two apart is their subject alone.
COOKING = [
    "Welcome to the kitchen show, I'm your host, and today a chef joins us.",
    "Thanks, it's a pleasure to be here.",
    "So, let's talk about pasta water.",
    "Salt does not make pasta water boil faster, because at normal amounts it raises the boiling point by less "
    "than a tenth of a degree.",
    "The real reason to salt the water is flavour, since pasta absorbs the water as it cooks and the salt seasons "
    "it from the inside.",
    "That's why cooks salt the water and not the plate, since salt sprinkled on at the end only coats the surface.",
    "Ha, I love that.",
    "This episode is brought to you by PanCo, the pans that chefs trust.",
    "Visit panco dot com slash show and use promo code PASTA for ten percent off your first pan.",
    "Thanks for listening, see you next week.",
]


def test_each_recipient_s_interests_lift_their_subjects(settings, embedder):
    with Store.open(settings.db_path) as store:
        me = store.people.local()
        extractor = Extractor(embedder)
        for feed, sentences, title in (("ice", EPISODE, "Glaciers"), ("food", COOKING, "Pasta water")):
            show, _ = store.shows.subscribe(me, f"https://{feed}.example/feed")
            item = FeedItem(
                guid=feed,
                title=title,
                audio_url=f"https://{feed}.example/1.mp3",
                published=datetime(2026, 11, 2, 9, tzinfo=timezone.utc),
            )
            episode_id = store.episodes.add(show.id, item, "transcribed")
            store.insights.save(episode_id, extractor.extract(transcript(sentences), title))
        firsts = {}
        for interest in ("cooking pasta", "glaciers and ice"):
            store.people.set_interests(me, [interest])
            digest = digest_for(store, settings, me, date(2026, 11, 2), embedder, rebuild=True)
            firsts[interest] = digest.items[0].insight.guid
    assert firsts == {"cooking pasta": "food", "glaciers and ice": "ice"}


def test_show_notes_name_the_subjects_a_passage_can_be_about(embedder):
    notes = "The hosts cover a new release of the database, why tests beat puzzles in interviews, and a faster linter."
    assert note_subjects(notes) == [
        "The hosts cover a new release of the database",
        "why tests beat puzzles in interviews",
        "a faster linter.",
    ]
    extractor = Extractor(embedder)
    sentences = EPISODE[:3] + COOKING[3:6] + EPISODE[3:]
    scored = extractor.scored(
        transcript(sentences), "Kitchen science", "Why salt goes in pasta water, and how glaciers flow."
    )
    salt = max(c.reasons["features"]["subject"] for c in scored if "Salt does not" in c.quote)
    ad = max(c.reasons["features"]["subject"] for c in scored if "promo code" in c.quote)
    assert salt > ad + 0.2
