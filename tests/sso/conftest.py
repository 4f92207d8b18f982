"""Fixtures of the single sign-on tests: a company with SSO switched on, and its learners."""

import uuid

import pytest

from sso.models import SsoConnection, VerifiedDomain
from sso.services import sso_connection_save
from tests.factories import LearnerFactory

TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT_ID = "3c3a7d3e-5a0f-4b8e-9a0b-6f1f0d9a1c11"
CLIENT_SECRET = "Qx8~secret-value-from-entra.0123456789"
OTHER_TENANT_ID = "0b1d2c3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
OTHER_CLIENT_ID = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"


@pytest.fixture
def sso_connection(entra_integration, admin_user) -> SsoConnection:
    return sso_connection_save(
        integration=entra_integration,
        tenant_id=TENANT_ID,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        is_enabled=True,
        require_sso=False,
        updated_by=admin_user,
    )


@pytest.fixture
def other_sso_connection(other_entra_integration, other_admin_user) -> SsoConnection:
    return sso_connection_save(
        integration=other_entra_integration,
        tenant_id=OTHER_TENANT_ID,
        client_id=OTHER_CLIENT_ID,
        client_secret="other-company-secret-value",
        is_enabled=True,
        require_sso=False,
        updated_by=other_admin_user,
    )


@pytest.fixture
def contoso_domain(company) -> VerifiedDomain:
    return VerifiedDomain.objects.create(company=company, domain="contoso.com")


@pytest.fixture
def learner(company):
    """A learner as Entra provisions one: userName is the UPN, externalId the object id."""
    return LearnerFactory(
        company=company,
        user_name="alice@contoso.com",
        external_id=str(uuid.uuid4()),
        given_name="Alice",
        family_name="Adams",
    )


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with no cached key set (the JWKS cache is the per-process memory)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
