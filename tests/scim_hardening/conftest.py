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
