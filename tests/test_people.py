"""Several people on one install, run from the command line: `--for EMAIL` on every command that
acts for a person, and `podsift user list`, `remove` and `passwd`."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from conftest import seed
from starlette.testclient import TestClient

from podsift.cli import main
from podsift.parsers.opml import parse_opml
from podsift.store import Store
from podsift.web import create_app

DAY = "2026-11-02"  # the day of `seed`'s episode


def cli(*args, input=None, ok=True):
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def two(settings, embedder):
    """Ada (the install's owner) follows Cold Facts; Bo, with no password, follows Ice Hour."""
    ada = seed(settings, embedder, password="s3cret")
    bo = seed(
        settings, embedder, "bo@example.org", None, "https://b.example/1.mp3", "Ice Hour", "https://b.example/feed"
    )
    return ada, bo


def shows_in_digest(*args) -> set[str]:
    items = json.loads(cli("digest", "--date", DAY, "--format", "json", *args).stdout)["items"]
    assert items
    return {i["podcast"] for i in items}


def test_for_acts_on_that_person_and_without_it_on_the_owner(two):
    ada, bo = two
    assert shows_in_digest("--for", "bo@example.org") == {"Ice Hour"}
    assert shows_in_digest() == {"Cold Facts"}

    listing = cli("feeds", "--for", "bo@example.org").stdout
    assert "b.example/feed" in listing and "a.example/feed" not in listing
    opml = cli("export-opml", "--for", "bo@example.org").stdout_bytes
    assert [url for _, url in parse_opml(opml)] == ["https://b.example/feed"]
    found = json.loads(cli("insights", "--for", "bo@example.org", "--format", "json").stdout)["episodes"]
    assert [e["podcast"] for e in found] == ["Ice Hour"]
    assert f"/feed/{bo.id}/" in cli("atom", "--for", "bo@example.org").stderr
    assert f"/feed/{ada.id}/" in cli("atom").stderr


def test_a_shared_list_is_followed_by_each_person_named(two):
    added = cli("subscribe", "--for", "ada@example.org", "--for", "bo@example.org", "https://c.example/feed")
    assert "ada@example.org: subscribed to 1 new feed(s)" in added.stderr
    assert "bo@example.org: subscribed to 1 new feed(s)" in added.stderr
    cli("unsubscribe", "--for", "bo@example.org", "https://c.example/feed")
    assert "c.example" in cli("feeds").stdout
    assert "c.example" not in cli("feeds", "--for", "bo@example.org").stdout


def test_an_unknown_person_is_refused_with_the_fix_and_nothing_changes(two):
    result = cli("subscribe", "--for", "bo@example.org", "--for", "zed@example.org", "https://c.example/feed", ok=False)
    assert result.exit_code == 1 and "podsift user add zed@example.org" in result.output
    assert "c.example" not in cli("feeds", "--for", "bo@example.org").stdout


def test_insights_of_an_episode_another_person_follows_are_refused(two):
    result = cli("insights", "--for", "bo@example.org", "--episode", "1", ok=False)  # Cold Facts' episode
    assert result.exit_code == 1 and "bo@example.org does not follow 'Cold Facts'" in result.output


def test_user_list_says_who_follows_what_and_who_can_log_in(two):
    listing = cli("user", "list").stdout
    ada_row = next(line for line in listing.splitlines() if "ada@example.org" in line)
    bo_row = next(line for line in listing.splitlines() if "bo@example.org" in line)
    assert "(owner)" in ada_row and "(owner)" not in bo_row
    assert "no password" in bo_row and "no password" not in ada_row
    assert re.search(r"\b1\b", bo_row) and "never" in bo_row and "07:00 UTC" in bo_row


def log_in(client: TestClient, email: str, password: str) -> int:
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    return client.post("/login", data={"email": email, "password": password, "csrf": token}).status_code


def test_a_password_set_from_the_command_line_opens_the_web_app_and_ends_old_sessions(two, settings):
    cli("user", "passwd", "bo@example.org", "--password-stdin", input="first-pw\n")
    bo = TestClient(create_app(settings))
    assert log_in(bo, "bo@example.org", "first-pw") == 200
    assert bo.get("/feeds").url.path == "/feeds"

    cli("user", "passwd", "bo@example.org", "--password-stdin", input="second-pw\n")
    assert bo.get("/feeds").url.path == "/login"  # the old password's session is over
    assert log_in(TestClient(create_app(settings)), "bo@example.org", "first-pw") == 401
    assert log_in(TestClient(create_app(settings)), "bo@example.org", "second-pw") == 200

    empty = cli("user", "passwd", "bo@example.org", "--password-stdin", input="\n", ok=False)
    assert empty.exit_code == 1 and "no password given" in empty.output


def test_removing_a_person_keeps_the_shows_transcripts_and_the_owner(two, settings):
    ada, bo = two
    cli("digest", "--date", DAY, "--for", "bo@example.org")  # a settled day: Bo's digest is stored
    kept = cli("user", "remove", "bo@example.org", input="n\n", ok=False)
    assert kept.exit_code == 1 and "bo@example.org" in cli("user", "list").stdout

    cli("user", "remove", "bo@example.org", "--yes")
    assert "bo@example.org" not in cli("user", "list").stdout
    with Store.open(settings.db_path) as store:
        assert not store.db.execute("SELECT 1 FROM digests WHERE recipient_id = %s", (bo.id,)).fetchall()
        assert len(store.db.execute("SELECT 1 FROM transcripts").fetchall()) == 2  # Ice Hour's stays
    assert shows_in_digest() == {"Cold Facts"}

    owner = cli("user", "remove", "ada@example.org", "--yes", ok=False)
    assert owner.exit_code == 1 and "ada@example.org is the install's owner" in owner.output
