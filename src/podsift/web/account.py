"""A person's own settings, their email on and off (the signed unsubscribe link), and their
private Atom feed."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from ..deliver.mail import feed_url, topic_feed_url
from ..deliver.rank import stored_digests
from ..deliver.render import (
    digests_atom,
)
from ..errors import ConfigError
from ..settings import clock_time, zone
from ..users import hash_password, verify_password
from .access import signed
from .app import MAX_INTERESTS, ZONES
from .guard import (
    begin_session,
)


def settings_page(request: Request, message: str = "", error: str = "", status: int = 200):
    """GET /settings: the person's zone, delivery time, interests, email and private Atom address."""
    app = request.app.state.podsift
    settings = app.settings
    with app.store() as store:
        me = store.people.get(request.state.uid)
        subjects = [(t, topic_feed_url(settings, me.id, t.id)) for t in store.people.topics(me.id)]
    return app.page(
        request,
        "settings.html",
        status,
        me=me,
        subjects=subjects,
        zones=ZONES,
        install=settings,
        atom=feed_url(settings, me.id),
        message=message,
        error=error,
    )


def save_settings(request: Request, form):
    """POST /settings: take a zone, time and interests (each checked, 400 with what is valid) and email on or off."""
    app = request.app.state.podsift
    timezone, at = str(form.get("timezone", "")).strip(), str(form.get("delivery_time", "")).strip()
    interests = [line.strip() for line in str(form.get("interests", "")).splitlines() if line.strip()]
    try:
        if timezone:
            zone(timezone)
        if at:
            clock_time(at)
    except ConfigError as exc:
        return settings_page(request, error=str(exc), status=400)
    if len(interests) > MAX_INTERESTS or any(len(i) > 100 for i in interests):
        wrong = f"At most {MAX_INTERESTS} interests, of up to 100 characters each."
        return settings_page(request, error=wrong, status=400)
    with app.store() as store:
        store.people.set_schedule(request.state.uid, timezone, at)
        store.people.set_interests(request.state.uid, interests)
        if form.get("email") == "on":
            store.people.resume_email(request.state.uid)
        else:
            store.people.stop_email(request.state.uid)
    request.state.email_off = form.get("email") != "on"
    return settings_page(request, message="Saved. Digests from the next one on follow these settings.")


def change_password(request: Request, form):
    """POST /settings/password: a new password, given the current one; every other session ends."""
    app = request.app.state.podsift
    current, new, again = (str(form.get(k, "")) for k in ("current", "new", "again"))
    with app.store() as store:
        me = store.people.get(request.state.uid)
        if not verify_password(current, me.password_hash):
            return settings_page(request, error="The current password is wrong: nothing changed.", status=400)
        if not new or new != again:
            wrong = "The new password was empty, or not typed the same twice: nothing changed."
            return settings_page(request, error=wrong, status=400)
        store.people.set_password(me.id, hash_password(new))  # ends every session, this one too...
        begin_session(request, store, me.id)  # ...so this browser gets a new one
    return settings_page(request, message="Password changed; every other session is logged out.")


def email_on(request: Request, form):
    """POST /email/on: send this person's digests by email again."""
    app = request.app.state.podsift
    with app.store() as store:
        store.people.resume_email(request.state.uid)
    return RedirectResponse("/", status_code=303)


def unsubscribe(request: Request):
    """GET or one-click POST (RFC 8058) /unsubscribe/ID/TOKEN: no more email, without logging in."""
    app = request.app.state.podsift
    recipient_id = signed(request, "unsubscribe")
    if recipient_id is None:
        return PlainTextResponse("This unsubscribe link is not valid.", 404)
    if request.method == "GET":
        return app.page(request, "unsubscribe.html", done=False)
    with app.store() as store:
        store.people.stop_email(recipient_id)
    again = request.url.path.replace("/unsubscribe/", "/resubscribe/", 1)
    return app.page(request, "unsubscribe.html", done=True, resubscribe=again)


def resubscribe(request: Request):
    """POST /resubscribe/ID/TOKEN: undo the unsubscribe that the same link did."""
    app = request.app.state.podsift
    recipient_id = signed(request, "unsubscribe")  # the same link's token undoes what it did
    if recipient_id is None:
        return PlainTextResponse("This link is not valid.", 404)
    with app.store() as store:
        store.people.resume_email(recipient_id)
    return app.page(request, "unsubscribe.html", done=False, back_on=True)


def atom_feed(request: Request):
    """GET /feed/ID/TOKEN.atom: a person's stored digests as Atom, for a feed reader (signed, no login)."""
    app = request.app.state.podsift
    settings = app.settings
    recipient_id = signed(request, "feed")
    if recipient_id is None:
        return PlainTextResponse("This feed address is not valid.", 404)
    with app.store() as store:
        digests = stored_digests(store, recipient_id)
    return Response(
        digests_atom(settings.base_url, digests, str(request.url)), media_type="application/atom+xml; charset=utf-8"
    )
