"""Keys through the admin API: list, generate (revealed once), revoke; integration status."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from integrations.models import ApiKey, AuditEvent
from integrations.services import api_key_authenticate, api_key_generate, api_key_revoke
from tests.api.conftest import API, ENTRA

pytestmark = pytest.mark.django_db


def post(client, url):
    return client.post(url, content_type="application/json")


def test_generate_reveals_the_key_once_with_no_store(api_client, admin_user, entra_integration):
    response = post(api_client, f"{ENTRA}/keys/generate/")

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    api_key = ApiKey.objects.get()
    assert api_key_authenticate(raw=body["secret_token"]).api_key == api_key
    assert body["key"] == {
        "id": api_key.pk,
        "prefix": api_key.prefix,
        "masked": api_key.masked,
        "status": "active",
        "created_at": body["key"]["created_at"],
        "created_by": "admin@contoso.com",
        "expires_at": None,
        "revoked_at": None,
        "last_used_at": None,
    }
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.ip_address) == (
        "key_generated",
        admin_user,
        "127.0.0.1",
    )
    # Never again: the list shows the key without its secret.
    listing = api_client.get(f"{ENTRA}/keys/")
    assert body["secret_token"] not in listing.content.decode()
    assert body["secret_token"][len(api_key.prefix) :] not in listing.content.decode()


def test_generate_starts_the_grace_period_of_the_current_key(api_client, generated_key):
    response = post(api_client, f"{ENTRA}/keys/generate/")

    assert response.status_code == 201
    old = ApiKey.objects.get(pk=generated_key.api_key.pk)
    assert old.status == ApiKey.Status.EXPIRING
    status = api_client.get(f"{ENTRA}/").json()
    assert status["state"] == "expiring"
    assert status["current_key"]["id"] == response.json()["key"]["id"]
    assert [key["id"] for key in status["expiring_keys"]] == [old.pk]
    assert status["expiring_keys"][0]["status"] == "expiring"
    assert status["next_deadline"] == old.expires_at.isoformat().replace("+00:00", "Z")


def test_list_keys_newest_first_with_status_by_the_clock(api_client, entra_integration, admin_user):
    long_ago = timezone.now() - timedelta(days=2)
    expired = api_key_generate(integration=entra_integration, created_by=admin_user, now=long_ago)
    revoked = api_key_generate(integration=entra_integration, created_by=admin_user, now=long_ago)
    api_key_revoke(api_key=revoked.api_key, revoked_by=admin_user)
    current = api_key_generate(integration=entra_integration, created_by=None)

    response = api_client.get(f"{ENTRA}/keys/")

    assert response.status_code == 200
    body = response.json()
    assert body["previous"] is None and body["next"] is None
    assert [(key["id"], key["status"], key["created_by"]) for key in body["results"]] == [
        (current.api_key.pk, "active", None),
        (revoked.api_key.pk, "revoked", "admin@contoso.com"),
        (expired.api_key.pk, "expired", "admin@contoso.com"),
    ]
    text = response.content.decode()
    for key in (expired, revoked, current):
        assert key.plaintext not in text
        assert key.api_key.key_hash not in text


def test_revoke_ends_a_key_and_a_second_revoke_is_a_conflict(api_client, admin_user, generated_key):
    url = f"{ENTRA}/keys/{generated_key.api_key.pk}/revoke/"

    response = post(api_client, url)

    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    assert api_key_authenticate(raw=generated_key.plaintext).rejection == "revoked"
    assert AuditEvent.objects.filter(action="key_revoked", actor=admin_user).count() == 1

    again = post(api_client, url)
    assert again.status_code == 409
    assert again.json() == {"detail": f"{generated_key.api_key.masked} is already revoked."}
    assert AuditEvent.objects.filter(action="key_revoked").count() == 1


def test_unknown_provider_and_key_are_404(api_client, generated_key):
    assert api_client.get(f"{API}/integrations/okta/").status_code == 404
    assert post(api_client, f"{API}/integrations/okta/keys/generate/").status_code == 404
    assert post(api_client, f"{ENTRA}/keys/999999/revoke/").status_code == 404
    assert post(api_client, f"{ENTRA}/keys/{2**70}/revoke/").status_code == 404
    assert ApiKey.objects.count() == 1


def test_integration_list_reports_state_tenant_url_and_health(api_client, generated_key):
    response = api_client.get(f"{API}/integrations/")

    assert response.status_code == 200
    [entra] = response.json()
    assert entra["provider"] == "entra-id"
    assert entra["name"] == "Microsoft Entra ID"
    assert entra["tenant_url"] == "http://testserver/webhooks/ad/v1/scim"
    assert entra["state"] == "active"
    assert entra["current_key"]["id"] == generated_key.api_key.pk
    assert entra["health"]["state"] == "waiting"  # a key, and no request from Entra yet
    assert entra["health"]["top_reason"] is None


def test_integration_health_reports_requests_with_a_revoked_key(
    api_client, admin_user, generated_key
):
    api_key_revoke(api_key=generated_key.api_key, revoked_by=admin_user)
    scim = Client(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")
    assert scim.get("/webhooks/ad/v1/scim/Users").status_code == 401

    health = api_client.get(f"{ENTRA}/").json()["health"]

    assert health["state"] == "expired_key"
    assert health["rejected_key"] == generated_key.api_key.masked
