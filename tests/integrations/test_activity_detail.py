"""The activity log reads as changes: changes by default, any part of a name, a date range,
a detail view per request, and every failure in admin words (never the error's own text)."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import ProvisioningEvent
from integrations.services import provisioning_event_record
from tests.pages import text_of
from tests.scim.conftest import BASE, ENTERPRISE, SCIM_JSON, USER, ScimClient

pytestmark = pytest.mark.django_db

ACTIVITY_URL = reverse("integrations:provisioning_activity", kwargs={"provider": "entra-id"})


def detail_url(event) -> str:
    return reverse("integrations:provisioning_event_detail", kwargs={"event_id": event.pk})


@pytest.fixture
def scim(generated_key) -> ScimClient:
    return ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")


@pytest.fixture
def log(scim):
    """Entra looks Alice up, creates her, moves her to Marketing and sends one broken body."""
    assert scim.get(f'{BASE}/Users?filter=userName eq "alice@contoso.com"').status_code == 200
    body = {"schemas": [USER], "userName": "alice@contoso.com", ENTERPRISE: {"department": "Sales"}}
    alice = scim.post_json(f"{BASE}/Users", body).json()
    move = {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Marketing"}
    assert scim.patch_ops(f"{BASE}/Users/{alice['id']}", move).status_code in (200, 204)
    broken = scim.generic("POST", f"{BASE}/Users", "{not json", content_type=SCIM_JSON)
    assert broken.status_code == 400
    return alice


def test_the_activity_page_shows_changes_and_failures_and_lookups_one_click_away(admin_client, log):
    page = text_of(admin_client.get(ACTIVITY_URL))
    assert "Created person alice@contoso.com" in page
    assert "Updated person alice@contoso.com" in page
    assert "Create person" in page  # the failure
    assert "Looked up person" not in page
    everything = text_of(admin_client.get(ACTIVITY_URL, {"show": "all"}))
    assert "Looked up person alice@contoso.com" in everything


def test_activity_search_finds_any_part_of_a_name(admin_client, log):
    page = text_of(admin_client.get(ACTIVITY_URL, {"q": "LICE@CONT", "show": "all"}))
    assert "Created person alice@contoso.com" in page
    assert "Looked up person alice@contoso.com" in page
    assert "No request matches" in text_of(admin_client.get(ACTIVITY_URL, {"q": "bob"}))


def test_activity_date_range(admin_client, company, generated_key, log):
    provisioning_event_record(
        company_id=company.pk,
        api_key_id=generated_key.api_key.pk,
        method="POST",
        path=f"{BASE}/Users",
        operation="create_user",
        resource_type="User",
        resource_name="old@contoso.com",
        status_code=201,
        outcome="success",
        now=timezone.now() - timedelta(days=10),
    )
    today = timezone.now().date()
    ten_days_ago = (today - timedelta(days=10)).isoformat()
    recent = text_of(admin_client.get(ACTIVITY_URL, {"since": today.isoformat()}))
    assert "Created person alice@contoso.com" in recent
    assert "Created person old@contoso.com" not in recent
    old = text_of(admin_client.get(ACTIVITY_URL, {"since": ten_days_ago, "until": ten_days_ago}))
    assert "Created person old@contoso.com" in old
    assert "Created person alice@contoso.com" not in old
    # A date that is not one is ignored, not an error.
    assert admin_client.get(ACTIVITY_URL, {"until": "9999-99-99"}).status_code == 200


def test_no_page_shows_the_errors_own_text(admin_client, log, entra_integration):
    failed = ProvisioningEvent.objects.get(outcome="failed")
    assert "decode" in failed.detail.lower()  # what the client was told
    for url in (
        ACTIVITY_URL,
        detail_url(failed),
        reverse("accounts:dashboard"),
        reverse("integrations:integration_detail", kwargs={"provider": "entra-id"}),
    ):
        html = admin_client.get(url).content.decode()
        assert "decode" not in html.lower(), url
    activity = text_of(admin_client.get(ACTIVITY_URL))
    assert "Microsoft Entra ID sent a change QA could not read" in activity


def test_each_row_opens_its_detail_with_the_change_old_and_new(admin_client, log, generated_key):
    update = ProvisioningEvent.objects.get(operation="update_user")
    html = admin_client.get(ACTIVITY_URL).content.decode()
    assert f'<a href="{detail_url(update)}">Updated person alice@contoso.com</a>' in html

    response = admin_client.get(detail_url(update))
    page = text_of(response)
    assert "Department: Sales → Marketing" in page
    assert f"PATCH {BASE}/Users/{log['id']}" in page
    assert generated_key.api_key.masked in page
    assert f"{update.duration_ms} ms" in page
    assert f"<dt>Change id</dt><dd>{update.pk}</dd>" in page
    person = reverse("people:person_detail", kwargs={"person_id": update_person_id(log)})
    assert f'href="{person}">alice@contoso.com</a>' in response.content.decode()


def update_person_id(alice) -> int:
    from qaportal.accounts.models import User

    return User.objects.get(scim_id=alice["id"]).pk


def test_a_failures_detail_says_why_and_what_to_do_in_entra(admin_client, log):
    failed = ProvisioningEvent.objects.get(outcome="failed")
    page = text_of(admin_client.get(detail_url(failed)))
    assert "Why it failed" in page
    assert "Microsoft Entra ID sent a change QA could not read" in page
    assert "Remove that attribute from Entra admin center" in page
    assert "400 invalidSyntax" in page


def test_another_companys_request_is_a_404(admin_client, other_scim_client_log):
    assert admin_client.get(detail_url(other_scim_client_log)).status_code == 404


@pytest.fixture
def other_scim_client_log(other_generated_key):
    client = ScimClient(HTTP_AUTHORIZATION=f"Bearer {other_generated_key.plaintext}")
    body = json.dumps({"schemas": [USER], "userName": "secret@fabrikam.com"})
    assert client.generic("POST", f"{BASE}/Users", body, content_type=SCIM_JSON).status_code == 201
    return ProvisioningEvent.objects.get(resource_name="secret@fabrikam.com")


@pytest.mark.parametrize(
    ("status", "scim_type", "detail", "operation", "resource_type", "words"),
    [
        (409, "uniqueness", "userName a exists.", "create_user", "User", "username already"),
        (409, "uniqueness", "displayName S exists.", "create_group", "Group", "team with this"),
        (400, "invalidFilter", "x", "filter_users", "User", "cannot search on"),
        (400, "invalidValue", "These member ids are not users", "add_members", "Group", "before"),
        (400, "invalidValue", "manager 1 is not a user", "update_user", "User", "manager is not"),
        (400, "invalidValue", "title is too long", "update_user", "User", "too long"),
        (400, "invalidPath", "Invalid path", "update_user", "User", "could not read"),
        (413, "", "big", "replace_members", "Group", "larger than QA accepts"),
        (429, "", "Too many requests", "list_users", "User", "slow down"),
        (503, "", "db down", "create_user", "User", "QA had a problem"),
        (404, "", "User x not found.", "update_user", "User", "no longer exists"),
    ],
)
def test_every_scim_error_has_admin_words_and_a_remedy(
    status, scim_type, detail, operation, resource_type, words
):
    from integrations.wording import failure_words

    event = ProvisioningEvent(
        status_code=status,
        scim_type=scim_type,
        detail=detail,
        operation=operation,
        resource_type=resource_type,
        resource_id="5f1c" if status == 404 else "",
        outcome="failed",
    )
    failure = failure_words(event)
    assert words in failure.reason
    assert failure.remedy
    assert detail not in failure.reason
