"""Email delivery through a real SMTP server on 127.0.0.1 (aiosmtpd), and the daily job."""

from __future__ import annotations

import dataclasses
import socket
import ssl
import subprocess
import sys
from datetime import date, datetime, timezone

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from click.testing import CliRunner
from conftest import EPISODE, Inbox, seed

from podsift.cli import main
from podsift.deliver.mail import SmtpServer, compose, deliver_email, message_id_for, send
from podsift.deliver.rank import digest_for
from podsift.errors import ConfigError
from podsift.pipeline import Context, deliver_day, retry_outbox
from podsift.store import Store
from podsift.users import check_token, secret_key, verify_password

DAY = date(2026, 11, 2)


@pytest.fixture
def mail_settings(settings, smtp):
    return dataclasses.replace(
        settings, smtp_url=smtp.url, mail_from="podsift <digest@example.org>", base_url="https://podsift.example.org"
    )


def deliver(settings, embedder, recipient):
    with Store.open(settings.db_path) as store:
        digest = digest_for(store, settings, recipient.id, DAY, embedder)
        server = SmtpServer.from_settings(settings)
        return deliver_email(store, settings, server, recipient, DAY.isoformat(), digest.items, digest.id)


def test_digest_email_arrives_once_with_headers_and_both_parts(mail_settings, smtp, embedder):
    recipient = seed(mail_settings, embedder)
    first = deliver(mail_settings, embedder, recipient)
    again = deliver(mail_settings, embedder, recipient)
    assert (first.status, again.status) == ("sent", "sent") and len(smtp.messages) == 1

    message = smtp.messages[0]
    assert message["To"] == "ada@example.org" and message["From"] == "podsift <digest@example.org>"
    assert message["Subject"].startswith("Your podsift digest for 2026-11-02")
    assert message["Message-ID"] == "<digest-2026-11-02-r1@example.org>"
    unsubscribe = message["List-Unsubscribe"].strip().strip("<>")
    assert unsubscribe.startswith("https://podsift.example.org/unsubscribe/1/")
    assert check_token(secret_key(mail_settings.home), "unsubscribe", 1, unsubscribe.rsplit("/", 1)[1])
    assert not check_token(secret_key(mail_settings.home), "unsubscribe", 2, unsubscribe.rsplit("/", 1)[1])
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Glaciers flow because ice" in text and "https://a.example/1.mp3#t=18" in text
    assert 'href="https://a.example/1.mp3#t=18"' in html and "listen from 0:18" in html
    assert "<style" not in html and 'style="' in html  # inline CSS only
    assert "Cold Facts" in html


def test_temporary_failure_is_retried_later_permanent_is_recorded(mail_settings, smtp, embedder):
    recipient = seed(mail_settings, embedder)
    smtp.reply = "451 4.3.0 try again later"
    delivery = deliver(mail_settings, embedder, recipient)
    assert delivery.status == "pending" and "451" in delivery.error
    assert delivery.next_attempt_at > datetime.now(timezone.utc).isoformat()
    smtp.reply = "250 OK"
    assert deliver(mail_settings, embedder, recipient).status == "pending"  # not due yet: nothing sent
    assert smtp.messages == []

    with Store.open(mail_settings.db_path) as store:  # time passes; the next run or scheduler tick retries
        store.db.execute("UPDATE deliveries SET next_attempt_at = '2000-01-01T00:00:00+00:00'")
        (retried,) = retry_outbox(
            Context(mail_settings, store, None, None), embedder, SmtpServer.from_settings(mail_settings)
        )
    assert retried.status == "sent" and len(smtp.messages) == 1

    other = seed(mail_settings, embedder, "bob@example.org")
    smtp.reply = "550 5.1.1 no such mailbox"
    failed = deliver(mail_settings, embedder, other)
    assert failed.status == "failed" and "550" in failed.error
    shown = CliRunner().invoke(main, ["outbox"]).output
    assert "bob@example.org" in shown and "failed" in shown and "550 5.1.1 no such mailbox" in shown
    assert "ada@example.org" in shown and "sent" in shown


def test_crash_between_acceptance_and_commit_sends_again_with_the_same_message_id(mail_settings, smtp, embedder):
    """At least once: the server accepted, the store never heard. A sender that died on this machine
    is seen to be gone and the email goes again at once; one elsewhere is waited for until its lease ends."""
    recipient = seed(mail_settings, embedder)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with Store.open(mail_settings.db_path) as store:
        items = digest_for(store, mail_settings, recipient.id, DAY, embedder).items
        queued = store.outbox.queue(
            recipient.id, "2026-11-02", "email", None, message_id_for(mail_settings, recipient.id, "2026-11-02")
        )
        assert store.outbox.claim(queued.id, "2026-11-26T00:00:00+00:00", "2999-01-01T00:00:00+00:00", "far:1")
        assert not store.outbox.claim(queued.id, "2026-11-26T00:00:01+00:00", "2999-01-01T00:00:00+00:00", "me:2")
        send(
            SmtpServer.from_settings(mail_settings),
            compose(mail_settings, recipient, "2026-11-02", items, queued.message_id),
        )
        # ...and the process dies here, before delivery_sent().
    assert deliver(mail_settings, embedder, recipient).status == "sending"  # another host's lease: wait
    with Store.open(mail_settings.db_path) as store:
        store.db.execute("UPDATE deliveries SET claimed_by = %s", (f"{socket.gethostname()}:{gone.pid}",))
    resent = deliver(mail_settings, embedder, recipient)
    assert resent.status == "sent"
    assert [m["Message-ID"] for m in smtp.messages] == [queued.message_id, queued.message_id]


def test_unsubscribed_recipient_gets_no_more_email(mail_settings, smtp, embedder):
    recipient = seed(mail_settings, embedder)
    with Store.open(mail_settings.db_path) as store:
        store.people.stop_email(recipient.id)
        assert store.people.mailable() == []


def test_user_add_and_run_deliver_each_day_once(mail_settings, smtp, server, monkeypatch):
    for name, value in [
        ("PODSIFT_SMTP_URL", smtp.url),
        ("PODSIFT_MAIL_FROM", "digest@example.org"),
        ("PODSIFT_ALLOW_PRIVATE_NETWORKS", "1"),
    ]:
        monkeypatch.setenv(name, value)
    vtt = "WEBVTT\n\n" + "\n\n".join(
        f"00:00:{i * 6:02d}.000 --> 00:00:{i * 6 + 5:02d}.500\n{line}" for i, line in enumerate(EPISODE)
    )
    (server.root / "ep.vtt").write_text(vtt)
    (server.root / "feed.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">'
        "<channel><title>Cold Facts</title><item><title>Glaciers</title><guid>ep-1</guid>"
        "<pubDate>Mon, 02 Nov 2026 09:00:00 +0000</pubDate>"
        f'<enclosure url="{server.url}/ep.mp3" type="audio/mpeg"/>'
        f'<podcast:transcript url="{server.url}/ep.vtt" type="text/vtt"/></item></channel></rss>'
    )
    runner = CliRunner()
    assert runner.invoke(main, ["subscribe", f"{server.url}/feed.xml"]).exit_code == 0
    added = runner.invoke(main, ["user", "add", "ada@example.org", "--password-stdin"], input="s3cret\n")
    assert added.exit_code == 0, added.output

    first = runner.invoke(main, ["run", "--date", "2026-11-02"])
    assert first.exit_code == 0, first.output
    assert "ada@example.org: sent" in first.output and len(smtp.messages) == 1
    second = runner.invoke(main, ["run", "--date", "2026-11-02"])
    assert second.exit_code == 0 and len(smtp.messages) == 1, second.output
    assert "Glaciers flow because ice" in smtp.messages[0].get_body(("plain",)).get_content()
    with Store.open(mail_settings.db_path) as store:
        ada = store.people.by_email("ada@example.org")
        assert verify_password("s3cret", ada.password_hash) and not verify_password("wrong", ada.password_hash)
        assert len(store.shows.followed(ada.id)) == 1  # the first email adopts the install's existing subscriptions


def test_run_without_mail_settings_names_the_fix():
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 1 and "PODSIFT_MAIL_FROM" in result.output


def test_smtp_password_is_refused_in_the_config_file(home):
    home.mkdir(parents=True)
    (home / "podsift.toml").write_text('smtp_password = "hunter2"\n')
    result = CliRunner().invoke(main, ["feeds"])
    assert result.exit_code == 1 and "PODSIFT_SMTP_PASSWORD" in result.output and "hunter2" not in result.output


def test_atom_feed_of_digests_is_valid_atom(mail_settings, embedder):
    from lxml import etree

    recipient = seed(mail_settings, embedder)
    with Store.open(mail_settings.db_path) as store:
        digest_for(store, mail_settings, recipient.id, DAY, embedder)
    runner = CliRunner()
    env = {"PODSIFT_BASE_URL": "https://podsift.example.org"}
    result = runner.invoke(main, ["atom"], env=env)
    assert "Served by `podsift serve` at https://podsift.example.org/feed/1/" in result.stderr
    feed = etree.fromstring(result.stdout.encode())
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    for required in ("a:id", "a:title", "a:updated", "a:author/a:name"):
        assert feed.find(required, ns) is not None, required
    entries = feed.findall("a:entry", ns)
    assert len(entries) == 1
    entry = entries[0]
    assert entry.findtext("a:id", namespaces=ns) == "https://podsift.example.org/digest/2026-11-02"
    assert datetime.fromisoformat(entry.findtext("a:updated", namespaces=ns)).tzinfo is not None
    content = entry.find("a:content", ns)
    assert content.get("type") == "html" and "Glaciers flow because ice" in content.text
    assert "#t=18" in content.text


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # the smtps server is TLS throughout
@pytest.mark.parametrize("scheme", ["smtp+starttls", "smtps"])
def test_tls_and_login_with_the_password_from_the_environment(scheme, certificate, settings, embedder, monkeypatch):
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts only this test's certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, logins = Inbox(), []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"hunter2")

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = {"authenticator": authenticator, "auth_required": True}
    if scheme == "smtps":
        # aiosmtpd cannot tell that an implicit-TLS session is encrypted, so it must be told AUTH is fine.
        controller = Controller(
            inbox, hostname="127.0.0.1", port=port, ssl_context=context, auth_require_tls=False, **options
        )
    else:
        controller = Controller(
            inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True, **options
        )
    controller.start()
    try:
        tls_settings = dataclasses.replace(
            settings,
            smtp_url=f"{scheme}://ada%40example.org@127.0.0.1:{port}",
            smtp_password="hunter2",
            mail_from="digest@example.org",
        )
        recipient = seed(tls_settings, embedder)
        delivery = deliver(tls_settings, embedder, recipient)
        assert delivery.status == "sent", delivery.error
    finally:
        controller.stop()
    assert logins == [("ada@example.org", "hunter2")] and len(inbox.messages) == 1


def test_user_add_takes_a_person_s_own_zone_and_time(settings):
    runner = CliRunner()
    bad = runner.invoke(main, ["user", "add", "x@example.org", "--timezone", "Mars/Olympus"])
    assert bad.exit_code == 1 and "unknown time zone 'Mars/Olympus'" in bad.output
    with Store.open(settings.db_path) as store:
        assert store.people.all() == []  # refused before anything was written
    late = runner.invoke(main, ["user", "add", "x@example.org", "--time", "25:99"])
    assert late.exit_code == 1 and "HH:MM" in late.output
    ok = runner.invoke(
        main, ["user", "add", "x@example.org", "--timezone", "Asia/Tokyo", "--time", "06:30", "--interest", "space"]
    )
    assert ok.exit_code == 0, ok.output
    with Store.open(settings.db_path) as store:
        person = store.people.by_email("x@example.org")
    assert (person.timezone, person.delivery_time, person.interests) == ("Asia/Tokyo", "06:30", ["space"])


def test_the_smtp_password_is_never_echoed(settings, smtp):
    with_password = dataclasses.replace(settings, smtp_url="smtp://ada:hunter2@127.0.0.1:25")
    with pytest.raises(ConfigError) as refused:
        SmtpServer.from_settings(with_password)
    assert "PODSIFT_SMTP_PASSWORD" in str(refused.value) and "hunter2" not in str(refused.value)
    server = SmtpServer.from_settings(dataclasses.replace(settings, smtp_url=smtp.url, smtp_password="hunter2"))
    assert "hunter2" not in repr(server) and "hunter2" not in repr(
        dataclasses.replace(settings, smtp_password="hunter2")
    )


def test_an_email_owed_to_someone_who_unsubscribed_is_cancelled_not_kept_pending(mail_settings, smtp, embedder):
    recipient = seed(mail_settings, embedder)
    smtp.reply = "451 4.3.0 try again later"
    assert deliver(mail_settings, embedder, recipient).status == "pending"
    with Store.open(mail_settings.db_path) as store:
        store.people.stop_email(recipient.id)
        (row,) = store.outbox.all()
        assert row.status == "cancelled" and "unsubscribed" in row.error and store.outbox.unsent() == []
        # A row an earlier version left pending for someone who had unsubscribed: the next retry drops it.
        store.db.execute("UPDATE deliveries SET status = 'pending', next_attempt_at = NULL")
        smtp.reply = "250 OK"
        assert (
            retry_outbox(Context(mail_settings, store, None, None), embedder, SmtpServer.from_settings(mail_settings))
            == []
        )
        assert store.outbox.all()[0].status == "cancelled" and store.outbox.unsent() == []
    assert smtp.messages == []


def test_the_outbox_names_the_digest_it_sent(mail_settings, smtp, embedder):
    recipient = seed(mail_settings, embedder)
    with Store.open(mail_settings.db_path) as store:
        _, delivery = deliver_day(
            Context(mail_settings, store, None, None), recipient, DAY, embedder, SmtpServer.from_settings(mail_settings)
        )
        digest_id, items = store.digests.get(recipient.id, DAY.isoformat())
        assert delivery.status == "sent" and delivery.digest_id == digest_id and items


def test_user_enable_turns_email_back_on_after_an_unsubscribe(mail_settings, smtp, embedder):
    recipient = seed(mail_settings, embedder)
    with Store.open(mail_settings.db_path) as store:
        store.people.stop_email(recipient.id)
    result = CliRunner().invoke(main, ["user", "enable", "ada@example.org"])
    assert result.exit_code == 0 and "was off; it is back on" in result.output
    with Store.open(mail_settings.db_path) as store:
        assert [r.email for r in store.people.mailable()] == ["ada@example.org"]
        recipient = store.people.get(recipient.id)
    assert deliver(mail_settings, embedder, recipient).status == "sent"
    missing = CliRunner().invoke(main, ["user", "enable", "nobody@example.org"])
    assert missing.exit_code == 1 and "podsift user add nobody@example.org" in missing.output
