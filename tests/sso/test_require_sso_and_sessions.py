"""Require single sign-on, and SCIM deactivation ending SSO sessions
(item 3)."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from tests.conftest import ADMIN_PASSWORD
from tests.factories import LearnerFactory
from tests.scim.conftest import ScimClient

pytestmark = pytest.mark.django_db

LEARNER_PASSWORD = "learner password 123"
SSO_BACKEND = "sso.backends.EntraOidcBackend"


@pytest.fixture
def learner_with_password(company):
    return LearnerFactory(
        company=company,
        email="lena@contoso.com",
        user_name="lena@contoso.com",
        password=LEARNER_PASSWORD,
    )


def _sign_in(client, email, password):
    return client.post(reverse("accounts:login"), {"username": email, "password": password})


def test_learners_keep_their_password_until_sso_is_required(
    client, sso_connection, learner_with_password
):
    response = _sign_in(client, "lena@contoso.com", LEARNER_PASSWORD)
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(learner_with_password.pk)


def test_required_sso_refuses_a_learners_password_with_the_usual_error(
    client, sso_connection, learner_with_password
):
    sso_connection.require_sso = True
    sso_connection.save()
    response = _sign_in(client, "lena@contoso.com", LEARNER_PASSWORD)
    assert response.status_code == 200
    assert "That email and password do not match an active account." in response.content.decode()
    assert SESSION_KEY not in client.session


def test_required_sso_ends_a_learners_password_session(
    client, sso_connection, learner_with_password
):
    _sign_in(client, "lena@contoso.com", LEARNER_PASSWORD)
    sso_connection.require_sso = True
    sso_connection.save()
    response = client.get(reverse("accounts:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_company_admins_keep_their_password_when_sso_is_required(
    client, sso_connection, admin_user
):
    sso_connection.require_sso = True
    sso_connection.save()
    response = _sign_in(client, "admin@contoso.com", ADMIN_PASSWORD)
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(admin_user.pk)


def test_required_sso_of_one_company_leaves_other_companies_learners_alone(
    client, other_sso_connection, sso_connection, learner_with_password
):
    other_sso_connection.require_sso = True
    other_sso_connection.save()
    assert _sign_in(client, "lena@contoso.com", LEARNER_PASSWORD).status_code == 302


def test_scim_deactivation_ends_the_learners_sso_session(
    client, generated_key, sso_connection, learner
):
    client.force_login(learner, backend=SSO_BACKEND)
    assert client.get(reverse("accounts:dashboard")).status_code == 200

    scim = ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")
    # Entra's deactivation, as it sends it: the string "False" (docs/entra-behaviour.md).
    response = scim.patch_ops(
        f"/webhooks/ad/v1/scim/Users/{learner.scim_id}",
        {"op": "Replace", "path": "active", "value": "False"},
    )
    assert response.status_code == 200

    response = client.get(reverse("accounts:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
