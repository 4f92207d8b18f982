"""Bearer authentication of the SCIM endpoint."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from integrations.services import api_key_generate, api_key_revoke
from tests.scim.conftest import BASE, USER, ScimClient, error_body

PROBE = f"{BASE}/Users?filter=userName+eq+%227d420df3-9995-4831-a406-ecf8166f5f6a%22"


def assert_unauthorized(response, detail):
    assert response.status_code == 401
    assert response["Content-Type"] == "application/scim+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == error_body(401, detail)


@pytest.mark.django_db
def test_missing_authorization_is_a_scim_401():
    response = Client().get(PROBE)
    assert_unauthorized(response, "Authorization: Bearer <API key> is required.")


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "token abc"])
def test_other_schemes_and_empty_tokens_are_rejected(header):
    response = Client(HTTP_AUTHORIZATION=header).get(PROBE)
    assert_unauthorized(response, "Authorization: Bearer <API key> is required.")


@pytest.mark.django_db
def test_a_token_that_is_not_a_key_is_rejected():
    response = ScimClient(HTTP_AUTHORIZATION="Bearer not-a-key").get(PROBE)
    assert_unauthorized(response, "The bearer token is not a QA Portal API key.")


def test_a_key_with_a_wrong_secret_is_rejected(generated_key):
    tampered = generated_key.plaintext[:-6] + ("A" if generated_key.plaintext[-6] != "A" else "B")
    tampered += generated_key.plaintext[-5:]
    response = ScimClient(HTTP_AUTHORIZATION=f"Bearer {tampered}").get(PROBE)
    assert response.status_code == 401


def test_a_valid_key_answers_the_test_connection_probe(scim_client):
    response = scim_client.get(PROBE)
    assert response.status_code == 200
    assert response.json()["totalResults"] == 0


def test_the_bearer_scheme_is_case_insensitive(generated_key):
    client = ScimClient(HTTP_AUTHORIZATION=f"bearer {generated_key.plaintext}")
    assert client.get(PROBE).status_code == 200


def test_a_revoked_key_is_rejected_at_once(generated_key, admin_user):
    api_key_revoke(api_key=generated_key.api_key, revoked_by=admin_user)
    response = ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}").get(PROBE)
    assert_unauthorized(
        response,
        "This API key was revoked. Generate a new key in QA Portal and paste it into "
        "Microsoft Entra ID as the Secret Token.",
    )


def test_a_superseded_key_works_during_its_grace_period_and_not_after(
    generated_key, entra_integration, admin_user
):
    api_key_generate(integration=entra_integration, created_by=admin_user)
    old = ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")
    assert old.get(PROBE).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=8, seconds=1), tick=False):
        response = old.get(PROBE)
    assert_unauthorized(
        response,
        "This API key has expired. Paste the current key from QA Portal into Microsoft "
        "Entra ID as the Secret Token.",
    )


def test_a_signed_in_browser_session_never_authenticates_scim(admin_user, client):
    client.force_login(admin_user)
    response = client.get(PROBE)
    assert response.status_code == 401


def test_scim_writes_need_no_csrf_token(generated_key):
    client = ScimClient(
        enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}"
    )
    response = client.post_json(
        f"{BASE}/Users", {"schemas": [USER], "userName": "csrf@contoso.com"}
    )
    assert response.status_code == 201


def test_an_unauthenticated_write_changes_nothing(company, django_user_model):
    response = ScimClient().post_json(f"{BASE}/Users", {"userName": "intruder@contoso.com"})
    assert response.status_code == 401
    assert not django_user_model.objects.filter(user_name="intruder@contoso.com").exists()


def test_unauthenticated_requests_never_redirect(db):
    for path in (f"{BASE}/Users", f"{BASE}/Users/", f"{BASE}/Groups/", f"{BASE}/Nope"):
        response = Client().get(path)
        assert response.status_code == 401, path
        assert "Location" not in response


def test_a_refused_old_key_tells_the_admins_once_a_day(generated_key, admin_user):
    api_key_revoke(api_key=generated_key.api_key, revoked_by=admin_user)
    client = ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")
    client.get(PROBE)
    api_key = generated_key.api_key
    api_key.refresh_from_db()
    first_notice = api_key.rejected_use_notified_at
    assert first_notice is not None
    client.get(PROBE)
    api_key.refresh_from_db()
    assert api_key.rejected_use_notified_at == first_notice
