"""The web app: read digests and play each insight from its second, rate insights, manage shows,
ask what was said about a subject and follow it.

Starlette with Jinja templates (autoescaped: every piece of feed text is escaped on the way out),
no front-end build, no inline script or style (the Content-Security-Policy forbids them). Every
page but login, unsubscribe and the Atom feed needs a session (`guard.py`: sessions in the store,
CSRF tokens, the login limit, the headers). The unsubscribe link in email works without logging
in, authenticated by its signed token, accepts the one-click POST of RFC 8058, and can be undone.

Handlers are plain functions that Starlette runs in its thread pool: they wait on SQLite and run
ONNX, and on the event loop one slow request would hold up every other.
"""

from __future__ import annotations

from importlib import resources

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import NotFound
from ..settings import Settings
from ..users import secret_key
from . import account, admin, reading, shows, subjects
from .access import login, login_required, logout, posted
from .app import App
from .guard import SESSION_IDLE, SecurityHeaders


def create_app(settings: Settings) -> Starlette:
    """The podsift web app for one install: the routes of each page module, the session and the
    security headers; the shared state (`App`) is on `app.state.podsift` for every handler."""
    routes = [
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", posted(logout), methods=["POST"]),
        Route("/", login_required(reading.home)),
        Route("/digest/{day}.{fmt}", login_required(reading.digest_export)),
        Route("/digest/{day}", login_required(reading.digest)),
        Route("/episode/{id:int}.{fmt}", login_required(reading.episode_export)),
        Route("/insight/{id:int}/vote", posted(reading.vote), methods=["POST"]),
        Route("/feeds", login_required(shows.feeds)),
        Route("/feeds/add", posted(shows.add_feed), methods=["POST"]),
        Route("/feeds/remove", posted(shows.remove_feed), methods=["POST"]),
        Route("/feeds/import", posted(shows.import_opml), methods=["POST"]),
        Route("/feeds/export", login_required(shows.export_opml)),
        Route("/search", login_required(reading.search)),
        Route("/subject", login_required(subjects.subject)),
        Route("/subject/follow", posted(subjects.follow), methods=["POST"]),
        Route("/subject/unfollow", posted(subjects.unfollow), methods=["POST"]),
        Route("/topics", login_required(reading.topic_list)),
        Route("/topics/{id:int}", login_required(reading.topic_page)),
        Route("/episode/{id:int}", login_required(reading.episode)),
        Route("/show/{id:int}", login_required(shows.show_page)),
        Route("/show/{id:int}/check", posted(shows.check_show), methods=["POST"]),
        Route("/show/{id:int}/remove", login_required(shows.confirm_remove)),
        Route("/settings", login_required(account.settings_page)),
        Route("/settings", posted(account.save_settings), methods=["POST"]),
        Route("/settings/password", posted(account.change_password), methods=["POST"]),
        Route("/admin", login_required(admin.admin)),
        Route("/admin/outbox/{id:int}/retry", posted(admin.retry), methods=["POST"]),
        Route("/status", login_required(admin.admin)),  # its old address
        Route("/email/on", posted(account.email_on), methods=["POST"]),
        Route("/unsubscribe/{rid:int}/{token}", account.unsubscribe, methods=["GET", "POST"]),
        Route("/resubscribe/{rid:int}/{token}", account.resubscribe, methods=["POST"]),
        Route("/feed/{rid:int}/{token}.atom", account.atom_feed),
        Route("/feed/{rid:int}/topics/{tid:int}/{token}.atom", subjects.subject_feed),
        Mount("/static", StaticFiles(directory=str(resources.files("podsift") / "static")), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=secret_key(settings.home).hex(),
            https_only=settings.base_url.startswith("https://"),
            same_site="lax",
            session_cookie="podsift_session",
            max_age=int(SESSION_IDLE.total_seconds()),
        ),
    ]
    handlers = {404: reading.not_found, NotFound: not_yours}
    web = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)
    web.state.podsift = App(settings)
    return web


def not_yours(request: Request, exc: NotFound):
    """A NotFound from any handler (a day, show, episode, insight or email that is not the
    person's, or not there): the 404 page, saying what is valid."""
    return request.app.state.podsift.problem(request, 404, str(exc))
