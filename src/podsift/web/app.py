"""The web app's shared state (`App`: settings, templates, the embedder, the login limits) and
the helpers every page module uses."""

from __future__ import annotations

from importlib import resources
from zoneinfo import available_timezones

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ..deliver.render import (
    clock,
    listen_url,
    safe_url,
)
from ..insights.embed import MiniLM
from ..settings import Settings
from ..store import Store, open_store
from .guard import (
    LoginLimits,
    csrf_token,
)

SHOWS_PER_PAGE = 100
EXPORTS = {"md": "text/markdown", "csv": "text/csv", "json": "application/json"}
ZONES = sorted(available_timezones())
MAX_INTERESTS = 20


class App:
    """The app's state: settings, templates, the embedder and the login limits."""

    def __init__(self, settings: Settings):
        self.settings = settings
        folder = str(resources.files("podsift") / "templates")
        self.templates = Environment(loader=FileSystemLoader(folder), autoescape=True)
        self.templates.globals.update(clock=clock, highlight=highlight, listen_url=listen_url, safe_url=safe_url)
        self.embedder = MiniLM()
        self.limits = LoginLimits(settings)

    def store(self) -> Store:
        return open_store(self.settings)

    def page(self, request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        state = request.state  # behind a login: who, whether they own the install, whether their email is off
        context.update(user=getattr(state, "uid", None), owner=getattr(state, "owner", False))
        context.setdefault("email_off", getattr(state, "email_off", False))
        html = self.templates.get_template(name).render(csrf=csrf_token(request), **context)
        return HTMLResponse(html, status_code=status)

    def problem(self, request: Request, status: int, message: str) -> HTMLResponse:
        """A 4xx page that says what was wrong and what is valid."""
        return self.page(request, "problem.html", status, message=message)


def exported(body: str, fmt: str, name: str) -> Response:
    """An export as a file to save (JSON shown in place, for scripts)."""
    disposition = "inline" if fmt == "json" else f'attachment; filename="{name}.{fmt}"'
    return Response(body, media_type=f"{EXPORTS[fmt]}; charset=utf-8", headers={"Content-Disposition": disposition})


def highlight(snippet: str) -> Markup:
    """A search snippet, escaped, with its matched words (between \\x02 and \\x03) marked."""
    return Markup(str(escape(snippet)).replace("\x02", "<mark>").replace("\x03", "</mark>"))
