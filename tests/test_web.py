"""The web app in-process (Starlette's test client over its ASGI interface).

Browser tests in headless Chromium are still to come; these pin the server's behaviour: login,
CSRF, sessions, the digest page, votes, shows and the unsubscribe link.
"""

from __future__ import annotations

import re

import pytest
from conftest import seed
from starlette.testclient import TestClient

from podsift.deliver import unsubscribe_url
from podsift.store import Store
from podsift.web import create_app


@pytest.fixture
def web(settings, embedder):
    seed(settings, embedder, password="s3cret", show_title="<script>alert(1)</script> Cold Facts")
    return TestClient(create_app(settings))


def csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def log_in(client, password="s3cret"):
    token = csrf(client.get("/login").text)
    return client.post(
        "/login", data={"email": "ada@example.org", "password": password, "csrf": token}, follow_redirects=False
    )


def test_pages_need_a_login(web):
    for path in ("/", "/digest/2026-11-02", "/feeds", "/feeds/export"):
        response = web.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/login", path


def test_login_then_digest_with_player_at_the_insight_second(web):
    assert log_in(web, "wrong").status_code == 401
    response = log_in(web)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    page = web.get("/digest/2026-11-02").text
    assert "Glaciers flow because ice" in page
    assert 'data-start="18.0"' in page and 'src="https://a.example/1.mp3#t=18"' in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; Cold Facts" in page


def test_forms_without_the_csrf_token_are_refused(web):
    log_in(web)
    assert web.post("/feeds/add", data={"url": "https://b.example/feed"}).status_code == 403
    assert web.post("/feeds/add", data={"url": "https://b.example/feed", "csrf": "forged"}).status_code == 403


def test_votes_are_stored(web, settings):
    log_in(web)
    page = web.get("/digest/2026-11-02").text
    insight_id = int(re.search(r'action="/insight/(\d+)/vote"', page).group(1))
    response = web.post(
        f"/insight/{insight_id}/vote",
        data={"vote": "up", "csrf": csrf(page), "back": "/digest/2026-11-02"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/digest/2026-11-02"
    with Store.open(settings.db_path) as store:
        assert store.votes(1) == {insight_id: 1}
    assert "vote on" in web.get("/digest/2026-11-02").text


def test_shows_add_import_export_remove(web):
    log_in(web)
    token = csrf(web.get("/feeds").text)
    assert (
        "Subscribed to https://b.example/feed"
        in web.post("/feeds/add", data={"url": "https://b.example/feed", "csrf": token}).text
    )
    opml = b'<opml version="2.0"><body><outline text="C" xmlUrl="https://c.example/rss"/></body></opml>'
    imported = web.post("/feeds/import", data={"csrf": token}, files={"opml": ("subs.opml", opml, "text/xml")})
    assert "Imported 1 new show(s)" in imported.text
    exported = web.get("/feeds/export")
    assert exported.headers["content-type"].startswith("text/x-opml")
    assert b"https://b.example/feed" in exported.content and b"https://c.example/rss" in exported.content
    web.post("/feeds/remove", data={"url": "https://b.example/feed", "csrf": token})
    assert "https://b.example/feed" not in web.get("/feeds").text


def test_login_is_rate_limited(web):
    for _ in range(5):
        assert log_in(web, "wrong").status_code == 401
    assert log_in(web).status_code == 429  # even the right password waits


def test_unsubscribe_link_works_without_login_and_only_with_its_token(web, settings):
    url = unsubscribe_url(settings, 1).replace(settings.base_url, "")
    assert web.get(url.replace("/1/", "/2/")).status_code == 404
    assert "Stop receiving" in web.get(url).text
    assert web.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200  # RFC 8058 one-click POST
    with Store.open(settings.db_path) as store:
        assert store.mail_recipients() == []


def test_search_finds_insights_and_sentences_and_takes_any_text(web):
    log_in(web)
    page = web.get("/search", params={"q": "glacier downhill"}).text
    assert "Insight" in page and "<mark>glacier</mark>" in page and "<mark>downhill</mark>" in page
    assert "Transcript" in page and 'href="/episode/1#t24"' in page
    # Quotes and operators are searched as words, never as FTS syntax.
    assert "0 results" in web.get("/search", params={"q": 'AND OR "( NEAR snowbox*'}).text
    assert "1 result " in web.get("/search", params={"q": 'promo" code'}).text
    hostile = web.get("/search", params={"q": "<img src=x onerror=alert(1)>"}).text
    assert "<img src=x" not in hostile and "&lt;img src=x onerror=alert(1)&gt;" in hostile


def test_episode_page_shows_the_transcript_with_its_insights_marked(web):
    log_in(web)
    page = web.get("/episode/1").text
    assert 'id="t18" class="insight-sentence"' in page  # "Glaciers flow because ..." is an insight
    assert 'id="t0" ' in page and 'id="t0" class="insight-sentence"' not in page  # the intro is not
    assert 'data-start="18.0"' in page and "transcript from the publisher" in page
    assert web.get("/episode/99").status_code == 404


def test_atom_feed_is_served_at_a_signed_address_without_login(web, settings):
    from podsift.cli import feed_url

    log_in(web)
    web.get("/digest/2026-11-02")  # builds the digest
    web.cookies.clear()
    url = feed_url(settings, 1).replace(settings.base_url, "")
    response = web.get(url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    assert "<entry><id>" in response.text and "Glaciers flow because ice" in response.text
    assert web.get(url.replace("/feed/1/", "/feed/2/")).status_code == 404


def test_topic_pages(web):
    log_in(web)
    listing = web.get("/topics")
    assert listing.status_code == 200 and "Topics" in listing.text
    for topic_id in re.findall(r'href="/topics/(\d+)"', listing.text):
        assert web.get(f"/topics/{topic_id}").status_code == 200
    assert web.get("/topics/99999").status_code == 404
