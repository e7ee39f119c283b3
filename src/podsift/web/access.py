"""Who is asking: sessions, the login form, and the guards every page goes through
(`login_required`, `posted` for forms with their CSRF token, `owner_only`, `signed` links)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse

from ..errors import NotFound
from ..users import check_token, secret_key, verify_password
from .guard import (
    begin_session,
    client_address,
    end_session,
    form_checked,
    session_user,
)


def who(request: Request) -> int | None:
    """The live session's person, with what every page shows of them, on `request.state`."""
    app = request.app.state.podsift
    with app.store() as store:
        uid = session_user(request, store)
        if uid:
            me = store.people.get(uid)
            request.state.owner = store.people.owner() == uid  # the status page is theirs
            request.state.email_off = bool(me.email and me.unsubscribed_at)
    return uid


async def signed_in(request: Request) -> bool:
    """Whether the request belongs to a live session; its person's id goes to `request.state.uid`."""
    request.state.uid = await run_in_threadpool(who, request)
    if not request.state.uid:
        request.session.pop("sid", None)  # ended or expired: the cookie forgets it
    return bool(request.state.uid)


def login_required(handler):
    """`handler(request)`, run in the thread pool for a live session; else the login page."""

    async def wrapped(request: Request):
        if not await signed_in(request):
            return RedirectResponse("/login", status_code=303)
        return await run_in_threadpool(handler, request)

    return wrapped


def posted(handler):
    """A login-required form handler, `handler(request, form)`, that refuses a request without
    the session's CSRF token."""

    async def wrapped(request: Request):
        if not await signed_in(request):
            return RedirectResponse("/login", status_code=303)
        form = await form_checked(request)
        if form is None:
            return PlainTextResponse("The form was stale or forged: reload the page and try again.", 403)
        return await run_in_threadpool(handler, request, form)

    return wrapped


def owner_only(handler):
    """`handler(request, store, ...)` for the install's owner; a 404 for anyone else."""

    def wrapped(request: Request, *args):
        app = request.app.state.podsift
        with app.store() as store:
            if request.state.uid != store.people.owner():
                return app.problem(request, 404, "This page is for the install's owner (its first account).")
            return handler(request, store, *args)

    return wrapped


async def login(request: Request):
    """GET /login: the form; POST: checked for its CSRF token, then `log_in`."""
    app = request.app.state.podsift
    if request.method == "GET":
        return app.page(request, "login.html")
    form = await form_checked(request)
    if form is None:
        return app.page(request, "login.html", 403, error="The form was stale: try again.")
    return await run_in_threadpool(log_in, request, form)


def log_in(request: Request, form):
    """Check an email and password against the login limits; a right pair starts a session."""
    app = request.app.state.podsift
    address = client_address(request, app.limits.trusted)
    email, password = str(form.get("email", "")).strip(), str(form.get("password", ""))
    if app.limits.refused(address, email):
        return app.page(request, "login.html", 429, error="Too many failed logins: wait five minutes.")
    with app.store() as store:
        try:
            person = store.people.by_email(email)
        except NotFound:
            person = None
        if not verify_password(password, person.password_hash if person else None) or person is None:
            app.limits.failed(address, email)
            return app.page(request, "login.html", 401, error="Wrong email or password.")
        begin_session(request, store, person.id)
    return RedirectResponse("/", status_code=303)


def logout(request: Request, form):
    """POST /logout: end this session."""
    app = request.app.state.podsift
    with app.store() as store:
        end_session(request, store)
    return RedirectResponse("/login", status_code=303)


def signed(request: Request, purpose: str) -> int | None:
    """The recipient a link signed for `purpose` was made for, or None for a forged one."""
    app = request.app.state.podsift
    settings = app.settings
    recipient_id, given = int(request.path_params["rid"]), request.path_params["token"]
    return recipient_id if check_token(secret_key(settings.home), purpose, recipient_id, given) else None
