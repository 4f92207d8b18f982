"""Django admin for staff: switch a company's SSO off, verify its email domains."""

import pytest
from django.urls import reverse

from qaportal.accounts.models import User
from sso.crypto import secret_decrypt
from sso.models import VerifiedDomain
from tests.sso.conftest import CLIENT_ID, CLIENT_SECRET, TENANT_ID

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    staff = User.objects.create_superuser(email="staff@qa.example", password="staff-pass-123")
    client.force_login(staff)
    return client


def test_staff_see_a_connection_without_its_secret_and_can_switch_it_off(
    staff_client, sso_connection
):
    url = reverse("admin:sso_ssoconnection_change", args=[sso_connection.pk])
    html = staff_client.get(url).content.decode()
    assert TENANT_ID in html
    assert CLIENT_SECRET not in html
    assert sso_connection.client_secret_encrypted not in html

    response = staff_client.post(url, {"require_sso": ""})
    assert response.status_code == 302
    sso_connection.refresh_from_db()
    assert sso_connection.is_enabled is False
    # The Entra IDs and the secret are left as the company admin set them.
    assert (sso_connection.tenant_id, sso_connection.client_id) == (TENANT_ID, CLIENT_ID)
    assert secret_decrypt(sso_connection.client_secret_encrypted) == CLIENT_SECRET


def test_staff_verify_a_domain_stored_in_lower_case_once_per_domain(staff_client, company):
    add = reverse("admin:sso_verifieddomain_add")
    response = staff_client.post(add, {"domain": "Contoso.COM.", "company": company.pk})
    assert response.status_code == 302
    domain = VerifiedDomain.objects.get()
    assert domain.domain == "contoso.com"
    assert domain.verified_by.email == "staff@qa.example"

    for taken in ("contoso.com", "CONTOSO.com."):
        again = staff_client.post(add, {"domain": taken, "company": company.pk})
        assert again.status_code == 200
        assert "This domain is already verified for a company." in again.content.decode()
    bad = staff_client.post(add, {"domain": "alice@contoso", "company": company.pk})
    assert "Enter a domain like contoso.com." in bad.content.decode()
    assert VerifiedDomain.objects.count() == 1
