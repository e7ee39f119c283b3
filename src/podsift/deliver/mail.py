"""Stage 6, deliver: the day's digest by email, through an outbox in the store.

For each recipient and day the message is queued first, with a Message-ID that never changes,
then claimed (a lease, so two processes never send it at once), sent, and marked sent once the
server has accepted it. A temporary failure (4xx, no connection) is retried with backoff on later
runs; a permanent one (5xx) is recorded and shown.

Delivery is at least once: a crash after the server's 250 and before the store's commit leaves
the lease to expire, and the next run sends the same message again, under the same Message-ID,
which mail clients recognise as one message. The alternative, marking sent before sending,
would lose a digest to the same crash.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import unquote, urlsplit

from ..errors import ConfigError, PodsiftError
from ..models import Delivery, Recipient
from ..settings import Settings
from ..store import Store, holder_name, iso
from ..users import secret_key, token
from .items import DigestItem
from .rank import TopicSection
from .render import digest_email_html, digest_text

LEASE = timedelta(minutes=10)
BACKOFF = (timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=6))
MAX_ATTEMPTS = len(BACKOFF) + 1
SECURITY = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}


class TemporaryFailure(PodsiftError):
    """The server or the network failed in a way that may pass: try again later."""


class PermanentFailure(PodsiftError):
    """The server refused the message for good: retrying will not help."""


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to send: from `PODSIFT_SMTP_URL` and `PODSIFT_SMTP_PASSWORD`."""

    host: str
    port: int
    security: str  # plain | starttls | tls
    user: str = ""
    password: str = field(default="", repr=False)  # never in a log line or a traceback

    @classmethod
    def from_settings(cls, settings: Settings) -> "SmtpServer":
        parts = urlsplit(settings.smtp_url)
        if parts.password is not None:  # said without echoing the URL, which holds the password
            raise ConfigError("smtp_url holds a password: remove it from the URL and set PODSIFT_SMTP_PASSWORD instead")
        if parts.scheme not in SECURITY or not parts.hostname:
            raise ConfigError(
                f"smtp_url {settings.smtp_url!r} is not usable: give smtp://host:25, smtp+starttls://user@host:587 "
                "or smtps://user@host:465 in PODSIFT_SMTP_URL or podsift.toml"
            )
        security, port = SECURITY[parts.scheme]
        return cls(parts.hostname, parts.port or port, security, unquote(parts.username or ""), settings.smtp_password)


def send(server: SmtpServer, message: EmailMessage, timeout: float = 30.0) -> None:
    """Hand one message to the SMTP server; raise TemporaryFailure or PermanentFailure."""
    try:
        if server.security == "tls":
            client = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=timeout)
        with client:
            if server.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if server.user:
                client.login(server.user, server.password)
            client.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise PermanentFailure(
            f"the SMTP server refused the login ({exc.smtp_code}); check the user in "
            "PODSIFT_SMTP_URL and PODSIFT_SMTP_PASSWORD"
        ) from None
    except smtplib.SMTPResponseException as exc:
        kind = PermanentFailure if exc.smtp_code >= 500 else TemporaryFailure
        raise kind(f"the SMTP server answered {exc.smtp_code} {_text(exc.smtp_error)}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()))
        kind = PermanentFailure if code >= 500 else TemporaryFailure
        raise kind(f"the SMTP server refused the recipient: {code} {_text(reply)}") from None
    except ssl.SSLError as exc:
        raise TemporaryFailure(f"TLS with {server.host} failed ({exc.reason}); check the SMTP URL's scheme") from None
    except (smtplib.SMTPException, OSError, socket.timeout) as exc:
        raise TemporaryFailure(f"cannot reach the SMTP server {server.host}:{server.port} ({exc})") from None


def compose(
    settings: Settings,
    recipient: Recipient,
    day: str,
    items: list[DigestItem],
    message_id: str,
    sections: list[TopicSection] = (),
) -> EmailMessage:
    """The digest, and its followed topics' `sections`, as a multipart text + HTML email with
    one-click unsubscribe headers (RFC 8058)."""
    unsubscribe = unsubscribe_url(settings, recipient.id)
    message = EmailMessage()
    on = "".join(f", and on \u201c{s.topic}\u201d" for s in sections[:2]) + (", and more" if len(sections) > 2 else "")
    message["Subject"] = f"Your podsift digest for {day}: {len(items)} insight{'s' if len(items) != 1 else ''}{on}"
    message["From"] = settings.mail_from
    message["To"] = recipient.email
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = message_id
    message["List-Unsubscribe"] = f"<{unsubscribe}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(digest_text(day, items, sections) + f"\nUnsubscribe: {unsubscribe}\n")
    message.add_alternative(digest_email_html(day, items, unsubscribe, sections), subtype="html")
    return message


def unsubscribe_url(settings: Settings, recipient_id: int) -> str:
    """The signed link that stops email to this recipient, without logging in."""
    signed = token(secret_key(settings.home), "unsubscribe", recipient_id)
    return f"{settings.base_url.rstrip('/')}/unsubscribe/{recipient_id}/{signed}"


def feed_url(settings: Settings, recipient_id: int) -> str:
    """The web app's address of a recipient's Atom feed, signed so a feed reader needs no login."""
    signed = token(secret_key(settings.home), "feed", recipient_id)
    return f"{settings.base_url.rstrip('/')}/feed/{recipient_id}/{signed}.atom"


def topic_feed_url(settings: Settings, recipient_id: int, topic_id: int) -> str:
    """The web app's address of the Atom feed of one followed topic, signed like `feed_url`."""
    signed = token(secret_key(settings.home), f"topic-{topic_id}", recipient_id)
    return f"{settings.base_url.rstrip('/')}/feed/{recipient_id}/topics/{topic_id}/{signed}.atom"


def message_id_for(settings: Settings, recipient_id: int, day: str) -> str:
    """A Message-ID fixed for (recipient, day), so a resend is recognisably the same message."""
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "podsift.invalid"
    return f"<digest-{day}-r{recipient_id}@{domain}>"


def deliver_email(
    store: Store,
    settings: Settings,
    server: SmtpServer,
    recipient: Recipient,
    day: str,
    items: list[DigestItem],
    digest_id: int | None = None,
    sections: list[TopicSection] = (),
) -> Delivery:
    """Queue, claim, send and record one recipient's digest for a day (with its followed topics'
    `sections`); safe to call any number of times."""
    delivery = store.outbox.queue(recipient.id, day, "email", digest_id, message_id_for(settings, recipient.id, day))
    at = datetime.now(timezone.utc)
    if not store.outbox.claim(delivery.id, iso(at), iso(at + LEASE), holder_name()):
        return delivery  # sent, failed, not due yet, or being sent by another process
    try:
        send(server, compose(settings, recipient, day, items, delivery.message_id, sections))
    except PermanentFailure as exc:
        store.outbox.failed(delivery.id, str(exc))
    except TemporaryFailure as exc:
        attempts = delivery.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            store.outbox.failed(delivery.id, f"gave up after {attempts} attempts: {exc}")
        else:
            store.outbox.retry_later(delivery.id, str(exc), iso(at + BACKOFF[attempts - 1]))
    else:
        store.outbox.sent(delivery.id)
    return store.outbox.get(delivery.id)


def _text(reply) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
