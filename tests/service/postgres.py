"""A throwaway PostgreSQL server for the store tests, when this machine has one installed.

``initdb`` and ``pg_ctl`` from ``PATH`` start a private cluster in a temporary folder,
listening on a free localhost port with trust auth; each test gets its own database.
Without the PostgreSQL binaries or ``psycopg`` the tests that need it skip (a user's fresh
machine usually has neither). PostgreSQL refuses to run as root, so under root the server
runs as the ``postgres`` system user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

_USER = "fewlat"
#: a natural-language collation, as production servers have (``Zed`` sorts after ``apple``),
#: from ICU so that it needs no OS locale; the C locale would hide ordering differences
_LOCALE = ("-E", "UTF8", "--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=en")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresCluster:
    """A running cluster; :meth:`new_database` hands out empty databases by URL."""

    def __init__(self, port: int) -> None:
        self.port = port

    def new_database(self) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=_USER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://{_USER}@127.0.0.1:{self.port}/{name}"


def _runner() -> tuple[list[str], int | None]:
    """The command prefix that runs PostgreSQL tools, and the uid that must own the data."""
    if os.geteuid() != 0:
        return [], None
    try:
        uid = pwd.getpwnam("postgres").pw_uid
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to run PostgreSQL as")
    # runuser lives in sbin, which a non-login PATH (as CI's) may lack
    runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
    if runuser is None:
        pytest.skip("running as root and 'runuser' is missing, so PostgreSQL cannot start")
    return [runuser, "-u", "postgres", "--"], uid


@contextlib.contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """Start a private PostgreSQL cluster, or skip the calling test if none can start."""
    pytest.importorskip("psycopg", reason="psycopg is not installed")
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL (initdb, pg_ctl) is not installed on this machine")
    prefix, uid = _runner()
    root = Path(tempfile.mkdtemp(prefix="fewlat-pg-"))
    data, log = root / "data", root / "server.log"
    port = _free_port()
    if uid is not None:
        os.chown(root, uid, -1)
    run = lambda *args: subprocess.run(  # noqa: E731
        [*prefix, *args], capture_output=True, text=True, timeout=120, check=False
    )
    try:
        done = run(initdb, "-D", str(data), "-U", _USER, "--auth=trust", *_LOCALE)
        if done.returncode != 0:
            pytest.skip(f"initdb failed: {done.stderr.strip()[-300:]}")
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        done = run(pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
        if done.returncode != 0:
            pytest.skip(f"PostgreSQL did not start: {done.stderr.strip()[-300:]}")
        try:
            yield PostgresCluster(port)
        finally:
            run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
