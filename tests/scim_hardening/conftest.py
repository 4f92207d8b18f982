"""SCIM clients holding real keys, and private servers that a test may kill.

The shared PostgreSQL (5432) and Redis (6379) serve other suites running at the same time, so
a fault is only ever injected into a server started here, on a free port, and stopped here.
"""

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.scim.conftest import ScimClient


def pytest_configure(config: pytest.Config) -> None:
    # Also belongs in pyproject's markers list; registered here so --strict-markers passes.
    config.addinivalue_line(
        "markers", "faults: stops and starts a private PostgreSQL or Redis server mid-test"
    )


@pytest.fixture
def scim_client(generated_key) -> ScimClient:
    return ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")


@pytest.fixture
def other_scim_client(other_generated_key) -> ScimClient:
    return ScimClient(HTTP_AUTHORIZATION=f"Bearer {other_generated_key.plaintext}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float = 15.0, interval: float = 0.05) -> bool:
    """Poll `predicate` until it holds or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def requests_until_refused(send, *, limit: int = 200) -> int:
    """Call `send()` (a request, returning its response) until one answers 429; return how
    many were sent. A limiter that never refuses fails the test after `limit` requests instead
    of hanging the suite."""
    for sent in range(1, limit + 1):
        if send().status_code == 429:
            return sent
    pytest.fail(f"no request was refused with 429 in {limit} requests")


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
