"""Shared fixtures: companies, admins and keys made through the real services."""

import pytest
from django.core.cache import cache

from integrations.models import Integration
from integrations.services import GeneratedApiKey, api_key_generate, integrations_ensure
from tests.factories import CompanyAdminFactory, CompanyFactory

# The local OpenID Connect provider (a second process imitating Entra), shared by
# tests/oidc_provider and tests/sso: `local_entra` per session, `entra` reset per test; and
# private Redis / PostgreSQL servers that a test may stop (tests/servers.py).
pytest_plugins = ["tests.oidc_provider.fixture", "tests.servers"]

ADMIN_PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: sign-in and reset counters live there, and one
    test's failed sign-ins must not slow down the next test's."""
    cache.clear()
    yield


@pytest.fixture
def company(db):
    company = CompanyFactory(name="Contoso", slug="contoso")
    integrations_ensure(company=company)
    return company


@pytest.fixture
def other_company(db):
    company = CompanyFactory(name="Fabrikam", slug="fabrikam")
    integrations_ensure(company=company)
    return company


@pytest.fixture
def admin_user(company):
    return CompanyAdminFactory(company=company, email="admin@contoso.com")


@pytest.fixture
def other_admin_user(other_company):
    return CompanyAdminFactory(company=other_company, email="admin@fabrikam.com")


@pytest.fixture
def entra_integration(company) -> Integration:
    return Integration.objects.get(company=company, provider=Integration.Provider.ENTRA_ID)


@pytest.fixture
def other_entra_integration(other_company) -> Integration:
    return Integration.objects.get(company=other_company, provider=Integration.Provider.ENTRA_ID)


@pytest.fixture
def generated_key(entra_integration, admin_user) -> GeneratedApiKey:
    return api_key_generate(integration=entra_integration, created_by=admin_user)


@pytest.fixture
def other_generated_key(other_entra_integration, other_admin_user) -> GeneratedApiKey:
    return api_key_generate(integration=other_entra_integration, created_by=other_admin_user)


@pytest.fixture
def admin_client(client, admin_user):
    """A test client signed in as the company admin (replaces pytest-django's superuser one)."""
    client.force_login(admin_user)
    return client
