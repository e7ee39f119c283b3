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
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import httpx
import lxml.html
import pytest
from conftest import seed
from lxml import etree
from starlette.testclient import TestClient

from podsift.deliver.mail import unsubscribe_url
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
    assert 'data-start="18.0"' in page and 'data-src="https://a.example/1.mp3"' in page
    assert page.count("<audio") == 1, "one compact player for the page, not one per item"
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
        assert store.insights.votes(1) == {insight_id: 1}
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
        store.db.execute("UPDATE shows SET paused = 1, error = 'HTTP 410: the show has moved or ended'")
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
        assert store.people.mailable() == []


def test_search_finds_insights_and_sentences_and_takes_any_text(web):
    log_in(web)
    page = web.get("/search", params={"q": "glacier downhill"}).text
    assert "Insight" in page and "<mark>glacier</mark>" in page and "<mark>downhill</mark>" in page
    assert "Transcript, from 0:12" in page and 'href="/episode/1#t12"' in page  # "let's talk about glaciers"
    # Passages, not sentences: no sentence says both words, the minute from 0:18 does.
    apart = web.get("/search", params={"q": "weight melting"}).text
    assert 'href="/episode/1#t18"' in apart and "<mark>weight</mark>" in apart and "<mark>melting</mark>" in apart
    assert "moves downhill" in apart  # the sentence between them is part of the passage
    # Quotes and operators are searched as words, never as FTS syntax.
    assert "0 results" in web.get("/search", params={"q": 'AND OR "( NEAR snowbox*'}).text
    assert "1 result " in web.get("/search", params={"q": 'promo" code'}).text
    hostile = web.get("/search", params={"q": "<img src=x onerror=alert(1)>"}).text
    assert "<img src=x" not in hostile and "&lt;img src=x onerror=alert(1)&gt;" in hostile


def test_episode_page_shows_the_transcript_with_its_insights_marked(web):
    log_in(web)
    page = web.get("/episode/1").text
    assert 'id="t18" data-at="18.0" class="insight-sentence"' in page  # "Glaciers flow because ..." is an insight
    assert 'id="t0" data-at="0.0" >' in page  # the intro is not
    assert 'data-start="18.0"' in page and "transcript from the publisher" in page
    assert web.get("/episode/99").status_code == 404


def test_atom_feed_is_served_at_a_signed_address_without_login(web, settings):
    from podsift.deliver.mail import feed_url

    log_in(web)
    web.get("/digest/2026-11-02")  # builds the digest
    web.cookies.clear()
    url = feed_url(settings, 1).replace(settings.base_url, "")
    response = web.get(url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    assert "<entry><id>" in response.text and "Glaciers flow because ice" in response.text
    assert web.get(url.replace("/feed/1/", "/feed/2/")).status_code == 404


def test_topic_pages(web, settings, embedder):
    seed(settings, embedder, show_title="Ice Hour", feed="https://b.example/feed")  # a second show on glaciers
    log_in(web)
    listing = web.get("/topics")
    assert listing.status_code == 200 and "Topics" in listing.text
    found = re.findall(r'href="/topics/(\d+)"', listing.text)
    assert found, "two shows telling the same story make a topic"
    for topic_id in found:
        page = web.get(f"/topics/{topic_id}")
        assert page.status_code == 200 and "Glaciers flow because ice" in page.text
        assert "Ice Hour" in page.text and "Cold Facts" in page.text
    assert web.get("/topics/99999").status_code == 404


def test_cookies_are_secure_behind_https(settings, embedder):
    seed(settings, embedder, password="s3cret")
    https = dataclasses.replace(settings, base_url="https://podsift.example.org")
    client = TestClient(create_app(https), base_url="https://testserver")
    cookie = log_in(client).headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie


@contextmanager
def serving(settings, log: Path | None = None, env: dict[str, str] | None = None):
    """`podsift serve --no-schedule` as a user starts it, on a free loopback port; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PODSIFT_HOME": str(settings.home), **(env or {})}
    with open(log or os.devnull, "w") as out:
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
                assert time.monotonic() < deadline and process.poll() is None, log.read_text() if log else ""
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_no_secret_in_error_pages_or_logs(settings, embedder, tmp_path):
    """`podsift serve` as a user runs it, with an SMTP password set: a failing page shows no
    traceback and no secret, and nothing it logs holds the password or the session key."""
    seed(settings, embedder, password="s3cret")
    password = "hunter2-never-shown"
    env = {
        "PODSIFT_SMTP_URL": "smtp+starttls://ada@127.0.0.1:1",
        "PODSIFT_SMTP_PASSWORD": password,
        "PODSIFT_MAIL_FROM": "digest@example.org",
    }
    log = tmp_path / "serve.log"
    with serving(settings, log, env) as base, httpx.Client(base_url=base) as client:
        token = csrf(client.get("/login").text)
        client.post("/login", data={"email": "ada@example.org", "password": "s3cret", "csrf": token})
        assert client.get("/feeds").status_code == 200  # logged in
        with Store.open(settings.db_path) as store:  # something goes badly wrong under the app
            store.db.execute("ALTER TABLE insights RENAME TO insights_gone")
        failed = client.get("/digest/2026-11-02")
        session = client.cookies.get("podsift_session")
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
    from podsift.deliver.mail import compose, feed_url
    from podsift.deliver.rank import digest_for

    recipient = seed(settings, embedder, password="s3cret", show_title=HOSTILE, audio_url="javascript:alert(1)")
    with Store.open(settings.db_path) as store:
        store.db.execute("UPDATE episodes SET title = %s, description = %s", (HOSTILE, HOSTILE))
        store.db.execute("UPDATE insights SET text = text || %s, quote = quote || %s", (HOSTILE, HOSTILE))
        segments = json.loads(store.db.execute("SELECT segments FROM transcripts").fetchone()[0])
        segments[3][3] += HOSTILE
        store.db.execute("UPDATE transcripts SET segments = %s", (json.dumps(segments),))
        store.db.execute(
            "INSERT INTO search (kind, ref, episode_id, show_id, text) VALUES ('sentence', 18, 1, 1, %s)", (HOSTILE,)
        )
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
        assert [s.feed_url for s in store.shows.followed()] == ["https://a.example/feed"]


def test_the_admin_page_shows_the_owner_what_podsift_status_says(web, settings, embedder):
    from click.testing import CliRunner

    from podsift.cli import main

    log_in(web)
    page = web.get("/status")  # the old address of the status page opens the admin page
    assert page.status_code == 200 and 'href="/admin"' in page.text
    status = lxml.html.fromstring(page.text).xpath("//h2[@id='status']/following::table[1]//th")
    cells = [c.text_content().strip() for c in status]
    shown = CliRunner().invoke(main, ["status"]).stdout
    assert cells and all(label in shown for label in cells)  # the same facts as the command line
    assert "next digest, ada@example.org" in cells and "episodes" in cells and "emails owed" in cells
    seed(settings, embedder, email="bob@example.org", password="hunter2")
    other = TestClient(create_app(settings))
    token = csrf(other.get("/login").text)
    other.post("/login", data={"email": "bob@example.org", "password": "hunter2", "csrf": token})
    assert other.get("/admin").status_code == 404 and 'href="/admin"' not in other.get("/feeds").text


@pytest.mark.parametrize(
    "path,status,text",
    [
        ("/search?q=%00", 200, "0 results"),
        ("/search?q=glacier%00downhill", 200, "2 results for"),  # as "glacier downhill": an insight and a sentence
        ("/episode/99999999999999999999", 404, "no episode matches"),
        ("/digest/9999-12-31", 404, "a day from 1970-01-01 to"),
        ("/digest/0001-01-01", 404, "a day from 1970-01-01 to"),
        ("/digest/2026-13-01", 404, "YYYY-MM-DD"),
        ("/topics/99999999999999999999", 404, "No such topic"),
    ],
)
def test_odd_inputs_get_a_4xx_page_that_says_what_is_valid(web, settings, path, status, text):
    log_in(web)
    response = web.get(path)
    assert response.status_code == status and text in response.text, response.text[:300]
    with Store.open(settings.db_path) as store:
        assert [day for day, _ in store.digests.days(1)] in ([], ["2026-11-02"])  # nothing stored for odd days


def test_a_search_of_too_many_words_is_refused_at_once(web):
    log_in(web)
    response = web.get("/search", params={"q": " ".join(["glacier"] * 1500)})
    assert response.status_code == 400 and "at most 20 words" in response.text
    once = re.search(r"\d+ results? for", web.get("/search", params={"q": "glacier"}).text).group(0)
    assert once in web.get("/search", params={"q": " ".join(["glacier"] * 20)}).text  # twenty words still search


def test_voting_on_an_insight_that_does_not_exist_is_a_404(web):
    log_in(web)
    token = csrf(web.get("/feeds").text)
    for missing in ("99999", "99999999999999999999"):
        response = web.post(f"/insight/{missing}/vote", data={"vote": "up", "csrf": token, "back": "/"})
        assert response.status_code == 404 and "no insight" in response.text


def test_a_request_waiting_on_the_database_does_not_hold_up_the_others(settings, embedder):
    """Another process holds the store's write lock; a vote waits for it. Meanwhile the login page
    must still answer: handlers run beside the event loop, not on it."""
    import threading

    import uvicorn

    seed(settings, embedder, password="s3cret")
    web = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning"))
    threading.Thread(target=web.run, daemon=True).start()
    while not web.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{web.servers[0].sockets[0].getsockname()[1]}"
    try:
        with httpx.Client(base_url=base, timeout=60) as client, Store.open(settings.db_path) as other:
            token = csrf(client.get("/login").text)
            client.post("/login", data={"email": "ada@example.org", "password": "s3cret", "csrf": token})
            token = csrf(client.get("/feeds").text)
            other.db.execute("BEGIN IMMEDIATE")  # the write lock, as a long scan's transaction holds it
            voting = threading.Thread(
                target=client.post, args=("/insight/1/vote",), kwargs={"data": {"vote": "up", "csrf": token}}
            )
            voting.start()
            time.sleep(0.5)  # the vote is now waiting on the lock
            started = time.monotonic()
            assert httpx.get(f"{base}/login", timeout=10).status_code == 200
            answered = time.monotonic() - started
            other.db.execute("COMMIT")
            voting.join(timeout=60)
        assert answered < 5, f"the login page waited {answered:.1f} s behind a blocked handler"
        with Store.open(settings.db_path) as store:
            assert store.insights.votes(1) == {1: 1}  # and the vote went through once the lock was free
    finally:
        web.should_exit = True


def log_out(client) -> None:
    client.post("/logout", data={"csrf": csrf(client.get("/feeds").text)})


def test_logging_out_ends_the_session_for_every_copy_of_its_cookie(web, settings):
    log_in(web)
    copied = TestClient(create_app(settings), cookies={"podsift_session": web.cookies["podsift_session"]})
    assert copied.get("/feeds", follow_redirects=False).status_code == 200  # a copy works while the session lasts
    log_out(web)
    assert copied.get("/feeds", follow_redirects=False).headers["location"] == "/login"
    assert web.get("/feeds", follow_redirects=False).headers["location"] == "/login"


def test_a_new_password_ends_every_session_of_that_person(web, settings):
    from click.testing import CliRunner

    from podsift.cli import main

    log_in(web)
    other_device = TestClient(create_app(settings))
    log_in(other_device)
    changed = CliRunner().invoke(main, ["user", "add", "ada@example.org", "--password-stdin"], input="n3w-s3cret\n")
    assert changed.exit_code == 0, changed.output
    for client in (web, other_device):
        assert client.get("/feeds", follow_redirects=False).headers["location"] == "/login"
    assert log_in(web, "s3cret").status_code == 401 and log_in(web, "n3w-s3cret").status_code == 303


def test_failed_logins_on_one_account_do_not_lock_out_another(web, settings, embedder):
    seed(settings, embedder, email="bob@example.org", password="hunter2")
    for _ in range(5):
        assert log_in(web, "wrong").status_code == 401
    assert log_in(web).status_code == 429  # ada waits...
    token = csrf(web.get("/login").text)
    bob = web.post(
        "/login", data={"email": "bob@example.org", "password": "hunter2", "csrf": token}, follow_redirects=False
    )
    assert bob.status_code == 303  # ...bob, from the same address, does not


def test_one_address_cannot_guess_on_account_after_account(web):
    token = csrf(web.get("/login").text)
    codes = [
        web.post("/login", data={"email": f"u{n}@example.org", "password": "x", "csrf": token}).status_code
        for n in range(25)
    ]
    assert codes[:20] == [401] * 20 and set(codes[20:]) == {429}


def test_a_forwarded_address_counts_only_from_a_trusted_proxy(settings, embedder):
    seed(settings, embedder, password="s3cret")

    def attempts(client, forwarded):
        token = csrf(client.get("/login").text)
        return [
            client.post(
                "/login",
                data={"email": "ada@example.org", "password": "wrong", "csrf": token},
                headers={"X-Forwarded-For": f"203.0.113.{n}" if forwarded else ""},
            ).status_code
            for n in range(6)
        ]

    direct = TestClient(create_app(settings), client=("198.51.100.7", 50000))
    assert attempts(direct, forwarded=True)[-1] == 429  # a forged header from a client is ignored
    proxied = dataclasses.replace(settings, trusted_proxies=("198.51.100.0/24",))
    behind = TestClient(create_app(proxied), client=("198.51.100.1", 50000))
    assert attempts(behind, forwarded=True) == [401] * 6  # six people behind the proxy, one try each
    assert attempts(behind, forwarded=False)[-1] == 429  # the proxy's own address is limited like any other


def test_the_login_limit_is_not_bypassed_through_podsift_serve(settings, embedder):
    """uvicorn, as `podsift serve` starts it, must not take X-Forwarded-For from a client on loopback."""
    seed(settings, embedder, password="s3cret")
    with serving(settings) as base, httpx.Client(base_url=base) as client:
        token = csrf(client.get("/login").text)
        codes = [
            client.post(
                "/login",
                data={"email": "ada@example.org", "password": "wrong", "csrf": token},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
            for n in range(6)
        ]
    assert codes == [401] * 5 + [429]


def test_pages_carry_a_content_security_policy_and_cannot_be_framed(web, settings):
    from podsift.deliver.mail import feed_url

    log_in(web)
    web.get("/digest/2026-11-02")
    for path in ("/login", "/feeds", "/digest/2026-11-02", "/episode/1", "/search?q=ice", "/nothing-here"):
        response = web.get(path)
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy and "default-src 'none'" in policy
        assert response.headers["x-frame-options"] == "DENY" and response.headers["x-content-type-options"] == "nosniff"
        doc = lxml.html.fromstring(response.text or "<p></p>")
        assert not [s for s in doc.iter("script") if not s.get("src")], f"inline script on {path}: CSP blocks it"
        assert not [el for el in doc.iter() if isinstance(el.tag, str) and el.get("style")], f"style= on {path}"
        assert not list(doc.iter("style")), path
    atom = web.get(feed_url(settings, 1).replace(settings.base_url, ""))
    assert "frame-ancestors 'none'" in atom.headers["content-security-policy"]


def test_login_takes_as_long_for_an_unknown_email_as_for_a_known_one(web):
    """Timing must not tell which emails have an account: both paths hash the password."""
    import statistics

    def median_seconds(email):
        times = []
        for _ in range(7):
            token = csrf(web.get("/login").text)
            started = time.perf_counter()
            web.post("/login", data={"email": email, "password": "wrong", "csrf": token})
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    known, unknown = median_seconds("ada@example.org"), median_seconds("nobody@example.org")
    assert unknown > known / 2, f"known {known * 1000:.0f} ms, unknown {unknown * 1000:.0f} ms"


def test_an_unsubscribe_can_be_undone_from_the_same_link(web, settings):
    url = unsubscribe_url(settings, 1).replace(settings.base_url, "")
    done = web.post(url, data={"List-Unsubscribe": "One-Click"})
    assert "no more digest emails" in done.text and 'action="' in done.text and "Resubscribe" in done.text
    with Store.open(settings.db_path) as store:
        assert store.people.mailable() == []
    again = web.post(url.replace("/unsubscribe/", "/resubscribe/"))
    assert again.status_code == 200 and "back on" in again.text
    with Store.open(settings.db_path) as store:
        assert [r.email for r in store.people.mailable()] == ["ada@example.org"]
    assert web.post(url.replace("/unsubscribe/1/", "/resubscribe/2/")).status_code == 404


def test_a_person_who_unsubscribed_can_turn_email_back_on_when_logged_in(web, settings):
    with Store.open(settings.db_path) as store:
        store.people.stop_email(1)
    log_in(web)
    page = web.get("/digest/2026-11-02").text
    assert "Email is off" in page
    web.post("/email/on", data={"csrf": csrf(page)})
    with Store.open(settings.db_path) as store:
        assert [r.email for r in store.people.mailable()] == ["ada@example.org"]
    assert "Email is off" not in web.get("/digest/2026-11-02").text


def test_an_opml_import_is_capped_with_a_clear_message(web, settings):
    log_in(web)
    token = csrf(web.get("/feeds").text)
    outlines = "".join(f'<outline text="s{n}" xmlUrl="https://s{n}.example/rss"/>' for n in range(1001))
    big = f'<opml version="2.0"><body>{outlines}</body></opml>'.encode()
    page = web.post("/feeds/import", data={"csrf": token}, files={"opml": ("subs.opml", big, "text/xml")})
    assert "lists 1,001 feeds" in page.text and "at most 1,000" in page.text
    huge = b'<opml version="2.0"><body>' + b" " * 3_000_000 + b"</body></opml>"
    page = web.post("/feeds/import", data={"csrf": token}, files={"opml": ("subs.opml", huge, "text/xml")})
    assert "larger than 2 MB" in page.text
    with Store.open(settings.db_path) as store:
        assert len(store.shows.followed()) == 1  # nothing imported from either


def test_the_shows_page_comes_in_pages(web, settings):
    with Store.open(settings.db_path) as store:
        for n in range(250):
            store.shows.subscribe(1, f"https://s{n:03d}.example/rss", f"Show {n:03d}")
    log_in(web)
    first = web.get("/feeds")
    rows = lxml.html.fromstring(first.text).xpath("//table//tr[td]")
    assert len(rows) == 100 and 'href="/feeds?page=2"' in first.text and len(first.content) < 200_000
    last = web.get("/feeds?page=3")
    assert len(lxml.html.fromstring(last.text).xpath("//table//tr[td]")) == 51 and "page=4" not in last.text
    assert web.get("/feeds?page=0").status_code == 404 and web.get("/feeds?page=x").status_code == 404
