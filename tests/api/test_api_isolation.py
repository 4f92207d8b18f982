"""Tenant isolation of the admin API: another company's objects are a 404 or simply absent."""

import pytest

from integrations.models import ApiKey
from integrations.services import api_key_authenticate, provisioning_event_record
from tests.api.conftest import API, ENTRA

pytestmark = pytest.mark.django_db


def test_another_companys_key_cannot_be_revoked(api_client, generated_key, other_generated_key):
    response = api_client.post(
        f"{ENTRA}/keys/{other_generated_key.api_key.pk}/revoke/", content_type="application/json"
    )

    assert response.status_code == 404
    assert ApiKey.objects.get(pk=other_generated_key.api_key.pk).revoked_at is None
    assert api_key_authenticate(raw=other_generated_key.plaintext).is_accepted


def test_key_lists_and_status_show_the_companys_keys_only(
    api_client, other_api_client, generated_key, other_generated_key
):
    ours = api_client.get(f"{ENTRA}/keys/").json()["results"]
    theirs = other_api_client.get(f"{ENTRA}/keys/").json()["results"]

    assert [key["id"] for key in ours] == [generated_key.api_key.pk]
    assert [key["id"] for key in theirs] == [other_generated_key.api_key.pk]
    status = api_client.get(f"{API}/integrations/").json()
    assert [entra["current_key"]["id"] for entra in status] == [generated_key.api_key.pk]
    assert other_generated_key.api_key.prefix not in api_client.get(f"{ENTRA}/").content.decode()


def test_generating_a_key_touches_the_own_company_only(
    api_client, generated_key, other_generated_key
):
    response = api_client.post(f"{ENTRA}/keys/generate/", content_type="application/json")

    assert response.status_code == 201
    assert ApiKey.objects.get(pk=other_generated_key.api_key.pk).expires_at is None
    assert ApiKey.objects.get(pk=generated_key.api_key.pk).expires_at is not None
    assert ApiKey.objects.get(pk=response.json()["key"]["id"]).integration.company.slug == (
        "contoso"
    )


def test_users_and_groups_are_the_companys_only(
    api_client, learner, other_learner, team, other_team
):
    users = api_client.get(f"{API}/users/").json()["results"]
    groups = api_client.get(f"{API}/groups/").json()["results"]

    assert users == [
        {
            "id": str(learner.scim_id),
            "user_name": "alice@contoso.com",
            "external_id": "",
            "display_name": "Alice",
            "given_name": "Lee",
            "family_name": learner.family_name,
            "work_email": "",
            "is_active": True,
            "created_at": users[0]["created_at"],
            "updated_at": users[0]["updated_at"],
        }
    ]
    assert [(g["id"], g["display_name"], g["member_count"]) for g in groups] == [
        (str(team.scim_id), "Sales", 1)
    ]


def test_admins_are_not_listed_as_provisioned_users(api_client, admin_user):
    assert api_client.get(f"{API}/users/").json()["results"] == []


def test_activity_is_the_companys_only(api_client, other_company, company):
    for owner in (company, other_company, None):
        provisioning_event_record(
            company_id=owner.pk if owner else None,
            api_key_id=None,
            method="GET",
            path="/webhooks/ad/v1/scim/Users",
            operation="list_users",
            status_code=200,
            outcome="success",
        )

    rows = api_client.get(f"{API}/activity/").json()["results"]

    assert len(rows) == 1
