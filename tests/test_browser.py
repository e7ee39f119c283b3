"""The web app in a real browser: Debian's Chromium, headless, driven by Playwright.

Playwright's own browser download is never used: the test launches /usr/bin/chromium (installed by
.ci/run). With UPDATE_SCREENSHOTS=1 the test also refreshes the screenshots under docs/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from conftest import seed

from podsift.web import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
SCREENSHOTS = Path(__file__).parent.parent / "docs" / "screenshots"


@pytest.fixture
def app_url(settings, embedder, server, tmp_path):
    """The web app on a free loopback port, with one digest whose audio is a 60 s tone on `server`."""
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=60",
            "-b:a",
            "32k",
            str(server.root / "ep.mp3"),
        ],
        check=True,
    )
    seed(settings, embedder, password="s3cret", audio_url=f"{server.url}/ep.mp3")
    # A second show tells the same story that day: one digest item with two players.
    seed(settings, embedder, audio_url=f"{server.url}/ep.mp3?b", show_title="Ice Hour", feed="https://b.example/feed")
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning")
    web = uvicorn.Server(config)
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not web.started:
        assert time.monotonic() < deadline, "the web app did not start"
        time.sleep(0.05)
    port = web.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    web.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page():
    if not os.path.exists(CHROMIUM):
        pytest.fail("the browser tests need Debian's chromium: apt-get install chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser.new_page(viewport={"width": 900, "height": 900})
        browser.close()


def wait_for(page, expression: str, seconds: float = 15.0) -> None:
    """Poll a JavaScript expression from here: Playwright's wait_for_function evaluates strings in
    the page, which its Content-Security-Policy (rightly) forbids."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.05)


def shoot(page, name: str) -> None:
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_log_in_play_an_insight_from_its_second_vote_and_import_opml(app_url, page, tmp_path):
    page.goto(f"{app_url}/digest/2026-11-02")
    assert page.url.endswith("/login")
    shoot(page, "login")
    page.fill("input[name=email]", "ada@example.org")
    page.fill("input[name=password]", "s3cret")
    with page.expect_navigation():
        page.click("text=Log in")
    page.goto(f"{app_url}/digest/2026-11-02")
    assert "Glaciers flow because ice" in page.inner_text("main")
    shoot(page, "digest")

    button = page.locator("button.play").first
    start = float(button.get_attribute("data-start"))
    audio_id = button.get_attribute("data-audio")
    button.click()
    wait_for(page, f"document.getElementById('{audio_id}').currentTime >= {start}")
    now = page.evaluate(f"document.getElementById('{audio_id}').currentTime")
    assert start <= now < start + 5, f"playback at {now}, the insight starts at {start}"

    with page.expect_navigation():
        page.locator("button.vote[value=up]").first.click()
    assert "on" in page.locator("button.vote[value=up]").first.get_attribute("class")

    opml = tmp_path / "subs.opml"
    opml.write_text('<opml version="2.0"><body><outline text="More" xmlUrl="https://more.example/rss"/></body></opml>')
    page.goto(f"{app_url}/feeds")
    page.set_input_files("input[name=opml]", str(opml))
    with page.expect_navigation():
        page.click("form[action='/feeds/import'] button")
    assert "Imported 1 new show(s)" in page.inner_text("main")
    assert "https://more.example/rss" in page.inner_text("table")
    shoot(page, "shows")


def test_one_compact_player_plays_each_source_under_the_content_security_policy(app_url, page):
    """The page's script is allowed by its CSP (no inline code); the digest has one player, and each
    source's button loads its own episode into it at its own second."""
    blocked = []
    page.on(
        "console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None
    )
    log_in(page, app_url)
    page.goto(f"{app_url}/digest/2026-11-02")
    buttons = page.locator("button.play")
    assert buttons.count() == 2, "the same idea on two shows: two sources"
    assert page.locator("audio").count() == 1
    for i, tail in ((0, "/ep.mp3"), (1, "/ep.mp3?b")):
        buttons.nth(i).click()
        wait_for(page, "!document.getElementById('player').paused")
        assert page.evaluate("document.getElementById('player').currentSrc").endswith(tail)
        assert "Ice Hour" in page.inner_text("#now-playing") if i else "Cold Facts" in page.inner_text("#now-playing")
    assert not blocked, blocked


def test_the_episode_page_follows_the_audio_and_exports_its_insights(app_url, page):
    page.set_viewport_size({"width": 900, "height": 320})  # short enough that the transcript scrolls
    log_in(page, app_url)
    page.goto(f"{app_url}/episode/1")
    assert "Highlighted sentences are the insights" in page.inner_text("main")
    line = page.locator("p[data-at]").nth(3)
    line.locator("button.play").click()
    wait_for(page, "document.querySelector('p.current') !== null")
    assert page.locator("p.current").get_attribute("id") == line.get_attribute("id")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # the player stays in view...
    assert page.evaluate("window.scrollY") > 200, "the page did not scroll: the check would prove nothing"
    top = page.evaluate("document.getElementById('player').getBoundingClientRect().top")
    assert 0 <= top < 60, f"the player is at {top} px, out of view"
    with page.expect_download() as download:
        page.click("text=CSV for Readwise")
    assert download.value.suggested_filename == "podsift-episode-1.csv"
    assert open(download.value.path(), encoding="utf-8").readline().strip() == (
        "Highlight,Title,Author,URL,Note,Location,Date"
    )


def log_in(page, app_url: str) -> None:
    page.goto(f"{app_url}/login")
    page.fill("input[name=email]", "ada@example.org")
    page.fill("input[name=password]", "s3cret")
    with page.expect_navigation():
        page.click("text=Log in")


def test_on_a_phone_every_page_fits_the_screen_and_settings_are_saved(app_url, page):
    """A 390 px wide phone (an iPhone 12 to 15): no page scrolls sideways, and the settings form works."""
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, app_url)
    for path, name in [
        ("/feeds", "shows-phone"),
        ("/show/1", "show-phone"),
        ("/admin", "admin-phone"),
        ("/settings", "settings-phone"),
        ("/digest/2026-11-02", None),
        ("/subject?q=how+glaciers+move&days=365", None),
    ]:
        page.goto(f"{app_url}{path}")
        assert page.url.endswith(path), f"{path} redirected to {page.url}"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide on a 390 px screen"
        if name:
            shoot(page, name)

    page.goto(f"{app_url}/settings")
    page.select_option("select[name=timezone]", "Europe/Paris")
    page.fill("input[name=delivery_time]", "06:45")
    page.fill("textarea[name=interests]", "glaciers")
    page.uncheck("input[name=email]")
    with page.expect_navigation():
        page.click("form[action='/settings'] button")
    assert "Saved." in page.inner_text("main")
    assert page.input_value("select[name=timezone]") == "Europe/Paris"
    assert page.input_value("input[name=delivery_time]") == "06:45"
    assert "Email is off" in page.inner_text("main")
    assert "/feed/1/" in page.inner_text("#atom-url")

    page.goto(f"{app_url}/show/1/remove")
    with page.expect_navigation():
        page.click("text=Keep it")
    assert page.url.endswith("/show/1")


def test_ask_about_a_subject_follow_it_and_find_it_in_the_settings(app_url, page):
    log_in(page, app_url)
    page.goto(f"{app_url}/topics")
    page.fill("input[name=q]", "how glaciers move")
    with page.expect_navigation():
        page.press("input[name=q]", "Enter")
    page.select_option("select[name=days]", "365")
    with page.expect_navigation():
        page.click("form.subject-query button")
    assert "Glaciers flow because ice" in page.inner_text("main")
    with page.expect_navigation():
        page.click("text=Follow \u201chow glaciers move\u201d")
    assert page.is_visible("text=Stop following")
    page.goto(f"{app_url}/settings")
    assert "how glaciers move" in page.inner_text("#subjects") and ".atom" in page.inner_text("#subjects")


def test_the_owner_retries_a_failed_email_from_the_admin_page(app_url, page, settings):
    from podsift.store import Store

    with Store.open(settings.db_path) as store:
        failed = store.outbox.queue(1, "2026-11-02", "email", None, "<m1@example.org>")
        store.outbox.failed(failed.id, "550 mailbox unavailable")
    log_in(page, app_url)
    page.goto(f"{app_url}/admin")
    people = page.inner_text("#people-table")
    assert "ada@example.org" in people and "2: Cold Facts, Ice Hour" in people
    assert "550 mailbox unavailable" in page.inner_text("#outbox-table")
    with page.expect_navigation():
        page.click("#outbox-table button:text('Retry')")
    assert "queued again" in page.inner_text("main")
    with Store.open(settings.db_path) as store:
        assert store.outbox.get(failed.id).status == "pending"
