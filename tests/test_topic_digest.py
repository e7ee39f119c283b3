"""Topic digests over real published episodes (tests/data/transcripts, none in the benchmark's
corpora): a subject followed across every show, by meaning; following one puts it in the email
and an Atom feed of its own, never twice.

The install: ada follows Python Bytes (456 on Nov 2, 468 on Nov 3) and The Changelog (669 on
Nov 2); bob follows Changelog Master, which re-posts 669 on Nov 3, as the Changelog's all-shows
feed re-posts each of its shows' episodes. A re-post is the same idea on a second show.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from podsift.cli import main
from podsift.deliver.mail import SmtpServer, topic_feed_url
from podsift.deliver.rank import digest_for
from podsift.deliver.topic import initials, topic_digest
from podsift.insights.extract import Extractor
from podsift.models import FeedItem
from podsift.net import Fetcher
from podsift.parsers.transcript import parse_transcript
from podsift.pipeline import Context, deliver_day
from podsift.store import Store
from podsift.transcribe.whisper import WhisperTranscriber
from podsift.users import hash_password
from podsift.web import create_app

DATA = Path(__file__).parent / "data" / "transcripts"
EPISODES = [  # show, feed, file, published
    ("Python Bytes", "https://pythonbytes.example/rss", "python-bytes-456.vtt", datetime(2026, 11, 2, 9)),
    ("The Changelog", "https://changelog.example/podcast/feed", "the-changelog-669.vtt", datetime(2026, 11, 2, 12)),
    ("Python Bytes", "https://pythonbytes.example/rss", "python-bytes-468.vtt", datetime(2026, 11, 3, 9)),
    ("Changelog Master", "https://changelog.example/master/feed", "the-changelog-669.vtt", datetime(2026, 11, 3, 8)),
]
WINDOW = (datetime(2026, 11, 2, tzinfo=timezone.utc), datetime(2026, 11, 4, tzinfo=timezone.utc))


@pytest.fixture(scope="module")
def built(tmp_path_factory, embedder) -> Path:
    """The install's store, built once: every episode's transcript and insights."""
    path = tmp_path_factory.mktemp("topics") / "podsift.db"
    extractor, extracted = Extractor(embedder), {}
    with Store.open(path) as store:
        ada, _ = store.people.add("ada@example.org", "Ada", hash_password("s3cret"))
        bob, _ = store.people.add("bob@example.org", "Bob")
        for title, feed, name, published in EPISODES:
            follower = bob if title == "Changelog Master" else ada
            show, _ = store.shows.subscribe(follower.id, feed)
            store.db.execute("UPDATE shows SET title = %s WHERE id = %s", (title, show.id))
            store.shows.record_fetch(show.id, 200)  # checked since: the days are settled
            slug = name.removesuffix(".vtt")
            item = FeedItem(
                slug, slug, f"https://cdn.example/{slug}.mp3", published=published.replace(tzinfo=timezone.utc)
            )
            episode_id = store.episodes.add(show.id, item, "new")
            store.transcripts.save(episode_id, parse_transcript((DATA / name).read_bytes(), "text/vtt"))
            if name not in extracted:  # the re-post's transcript is the same: so are its insights
                extracted[name] = extractor.extract(store.transcripts.get(episode_id), slug)
            store.insights.save(episode_id, extracted[name])
    return path


@pytest.fixture
def install(built, settings):
    settings.home.mkdir(parents=True, exist_ok=True)
    shutil.copy(built, settings.db_path)
    return settings


def about(settings, embedder, topic: str):
    with Store.open(settings.db_path) as store:
        return topic_digest(store, embedder, topic, *WINDOW)


def shows_of(items) -> set[str]:
    return {i.show_title for item in items for i in [item.insight, *item.also]}


def test_a_subject_spans_the_shows_that_talked_about_it(install, embedder):
    items = about(install, embedder, "caching")
    assert {"Python Bytes", "The Changelog"} <= shows_of(items)
    assert all(re.search(r"cach", item.insight.text, re.I) for item in items)  # each is about caching


def test_meaning_not_shared_words_finds_an_abbreviation(install, embedder):
    assert initials("large language models") == "LLM" and initials("caching") == ""
    (item,) = about(install, embedder, "large language models")
    assert "LLMs" in item.insight.text and item.insight.show_title == "Python Bytes"


def test_a_word_used_in_another_sense_stays_out(install, embedder):
    computing = about(install, embedder, "computer memory")
    assert any("Memory is so much more expensive than CPU" in i.insight.text for i in computing)
    human = about(install, embedder, "memory loss")  # the same word, of people: nobody here spoke of it
    assert not any("memory" in i.insight.text.lower() for i in human)
    assert about(install, embedder, "diffusion models") == []  # a subject nobody talked about: no filler


def test_the_same_idea_on_two_shows_is_told_once_naming_both(install, embedder):
    items = about(install, embedder, "caching")
    (told,) = [item for item in items if "cache algorithm" in item.insight.text]
    assert {told.insight.show_title, *(a.show_title for a in told.also)} == {"The Changelog", "Changelog Master"}
    assert len({item.insight.text for item in items}) == len(items)


def test_the_command_prints_every_format(install, embedder):
    run = CliRunner().invoke(
        main, ["topic", "caching", "--since", "2026-11-02", "--until", "2026-11-03", "--format", "json"]
    )
    assert run.exit_code == 0, run.output
    doc = json.loads(run.output)
    assert (doc["topic"], doc["since"], doc["until"]) == ("caching", "2026-11-02", "2026-11-03")
    first = doc["items"][0]
    assert {"insight", "quote", "podcast", "episode", "guid", "audio_url", "start", "end"} <= set(first)
    text = CliRunner().invoke(main, ["topic", "caching", "--since", "2026-11-02", "--until", "2026-11-03"]).output
    assert "podsift on 'caching', 2026-11-02 to 2026-11-03" in text and "#t=" in text
    empty = CliRunner().invoke(main, ["topic", "caching", "--since", "2026-10-01", "--until", "2026-10-07"])
    assert empty.exit_code == 0 and "nothing was said about it then" in empty.output
    wrong = CliRunner().invoke(main, ["topic", "caching", "--since", "2026-11-05", "--until", "2026-11-01"])
    assert wrong.exit_code == 1 and "is after --until" in wrong.output


def deliver(settings, embedder, day: date):
    with Store.open(settings.db_path) as store, Fetcher(settings) as fetcher:
        ctx = Context(settings, store, fetcher, WhisperTranscriber(settings.transcribe), Extractor(embedder))
        ada = store.people.by_email("ada@example.org")
        return deliver_day(ctx, ada, day, embedder, SmtpServer.from_settings(settings))


def test_a_followed_subject_comes_in_the_email_and_its_feed_and_never_twice(install, embedder, smtp):
    settings = dataclasses.replace(install, smtp_url=smtp.url, mail_from="podsift <d@example.org>")
    added = CliRunner().invoke(main, ["user", "add", "ada@example.org", "--topic", "caching"])
    assert added.exit_code == 0 and "Follows 'caching'" in added.output

    digest, delivery = deliver(settings, embedder, date(2026, 11, 2))
    assert delivery.status == "sent" and [s.topic for s in digest.sections] == ["caching"]
    carried = {item.insight.text for item in digest.sections[0].items}
    assert any("cache algorithm" in text for text in carried)
    assert not carried & {item.insight.text for item in digest.items}  # not twice in one email
    message = smtp.messages[0]
    assert "and on \u201ccaching\u201d" in message["Subject"]
    plain = message.get_body(("plain",)).get_content()
    assert "On 'caching'" in plain and "cache algorithm" in plain
    assert "On \u201ccaching\u201d" in message.get_body(("html",)).get_content()

    later, _ = deliver(settings, embedder, date(2026, 11, 3))  # the re-post of 669 comes that day
    assert all(not carried & {i.insight.text for i in s.items} for s in later.sections)
    assert len(smtp.messages) == 2 and "cache algorithm" not in smtp.messages[1].get_body(("plain",)).get_content()

    with Store.open(settings.db_path) as store:
        ada = store.people.by_email("ada@example.org")
        (topic,) = store.people.topics(ada.id)
    client = TestClient(create_app(settings))
    feed = client.get(topic_feed_url(settings, ada.id, topic.id).replace(settings.base_url, ""))
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    assert feed.text.count("<entry>") == 1 and "cache algorithm" in feed.text  # Nov 2: all it has carried
    forged = client.get(f"/feed/{ada.id}/topics/{topic.id}/not-the-token.atom")
    assert forged.status_code == 404


def test_the_web_app_asks_follows_and_unfollows_a_subject(install):
    client = TestClient(create_app(install))
    token = csrf(client.get("/login").text)
    client.post("/login", data={"email": "ada@example.org", "password": "s3cret", "csrf": token})
    page = client.get("/subject", params={"q": "caching", "days": "365"})
    assert page.status_code == 200 and "cache algorithm" in page.text and "Changelog Master" in page.text
    assert 'href="/episode/' in page.text  # her own shows' transcripts are a click away...
    assert page.text.count('href="/episode/') < page.text.count('class="play"')  # ...not bob's show's
    followed = client.post("/subject/follow", data={"q": "  caching ", "csrf": csrf(page.text)})
    assert followed.status_code == 200 and "Stop following" in followed.text
    settings_page = client.get("/settings").text
    assert "<b>caching</b>" in settings_page and "/topics/" in settings_page and ".atom" in settings_page
    topic_id = re.search(r'name="id" value="(\d+)"', settings_page).group(1)
    client.post("/subject/unfollow", data={"id": topic_id, "csrf": csrf(settings_page)})
    assert "<b>caching</b>" not in client.get("/settings").text
    assert client.get("/subject", params={"q": "x" * 101}).status_code == 400


def csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_a_weekly_subject_waits_for_sunday_and_gathers_the_week(install, embedder):
    settings = dataclasses.replace(install, topic_digests="weekly")
    with Store.open(settings.db_path) as store:
        ada = store.people.by_email("ada@example.org")
        store.people.follow_topic(ada.id, "caching")
        monday = digest_for(store, settings, ada.id, date(2026, 11, 2), embedder)  # the day of the episodes
        sunday = digest_for(store, settings, ada.id, date(2026, 11, 8), embedder)
    assert monday.sections == [] and sunday.items == []  # nothing published on Sunday itself
    (section,) = sunday.sections
    assert shows_of(section.items) >= {"The Changelog", "Changelog Master"}  # the week's, both days
    daily = {item.insight.text for item in monday.items}
    assert any("memory during caching" in text for text in daily)  # Monday's five carried this one...
    assert not daily & {item.insight.text for item in section.items}  # ...so Sunday's section does not
