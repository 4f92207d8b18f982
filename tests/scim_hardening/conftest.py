"""SCIM under hostile clients: real keys, and private servers that a test may kill.

The shared PostgreSQL (5432) and Redis (6379) serve other suites running at the same time, so
a fault is only ever injected into a server started here, on a free port, and stopped here.
"""

import pytest

from tests.scim.conftest import ScimClient
from tests.servers import RedisServer, free_port, wait_until

# The private servers now live in tests/servers.py (fixtures for every test); these names are
# kept importable from here.
__all__ = ["RedisServer", "free_port", "wait_until"]


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


def requests_until_refused(send, *, limit: int = 200) -> int:
    """Call `send()` (a request, returning its response) until one answers 429; return how
    many were sent. A limiter that never refuses fails the test after `limit` requests instead
    of hanging the suite."""
    for sent in range(1, limit + 1):
        if send().status_code == 429:
            return sent
    pytest.fail(f"no request was refused with 429 in {limit} requests")
