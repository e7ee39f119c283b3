"""The web app in-process (Starlette's test client over its ASGI interface), and once as
`podsift serve`: login, CSRF, sessions and cookies, the digest page, votes, shows, search, topics,
the unsubscribe link, and no secret in an error page or a log. test_browser.py drives it in Chromium.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
import subprocess
import sys
import time
from datetime import date

import httpx
import lxml.html
import pytest
from conftest import seed
from lxml import etree
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


def test_a_paused_feed_is_shown_as_paused(web, settings):
    with Store.open(settings.db_path) as store:
        store.conn.execute("UPDATE shows SET paused = 1, error = 'HTTP 410: the show has moved or ended'")
    log_in(web)
    page = web.get("/feeds").text
    assert "paused" in page and "the show has moved or ended" in page


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


def test_cookies_are_secure_behind_https(settings, embedder):
    seed(settings, embedder, password="s3cret")
    https = dataclasses.replace(settings, base_url="https://podsift.example.org")
    client = TestClient(create_app(https), base_url="https://testserver")
    cookie = log_in(client).headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie


def test_no_secret_in_error_pages_or_logs(settings, embedder, tmp_path):
    """`podsift serve` as a user runs it, with an SMTP password set: a failing page shows no
    traceback and no secret, and nothing it logs holds the password or the session key."""
    seed(settings, embedder, password="s3cret")
    password = "hunter2-never-shown"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "PODSIFT_HOME": str(settings.home),
        "PODSIFT_SMTP_URL": "smtp+starttls://ada@127.0.0.1:1",
        "PODSIFT_SMTP_PASSWORD": password,
        "PODSIFT_MAIL_FROM": "digest@example.org",
    }
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "podsift", "serve", "--port", str(port), "--no-schedule"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/login")
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline and process.poll() is None, log.read_text()
                time.sleep(0.2)
        with httpx.Client(base_url=base) as client:
            token = csrf(client.get("/login").text)
            client.post("/login", data={"email": "ada@example.org", "password": "s3cret", "csrf": token})
            assert client.get("/feeds").status_code == 200  # logged in
            with Store.open(settings.db_path) as store:  # something goes badly wrong under the app
                store.conn.execute("ALTER TABLE insights RENAME TO insights_gone")
            failed = client.get("/digest/2026-11-02")
            session = client.cookies.get("podsift_session")
    finally:
        process.terminate()
        process.wait(timeout=30)
    key = (settings.home / "secret.key").read_bytes()
    assert failed.status_code == 500 and "Traceback" not in failed.text and "insights" not in failed.text
    logged = log.read_text()
    assert "Traceback" in logged  # the operator does get the details...
    for secret in (password, key.hex(), session):
        assert secret and secret not in logged and secret not in failed.text  # ...but never a secret


HOSTILE = (
    '<script>alert(1)</script><img src=x onerror="alert(1)"><iframe srcdoc="<script>alert(1)</script>"></iframe>'
    '<a href="javascript:alert(1)">x</a><svg onload=alert(1)>'
)


def assert_inert(markup: str, where: str) -> None:
    """Nothing from HOSTILE became markup: no handler, srcdoc, frame or script of its own, and no
    link or player that runs javascript: or data:."""
    doc = lxml.html.fromstring(markup)
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        assert el.tag not in ("iframe", "svg", "img", "object", "embed"), (where, el.tag)
        assert el.tag != "script" or "alert" not in (el.text or ""), where
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on") and name.lower() != "srcdoc", (where, name)
            if name.lower() in ("href", "src", "action", "formaction"):
                assert not value.strip().lower().startswith(("javascript:", "data:", "vbscript:")), (where, value)


def test_third_party_text_never_becomes_markup_in_the_web_app_email_or_atom(settings, embedder):
    """Hostile text in a show's title, an episode's title and notes, its transcript and its insights,
    and a javascript: audio URL that an older install may have stored: all shown as inert text."""
    from podsift.cli import feed_url
    from podsift.deliver import compose
    from podsift.rank import digest_for

    recipient = seed(settings, embedder, password="s3cret", show_title=HOSTILE, audio_url="javascript:alert(1)")
    with Store.open(settings.db_path) as store:
        store.conn.execute("UPDATE episodes SET title = ?, description = ?", (HOSTILE, HOSTILE))
        store.conn.execute("UPDATE insights SET text = text || ?, quote = quote || ?", (HOSTILE, HOSTILE))
        segments = json.loads(store.conn.execute("SELECT segments FROM transcripts").fetchone()[0])
        segments[3][3] += HOSTILE
        store.conn.execute("UPDATE transcripts SET segments = ?", (json.dumps(segments),))
        store.conn.execute("INSERT INTO search (kind, ref, episode_id, text) VALUES ('sentence', 18, 1, ?)", (HOSTILE,))
        items = digest_for(store, settings, recipient.id, date(2026, 11, 2), embedder).items
    assert items and HOSTILE in items[0].insight.text  # the hostile insight is in the digest

    client = TestClient(create_app(settings))
    log_in(client)
    for path in ("/digest/2026-11-02", "/episode/1", "/feeds", "/topics", "/search?q=alert"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert_inert(page.text, path)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get("/digest/2026-11-02").text  # shown, as text

    email = compose(settings, recipient, "2026-11-02", items, "<m@example.org>")
    assert_inert(email.get_body(("html",)).get_content(), "email")
    client.cookies.clear()
    atom = client.get(feed_url(settings, recipient.id).replace(settings.base_url, "")).text
    for content in etree.fromstring(atom.encode()).iter("{http://www.w3.org/2005/Atom}content"):
        assert_inert(content.text, "atom")  # type="html": what a feed reader would render


def test_a_malformed_feed_url_is_refused_by_the_form_and_the_opml_import(web, settings):
    log_in(web)
    token = csrf(web.get("/feeds").text)
    page = web.post("/feeds/add", data={"url": "http://[::1", "csrf": token})
    assert page.status_code == 200 and "is not a valid feed address" in page.text
    opml = b'<opml version="2.0"><body><outline text="bad" xmlUrl="http://[::1]:99999/x"/></body></opml>'
    imported = web.post("/feeds/import", data={"csrf": token}, files={"opml": ("subs.opml", opml, "text/xml")})
    assert "Imported 0 new show(s) of 0" in imported.text
    with Store.open(settings.db_path) as store:
        assert [s.feed_url for s in store.shows()] == ["https://a.example/feed"]


def test_the_status_page_shows_the_owner_what_podsift_status_says(web, settings, embedder):
    from click.testing import CliRunner

    from podsift.cli import main

    log_in(web)
    page = web.get("/status")
    assert page.status_code == 200 and 'href="/status"' in page.text
    cells = [c.text_content().strip() for c in lxml.html.fromstring(page.text).iter("th")]
    shown = CliRunner().invoke(main, ["status"]).stdout
    assert cells and all(label in shown for label in cells)  # the same facts as the command line
    assert "next digest, ada@example.org" in cells and "episodes" in cells and "emails owed" in cells
    seed(settings, embedder, email="bob@example.org", password="hunter2")
    other = TestClient(create_app(settings))
    token = csrf(other.get("/login").text)
    other.post("/login", data={"email": "bob@example.org", "password": "hunter2", "csrf": token})
    assert other.get("/status").status_code == 404 and 'href="/status"' not in other.get("/feeds").text
