"""Who holds a lease (a claim on an episode or an email, a named lock): host and process, so that
a successor on the same machine can tell at once that the holder died."""

from __future__ import annotations

import os
import socket


def holder_name() -> str:
    """Who holds a lock: host and process, for the message another process shows."""
    return f"{socket.gethostname()}:{os.getpid()}"


def dead_holder(holder: str | None) -> str:
    """`holder` if it was a process on this machine that no longer runs (killed, or the machine
    restarted), so its lock need not wait out the lease; "" otherwise."""
    host, _, pid = (holder or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return ""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return holder
    except PermissionError:  # alive, under another user
        return ""
    return ""


def free(holder: str | None, until: str | None, at: str) -> bool:
    """Whether a claim held by `holder` until `until` is no obstacle at `at`: none, ended, or its holder died."""
    return holder is None or (until or "") <= at or bool(dead_holder(holder))
