"""Django admin for staff: integrations, API keys (never the hash), revoke, read-only logs."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from integrations.models import ApiKey, AuditEvent, Integration, ProvisioningEvent
from integrations.services import (
    KeyRejection,
    api_key_authenticate,
    api_key_generate,
    api_key_revoke,
)
from qaportal.accounts.models import Company, User

pytestmark = pytest.mark.django_db

STAFF_PASSWORD = "staff-password-for-tests"


@pytest.fixture
def staff_user():
    return User.objects.create_superuser(email="staff@qa.example", password=STAFF_PASSWORD)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def viewer_client(client):
    """A staff member who may look at keys but not revoke them."""
    viewer = User.objects.create_user(
        email="viewer@qa.example", password=STAFF_PASSWORD, is_staff=True, role=User.Role.STAFF
    )
    viewer.user_permissions.add(Permission.objects.get(codename="view_apikey"))
    client.force_login(viewer)
    return client


@pytest.fixture
def rotated_keys(entra_integration, admin_user, generated_key):
    """The fixture's key, superseded by a newer one: one expiring key and one active key."""
    newer = api_key_generate(integration=entra_integration, created_by=admin_user)
    return generated_key, newer


def changelist(model: str) -> str:
    return reverse(f"admin:integrations_{model}_changelist")


def change(model: str, pk: int) -> str:
    return reverse(f"admin:integrations_{model}_change", args=[pk])


def revoke(client, *keys: ApiKey, **extra):
    return client.post(
        changelist("apikey"),
        {"action": "revoke", "_selected_action": [key.pk for key in keys]},
        follow=True,
        **extra,
    )


def test_staff_see_keys_masked_with_their_status_by_the_clock_and_never_the_hash(
    staff_client, rotated_keys
):
    old, new = rotated_keys
    response = staff_client.get(changelist("apikey"))

    assert response.status_code == 200
    html = response.content.decode()
    for generated in (old, new):
        assert generated.api_key.masked in html
        assert generated.api_key.key_hash not in html
        assert generated.plaintext not in html
    assert "Expiring (" in html
    assert "Contoso" in html


def test_key_page_shows_deadline_and_creator_but_never_the_hash(staff_client, rotated_keys):
    old, _ = rotated_keys
    response = staff_client.get(change("apikey", old.api_key.pk))

    assert response.status_code == 200
    html = response.content.decode()
    assert old.api_key.masked in html
    assert "admin@contoso.com" in html
    assert "key_hash" not in html
    assert old.api_key.key_hash not in html
    assert old.plaintext not in html
    assert "generate_api_key" in html  # where keys come from instead


def test_integration_page_lists_its_keys_masked(staff_client, entra_integration, rotated_keys):
    response = staff_client.get(change("integration", entra_integration.pk))

    assert response.status_code == 200
    html = response.content.decode()
    for generated in rotated_keys:
        assert generated.api_key.masked in html
        assert generated.api_key.key_hash not in html
    assert "generate_api_key" in html


def test_staff_can_find_a_key_by_the_prefix_the_portal_shows(staff_client, rotated_keys):
    old, new = rotated_keys
    response = staff_client.get(changelist("apikey"), {"q": old.api_key.masked})
    html = response.content.decode()
    assert old.api_key.masked in html
    assert new.api_key.masked not in html


def test_status_filter_follows_the_clock_not_the_recorded_status(staff_client, rotated_keys):
    old, new = rotated_keys
    ApiKey.objects.filter(pk=old.api_key.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )  # past its deadline, not yet recorded by the worker

    expired = staff_client.get(changelist("apikey"), {"status_now": "expired"}).content.decode()
    active = staff_client.get(changelist("apikey"), {"status_now": "active"}).content.decode()

    assert old.api_key.masked in expired
    assert new.api_key.masked not in expired
    assert new.api_key.masked in active
    assert old.api_key.masked not in active


def test_revoke_action_revokes_through_the_service_and_audits_staff_and_ip(
    staff_client, staff_user, rotated_keys
):
    old, new = rotated_keys
    response = revoke(staff_client, old.api_key, new.api_key, REMOTE_ADDR="198.51.100.7")

    assert response.status_code == 200
    assert "Revoked 2 key(s)" in response.content.decode()
    for generated in (old, new):
        assert api_key_authenticate(raw=generated.plaintext).rejection == KeyRejection.REVOKED
        key = ApiKey.objects.get(pk=generated.api_key.pk)
        assert (key.status, key.revoked_by) == (ApiKey.Status.REVOKED, staff_user)
    events = AuditEvent.objects.filter(action=AuditEvent.Action.KEY_REVOKED)
    assert {(event.actor, event.ip_address) for event in events} == {(staff_user, "198.51.100.7")}
    assert sorted(events.values_list("api_key_id", flat=True)) == sorted(
        [old.api_key.pk, new.api_key.pk]
    )


def test_revoke_action_audits_the_address_our_proxy_saw_behind_trusted_hops(
    staff_client, settings, generated_key
):
    settings.QA_TRUSTED_PROXY_HOPS = 1
    revoke(
        staff_client,
        generated_key.api_key,
        REMOTE_ADDR="10.0.0.2",  # the proxy
        HTTP_X_FORWARDED_FOR="192.0.2.66, 203.0.113.9",  # spoofed entry, then what it saw
    )

    event = AuditEvent.objects.get(action=AuditEvent.Action.KEY_REVOKED)
    assert event.ip_address == "203.0.113.9"


def test_revoke_action_leaves_revoked_and_expired_keys_alone(
    staff_client, admin_user, rotated_keys
):
    old, new = rotated_keys
    api_key_revoke(api_key=new.api_key, revoked_by=admin_user)
    ApiKey.objects.filter(pk=old.api_key.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = revoke(staff_client, old.api_key, new.api_key)

    assert "Already revoked or expired" in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.KEY_REVOKED).count() == 1
    assert ApiKey.objects.get(pk=old.api_key.pk).revoked_at is None


def test_keys_cannot_be_added_changed_or_deleted_in_admin(staff_client, generated_key):
    key = generated_key.api_key
    assert staff_client.get(reverse("admin:integrations_apikey_add")).status_code == 403
    delete_url = reverse("admin:integrations_apikey_delete", args=[key.pk])
    assert staff_client.post(delete_url, {"post": "yes"}).status_code == 403
    staff_client.post(change("apikey", key.pk), {"last4": "AAAA", "status": "revoked"})
    key.refresh_from_db()
    assert (key.status, key.last4) == (ApiKey.Status.ACTIVE, generated_key.plaintext[-4:])
    assert ApiKey.objects.filter(pk=key.pk).exists()


def test_staff_without_the_change_permission_cannot_revoke(viewer_client, generated_key):
    assert viewer_client.get(changelist("apikey")).status_code == 200
    revoke(viewer_client, generated_key.api_key)
    assert ApiKey.objects.get(pk=generated_key.api_key.pk).revoked_at is None
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.KEY_REVOKED).exists()


def test_audit_events_are_read_only(staff_client, rotated_keys):
    event = AuditEvent.objects.filter(action=AuditEvent.Action.KEY_GENERATED).first()

    listing = staff_client.get(changelist("auditevent"))
    assert listing.status_code == 200
    assert event.key_prefix in listing.content.decode()
    assert staff_client.get(change("auditevent", event.pk)).status_code == 200
    assert staff_client.get(reverse("admin:integrations_auditevent_add")).status_code == 403
    delete_url = reverse("admin:integrations_auditevent_delete", args=[event.pk])
    assert staff_client.post(delete_url, {"post": "yes"}).status_code == 403
    staff_client.post(change("auditevent", event.pk), {"key_prefix": "tampered", "action": "x"})
    event.refresh_from_db()
    assert event.key_prefix != "tampered"
    for generated in rotated_keys:
        assert generated.api_key.key_hash not in listing.content.decode()


def test_provisioning_events_are_read_only(staff_client, company, generated_key):
    event = ProvisioningEvent.objects.create(
        company=company,
        api_key=generated_key.api_key,
        method="POST",
        path="/webhooks/ad/v1/scim/Users",
        operation="create",
        resource_type="User",
        resource_name="alice@contoso.com",
        status_code=201,
        outcome=ProvisioningEvent.Outcome.SUCCESS,
    )

    listing = staff_client.get(changelist("provisioningevent"))
    assert listing.status_code == 200
    assert "alice@contoso.com" in listing.content.decode()
    page = staff_client.get(change("provisioningevent", event.pk))
    assert page.status_code == 200
    assert generated_key.api_key.key_hash not in page.content.decode()
    assert staff_client.get(reverse("admin:integrations_provisioningevent_add")).status_code == 403
    delete_url = reverse("admin:integrations_provisioningevent_delete", args=[event.pk])
    assert staff_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert ProvisioningEvent.objects.filter(pk=event.pk).exists()


def test_company_added_in_admin_gets_its_integrations(staff_client):
    response = staff_client.post(
        reverse("admin:accounts_company_add"),
        {
            "name": "Northwind",
            "slug": "northwind",
            # Management forms of the inlines (company admins, integrations), both empty.
            "users-TOTAL_FORMS": "0",
            "users-INITIAL_FORMS": "0",
            "integrations-TOTAL_FORMS": "0",
            "integrations-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    company = Company.objects.get(slug="northwind")
    assert list(Integration.objects.filter(company=company).values_list("provider", flat=True)) == [
        Integration.Provider.ENTRA_ID
    ]


def test_company_page_shows_its_integrations(staff_client, company, entra_integration):
    response = staff_client.get(reverse("admin:accounts_company_change", args=[company.pk]))
    assert response.status_code == 200
    assert change("integration", entra_integration.pk) in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        changelist("apikey"),
        changelist("integration"),
        changelist("auditevent"),
        changelist("provisioningevent"),
    ],
)
def test_company_admins_and_anonymous_users_are_refused(client, admin_user, url):
    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("admin:login"))

    client.force_login(admin_user)  # a company admin, not staff
    refused = client.get(url)
    assert refused.status_code == 302
    assert refused["Location"].startswith(reverse("admin:login"))
