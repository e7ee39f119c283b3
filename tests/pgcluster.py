"""A throwaway Postgres cluster, for the tests (conftest's `postgres`) and bench/scale.py."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on, for a server that must be told its number."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_bin(name: str) -> str:
    """A server program of Debian's postgresql package (not on PATH), or on PATH elsewhere."""
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}")) or [shutil.which(name)]
    if not found[-1]:
        raise RuntimeError("Postgres's server programs are needed: apt-get install postgresql (see .ci/run)")
    return str(found[-1])


class PgCluster:
    """A Postgres cluster in a temporary folder, on 127.0.0.1 (initdb and pg_ctl, with fsync off:
    nothing here must survive a power cut). As root, the server runs as `postgres`, since
    Postgres refuses to run as root."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="podsift-pg-"))
        self.as_user = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data, port = self.folder / "data", free_port()
        self.url = f"postgresql://podsift@127.0.0.1:{port}/postgres"  # the admin database
        self.options = f"-p {port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._run("initdb", "-D", str(self.data), "-U", "podsift", "--auth=trust", "-E", "UTF8", "--locale=C")
        self.pg_ctl("start")

    def pg_ctl(self, action: str, *more: str) -> None:
        """start, stop or restart the server (waiting until it is done)."""
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", self.options, "-l", str(self.folder / "log"), "-w", action, *more
        )

    def database(self, name: str) -> str:
        """A new, empty database (any of that name goes first); returns its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
            admin.execute(f"CREATE DATABASE {name}")
        return self.url.rsplit("/", 1)[0] + "/" + name

    def close(self) -> None:
        self.pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        subprocess.run([*self.as_user, postgres_bin(program), *args], check=True, capture_output=True)
