"""Private servers a test may stop: a throwaway redis-server and a throwaway PostgreSQL cluster.

The shared PostgreSQL (5432) and Redis (6379) serve other suites running at the same time, so
a fault is only ever injected into a server started here, on a free port, and stopped here.
Loaded as a plugin by tests/conftest.py: `private_redis` and `throwaway_postgres` are fixtures
everywhere.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    predicate: Callable[[], object], *, timeout: float = 15.0, interval: float = 0.05
) -> bool:
    """Poll `predicate` until it holds or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


@dataclass
class RedisServer:
    """A throwaway redis-server (no persistence) on its own port."""

    port: int
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_until(self._answers), "redis-server did not start"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _as_postgres(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        ["runuser", "-u", "postgres", "--", *argv],  # noqa: S607 - util-linux, on PATH
        check=True,
        capture_output=True,
        timeout=60,
        **kwargs,
    )


class PostgresCluster:
    """A PostgreSQL cluster of its own (initdb in a temporary folder), database `qaportal`."""

    def __init__(self, bin_dir: Path, data_dir: Path, port: int) -> None:
        self.bin_dir, self.data_dir, self.port = bin_dir, data_dir, port

    def ctl(self, *args: str) -> None:
        _as_postgres(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.data_dir / "server.log"),
            "-w",
            "-t",
            "30",
            "-o",
            f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1",
            *args,
        )

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/qaportal"


def _postgres_bin() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return candidates[0].parent if candidates else None


@pytest.fixture
def throwaway_postgres() -> Iterator[PostgresCluster]:
    bin_dir = _postgres_bin()
    if bin_dir is None or shutil.which("runuser") is None or os.geteuid() != 0:
        pytest.skip("needs PostgreSQL server binaries and root (to run them as postgres)")
    base = Path(tempfile.mkdtemp(prefix="qa-pg-fault-"))
    shutil.chown(base, "postgres")
    cluster = PostgresCluster(bin_dir, base / "data", free_port())
    _as_postgres(
        str(bin_dir / "initdb"), "-D", str(cluster.data_dir), "-U", "postgres", "-A", "trust"
    )
    cluster.ctl("start")
    try:
        _as_postgres(
            str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port), "qaportal"
        )
        yield cluster
    finally:
        subprocess.run(  # noqa: S603 - fixed argv
            [  # noqa: S607 - util-linux, on PATH
                "runuser",
                "-u",
                "postgres",
                "--",
                str(bin_dir / "pg_ctl"),
                "-D",
                str(cluster.data_dir),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(base, ignore_errors=True)
