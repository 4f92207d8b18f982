"""Fixtures of the public SCIM conformance suites: a live SCIM server for one company.

Each suite talks to pytest-django's `live_server` over real HTTP, exactly as Microsoft Entra ID,
Okta or a SCIM client would, with a bearer key made by `api_key_generate`. The tests are
transactional (the live server runs in another thread and must see committed rows), so every
test starts from a database holding only the company, its admin and the key.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from integrations.services import GeneratedApiKey
from qaportal.accounts.models import Company

REPO_ROOT = Path(__file__).resolve().parents[2]

# The conformance data files live outside the repository, read-only (provenance in their
# SOURCES.md): `QA_CONFORMANCE_DIR`, else `shared/conformance/` beside the clone. CI sets the
# variable and fails when the folder is missing; a clone with neither skips these tests.
CONFORMANCE_DIR_ENV = "QA_CONFORMANCE_DIR"
DEFAULT_CONFORMANCE_DIR = REPO_ROOT.parent / "shared" / "conformance"
NO_CONFORMANCE_DATA = (
    f"public SCIM conformance data not found: set {CONFORMANCE_DIR_ENV}, or lay shared/conformance"
    " beside the repository"
)


def pytest_configure(config: pytest.Config) -> None:
    # Registered here so the suite runs under --strict-markers on its own; pyproject.toml may
    # register it too (a duplicate registration is harmless).
    config.addinivalue_line(
        "markers", "conformance: public SCIM conformance suites run against a live server"
    )


@dataclass(frozen=True)
class LiveScimServer:
    """A running SCIM endpoint and the credentials of one company."""

    company: Company
    generated_key: GeneratedApiKey
    origin: str  # "http://localhost:PORT"

    @property
    def token(self) -> str:
        return self.generated_key.plaintext

    @property
    def base_path(self) -> str:
        return settings.SCIM_BASE_PATH.strip("/")

    @property
    def base_url(self) -> str:
        """The Tenant URL an admin would paste into Entra, without a trailing slash."""
        return f"{self.origin}/{self.base_path}"

    @property
    def authorization(self) -> str:
        return f"Bearer {self.token}"


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    """Where the public suites' JSON files are; the tests that replay them skip without them.

    Every such test skips with the same reason, so a clone with nothing beside it reports one
    line. A `QA_CONFORMANCE_DIR` that names a missing folder fails instead: whoever set it
    (CI does) asked for these tests to run.
    """
    configured = os.environ.get(CONFORMANCE_DIR_ENV)
    directory = Path(configured) if configured else DEFAULT_CONFORMANCE_DIR
    if directory.is_dir():
        return directory
    if configured:
        pytest.fail(
            f"{CONFORMANCE_DIR_ENV}={configured} is not a folder: the public SCIM conformance"
            " data is missing.",
            pytrace=False,
        )
    pytest.skip(NO_CONFORMANCE_DATA)


@pytest.fixture
def scim_server(live_server, company, generated_key) -> LiveScimServer:
    """The live SCIM endpoint, with a fresh company and its current Entra key."""
    return LiveScimServer(company=company, generated_key=generated_key, origin=live_server.url)
