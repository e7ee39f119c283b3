"""The owner's page: people, the outbox with its retries, each feed's health, the service's status."""

from __future__ import annotations

from starlette.requests import Request

from ..status import status as service_status
from ..store import Store
from .access import owner_only


@owner_only
def admin(request: Request, store: Store, message: str = ""):
    """GET /admin (the owner's): people and what they follow, the outbox, feed health, the service's status."""
    app = request.app.state.podsift
    settings = app.settings
    found = service_status(store, settings)
    people = store.people.overview()
    emails = {person.id: person.email or "(the command line's default)" for person, _, _ in people}
    follows = {person.id: [s.title or s.feed_url for s in store.shows.followed(person.id)] for person, _, _ in people}
    return app.page(
        request,
        "admin.html",
        people=people,
        follows=follows,
        install=settings,
        outbox=store.outbox.all()[:200],
        emails=emails,
        shows=store.shows.followed(),
        lines=found.lines,
        healthy=found.healthy,
        message=message,
    )


@owner_only
def retry(request: Request, store: Store, form):
    """POST /admin/outbox/ID/retry: send a failed or waiting email at the outbox's next pass."""
    delivery = store.outbox.retry_now(int(request.path_params["id"]))
    if delivery.status != "pending":
        return admin(request, f"That email of {delivery.day} is {delivery.status}: there is nothing to retry.")
    return admin(
        request,
        f"The email of {delivery.day} is queued again: `podsift serve` sends it within a "
        "minute, or the next `podsift run` does.",
    )
