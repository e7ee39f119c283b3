"""The web app for several people (in-process, over Starlette's test client): each person's settings
and password, the owner's admin page with its outbox and retry, and each show's own page with its
episodes, "check now" against a real feed on 127.0.0.1, and removal behind a confirmation; and the
exports of a day or an episode (Markdown, Readwise's CSV, JSON)."""

from __future__ import annotations

import csv
import io
import json
import re

import lxml.html
import pytest
from conftest import rss, seed
from starlette.testclient import TestClient

from podsift.deliver.mail import feed_url
from podsift.store import Store
from podsift.web import create_app


def csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def logged_in(settings, email="ada@example.org", password="s3cret") -> TestClient:
    client = TestClient(create_app(settings))
    token = csrf(client.get("/login").text)
    client.post("/login", data={"email": email, "password": password, "csrf": token})
    assert client.get("/feeds").url.path == "/feeds", "the login failed"
    return client


def post(client: TestClient, path: str, page: str = "/settings", **data):
    """Submit a form as the browser would: with the CSRF token of the page it is on."""
    return client.post(path, data={"csrf": csrf(client.get(page).text), **data})


@pytest.fixture
def ada(settings, embedder):
    """Ada, the owner, who follows Cold Facts; logged in."""
    seed(settings, embedder, password="s3cret")
    return logged_in(settings)


def person(settings):
    with Store.open(settings.db_path) as store:
        return store.people.by_email("ada@example.org")


def test_settings_are_saved_and_a_wrong_one_is_refused_with_what_is_valid(ada, settings):
    saved = post(ada, "/settings", timezone="Asia/Tokyo", delivery_time="06:30", interests="space\n\n rockets \n")
    assert saved.status_code == 200 and "Saved." in saved.text  # email unticked: off
    me = person(settings)
    assert (me.timezone, me.delivery_time, me.interests) == ("Asia/Tokyo", "06:30", ["space", "rockets"])
    assert me.unsubscribed_at and "Email is off" in saved.text

    wrong = post(ada, "/settings", timezone="Mars/Olympus", delivery_time="06:30", email="on")
    assert wrong.status_code == 400 and "unknown time zone &#39;Mars/Olympus&#39;" in wrong.text
    late = post(ada, "/settings", timezone="", delivery_time="25:00", email="on")
    assert late.status_code == 400 and "use HH:MM" in late.text
    assert person(settings).timezone == "Asia/Tokyo"  # a refused form changes nothing

    post(ada, "/settings", timezone="", delivery_time="", interests="", email="on")  # back to the install's
    me = person(settings)
    assert (me.timezone, me.delivery_time, me.interests, me.unsubscribed_at) == (None, None, [], None)
    page = lxml.html.fromstring(ada.get("/settings").text)
    assert page.xpath("//select[@name='timezone']/option[@selected]")[0].text.startswith("The install's (UTC)")


def test_the_settings_page_gives_the_persons_own_atom_address_and_it_serves_their_digests(ada, settings):
    shown = lxml.html.fromstring(ada.get("/settings").text).get_element_by_id("atom-url").text_content()
    assert shown == feed_url(settings, person(settings).id)
    feed = TestClient(create_app(settings)).get(shown.replace(settings.base_url, ""))  # a feed reader: no login
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")


def test_a_password_change_needs_the_current_one_and_logs_out_every_other_session(ada, settings):
    elsewhere = logged_in(settings)
    wrong = post(ada, "/settings/password", current="guess", new="n3w-pass", again="n3w-pass")
    assert wrong.status_code == 400 and "current password is wrong" in wrong.text
    typo = post(ada, "/settings/password", current="s3cret", new="n3w-pass", again="n3w-pasz")
    assert typo.status_code == 400 and "not typed the same twice" in typo.text
    assert elsewhere.get("/feeds").url.path == "/feeds"  # nothing changed yet

    done = post(ada, "/settings/password", current="s3cret", new="n3w-pass", again="n3w-pass")
    assert done.status_code == 200 and "Password changed" in done.text
    assert ada.get("/feeds").url.path == "/feeds"  # this browser stays in...
    assert elsewhere.get("/feeds").url.path == "/login"  # ...every other session is over
    logged_in(settings, password="n3w-pass")


def test_the_admin_page_lists_people_feeds_and_the_outbox_and_retries_a_failed_email(ada, settings, embedder):
    seed(settings, embedder, "bo@example.org", "hunter2", "https://b.example/1.mp3", "Ice Hour", "https://b.example/f")
    with Store.open(settings.db_path) as store:
        bo = store.people.by_email("bo@example.org")
        failed = store.outbox.queue(bo.id, "2026-11-02", "email", None, "<m1@example.org>")
        store.outbox.failed(failed.id, "550 mailbox unavailable")
        store.shows.record_error(store.shows.by_url("https://b.example/f").id, 404, "HTTP 404 Not Found", None, False)

    page = lxml.html.fromstring(ada.get("/admin").text)
    people = page.get_element_by_id("people-table").text_content()
    assert "ada@example.org" in people and "(owner)" in people and "bo@example.org" in people
    assert "HTTP 404 Not Found" in page.get_element_by_id("feeds-table").text_content()
    outbox = page.get_element_by_id("outbox-table").text_content()
    assert "550 mailbox unavailable" in outbox and "failed" in outbox

    retried = post(ada, f"/admin/outbox/{failed.id}/retry", page="/admin")
    assert retried.status_code == 200 and "queued again" in retried.text
    with Store.open(settings.db_path) as store:
        assert store.outbox.get(failed.id).status == "pending"

    bo_client = logged_in(settings, "bo@example.org", "hunter2")
    assert bo_client.get("/admin").status_code == 404
    refused = post(bo_client, f"/admin/outbox/{failed.id}/retry", page="/feeds")
    assert refused.status_code == 404


def test_a_show_page_lists_its_episodes_and_checks_the_feed_now(settings, embedder, server, monkeypatch):
    monkeypatch.setenv("PODSIFT_ALLOW_PRIVATE_NETWORKS", "1")
    items = [{"title": "Deep ice", "guid": "deep-1", "audio": f"{server.url}/1.mp3"}]
    (server.root / "feed.xml").write_text(rss("Cold Facts", items))
    seed(settings, embedder, password="s3cret", feed=f"{server.url}/feed.xml")
    from podsift.settings import load_settings

    client = logged_in(load_settings())
    with Store.open(settings.db_path) as store:
        show = store.shows.by_url(f"{server.url}/feed.xml")

    page = client.get(f"/show/{show.id}")
    assert page.status_code == 200 and "Glaciers" in page.text and "done" in page.text
    checked = post(client, f"/show/{show.id}/check", page=f"/show/{show.id}")
    assert checked.status_code == 200 and "Checked: 1 new episode(s)" in checked.text
    assert "Deep ice" in checked.text and "waiting for the next scan" in checked.text

    (server.root / "feed.xml").unlink()
    gone = post(client, f"/show/{show.id}/check", page=f"/show/{show.id}")
    assert "The check failed" in gone.text and "404" in gone.text
    assert client.get("/show/99999").status_code == 404


def test_a_show_is_removed_only_after_its_confirmation_page(ada, settings):
    with Store.open(settings.db_path) as store:
        show = store.shows.followed()[0]
    confirm = ada.get(f"/show/{show.id}/remove")
    assert confirm.status_code == 200 and "Remove Cold Facts?" in confirm.text
    assert "Cold Facts" in ada.get("/feeds").text  # asking is not removing
    removed = post(ada, "/feeds/remove", page=f"/show/{show.id}/remove", url=show.feed_url)
    assert removed.url.path == "/feeds" and "No shows yet" in removed.text


def test_a_day_and_an_episode_export_as_markdown_readwise_csv_and_json(ada, settings):
    md = ada.get("/digest/2026-11-02.md")
    assert md.headers["content-disposition"] == 'attachment; filename="podsift-2026-11-02.md"'
    assert md.text.startswith("# podsift digest for 2026-11-02") and "Glaciers flow because ice" in md.text
    assert "(https://a.example/1.mp3#t=18)" in md.text  # each insight links to its second

    rows = list(csv.DictReader(io.StringIO(ada.get("/digest/2026-11-02.csv").text)))
    assert rows and rows[0]["Highlight"].startswith("Glaciers flow because ice")
    assert (rows[0]["Title"], rows[0]["Author"], rows[0]["Date"]) == ("Glaciers", "Cold Facts", "2026-11-02")
    assert rows[0]["URL"] == "https://a.example/1.mp3#t=18" and "Said at 0:18" in rows[0]["Note"]

    day = json.loads(ada.get("/digest/2026-11-02.json").text)
    assert day["date"] == "2026-11-02" and day["items"][0]["start"] == 18.0

    note = ada.get("/episode/1.md").text
    assert note.startswith("# Cold Facts: Glaciers") and "([0:18](https://a.example/1.mp3#t=18))" in note
    assert ada.get("/episode/1.csv").text.startswith("Highlight,Title,Author,URL,Note,Location,Date")
    assert ada.get("/digest/2026-11-02.pdf").status_code == 404
    assert ada.get("/episode/1.json").status_code == 404


def test_exported_csv_cannot_carry_a_spreadsheet_formula_from_a_feed(settings, embedder):
    seed(settings, embedder, password="s3cret", show_title='=HYPERLINK("https://evil.example","x")')
    rows = list(csv.DictReader(io.StringIO(logged_in(settings).get("/digest/2026-11-02.csv").text)))
    assert rows[0]["Author"] == '\'=HYPERLINK("https://evil.example","x")'


def test_another_persons_episode_is_not_exported(ada, settings, embedder):
    seed(settings, embedder, "bo@example.org", "hunter2", "https://b.example/1.mp3", "Ice Hour", "https://b.example/f")
    bo = logged_in(settings, "bo@example.org", "hunter2")
    assert bo.get("/episode/1.md").status_code == 404  # Ada's Cold Facts episode
    assert bo.get("/episode/2.md").status_code == 200
