"""A day's digest becomes fixed only once the day is over and every followed feed has been checked
since (with none of its episodes still in the works), or once it is sent. Before that, the command
line and the web app show a provisional digest that is not stored, so looking early never freezes
a day empty and never costs anyone its email."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from conftest import EPISODE, vtt
from starlette.testclient import TestClient

from podsift.cli import main
from podsift.store import Store
from podsift.web import create_app

YESTERDAY = datetime.now(timezone.utc).date() - timedelta(days=1)


@pytest.fixture
def mail_env(monkeypatch, smtp, server):
    """A feed whose one episode (a publisher transcript) was published yesterday, a person with
    email and a password who follows it, and SMTP settings: nothing scanned yet."""
    for name, value in [
        ("PODSIFT_SMTP_URL", smtp.url),
        ("PODSIFT_MAIL_FROM", "digest@example.org"),
        ("PODSIFT_ALLOW_PRIVATE_NETWORKS", "1"),
    ]:
        monkeypatch.setenv(name, value)
    (server.root / "ep.vtt").write_text(vtt(EPISODE))
    published = datetime.combine(YESTERDAY, datetime.min.time(), timezone.utc) + timedelta(hours=9)
    (server.root / "feed.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">'
        "<channel><title>Cold Facts</title><item><title>Glaciers</title><guid>ep-1</guid>"
        f"<pubDate>{published.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
        f'<enclosure url="{server.url}/ep.mp3" type="audio/mpeg"/>'
        f'<podcast:transcript url="{server.url}/ep.vtt" type="text/vtt"/></item></channel></rss>'
    )
    cli("subscribe", f"{server.url}/feed.xml")
    cli("user", "add", "ada@example.org", "--password-stdin", input="s3cret\n")
    return smtp


def cli(*args, input=None):
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def stored_days(home) -> list[str]:
    with Store.open(home / "podsift.db") as store:
        return [day for day, _ in store.digests.days(1)]


def test_a_digest_asked_for_before_the_scan_is_provisional_and_the_day_is_still_sent(mail_env, home):
    early = cli("digest", "--date", YESTERDAY.isoformat())
    assert "provisional" in early.stderr and "podsift scan" in early.stderr
    assert "nothing worth your time" in early.stdout
    assert stored_days(home) == []  # looking early stored nothing...

    sent = cli("run", "--date", YESTERDAY.isoformat())  # ...so the daily job, scanning first, finds the insights
    assert "ada@example.org: sent" in sent.stdout and len(mail_env.messages) == 1
    assert "Glaciers flow because ice" in mail_env.messages[0].get_body(("plain",)).get_content()
    later = cli("digest", "--date", YESTERDAY.isoformat())
    assert "Glaciers flow because ice" in later.stdout and "provisional" not in later.stderr
    assert stored_days(home) == [YESTERDAY.isoformat()]


def test_a_day_over_and_scanned_is_stored_once_and_stays_as_it_was(mail_env, home, server):
    cli("scan", "--quiet")
    first = cli("digest", "--date", YESTERDAY.isoformat()).stdout
    assert "Glaciers flow because ice" in first and stored_days(home) == [YESTERDAY.isoformat()]
    with Store.open(home / "podsift.db") as store:  # what the ranker would now drop stays in a fixed day
        store.db.execute("UPDATE insights SET score = 0")
    assert cli("digest", "--date", YESTERDAY.isoformat()).stdout == first


def test_an_episode_still_in_the_works_keeps_its_day_provisional(mail_env, home):
    cli("scan", "--quiet")
    with Store.open(home / "podsift.db") as store:  # as if its transcript were still being made
        store.db.execute("DELETE FROM insights")
        store.db.execute("UPDATE episodes SET state = 'transcribed'")
    early = cli("digest", "--date", YESTERDAY.isoformat())
    assert "provisional" in early.stderr and stored_days(home) == []


def test_today_is_provisional_and_run_refuses_a_day_not_over(mail_env, home):
    today = datetime.now(timezone.utc).date()
    cli("scan", "--quiet")
    assert "provisional" in cli("digest", "--date", today.isoformat()).stderr and stored_days(home) == []
    result = CliRunner().invoke(main, ["run", "--date", today.isoformat()])
    assert result.exit_code == 1 and "is not over yet" in result.output and not mail_env.messages


def test_the_web_app_looking_early_stores_nothing_and_the_scheduler_still_sends_the_day(mail_env, home, monkeypatch):
    from podsift.deliver.mail import SmtpServer
    from podsift.schedule import Scheduler
    from podsift.settings import load_settings

    monkeypatch.setenv("PODSIFT_DELIVERY_TIME", "00:00")  # yesterday is due whatever the time now

    client = TestClient(create_app(load_settings()))
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"email": "ada@example.org", "password": "s3cret", "csrf": token})
    for day in (YESTERDAY, YESTERDAY + timedelta(days=1)):  # "/" and the "next" link open these on their own
        page = client.get(f"/digest/{day.isoformat()}")
        assert page.status_code == 200 and "provisional" in page.text
    assert stored_days(home) == []
    assert "<entry>" not in CliRunner().invoke(main, ["atom"]).stdout  # no placeholder days in Atom

    settings = load_settings()
    scheduler = Scheduler(settings, server=SmtpServer.from_settings(settings))
    scheduler.tick()  # the day's job at its delivery time: it scans, then sends
    assert len(mail_env.messages) == 1
    assert "Glaciers flow because ice" in mail_env.messages[0].get_body(("plain",)).get_content()
    assert "provisional" not in client.get(f"/digest/{YESTERDAY.isoformat()}").text
    assert CliRunner().invoke(main, ["atom"]).stdout.count("<entry>") == 1
