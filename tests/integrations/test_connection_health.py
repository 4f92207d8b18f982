"""The connection health card, derived from the requests that arrived."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from integrations.models import ApiKey, ProvisioningEvent
from integrations.selectors.health import (
    HEALTH_RECENT_REQUESTS,
    ConnectionHealth,
    connection_health_get,
)
from integrations.selectors.keys import integration_overview_list
from integrations.services import api_key_generate, api_key_revoke, provisioning_event_record
from tests.pages import text_of
from tests.scim.conftest import BASE, ScimClient

pytestmark = pytest.mark.django_db

DETAIL_URL = reverse("integrations:integration_detail", kwargs={"provider": "entra-id"})
DASHBOARD_URL = reverse("accounts:dashboard")
State = ConnectionHealth.State
Outcome = ProvisioningEvent.Outcome


def health_card(page: str) -> str:
    start = page.index('<section class="card health')
    return page[start : page.index("</section>", start)]


def health_of(company, now=None):
    now = now or timezone.now()
    overview = integration_overview_list(company=company, now=now)[0]
    return connection_health_get(company=company, overview=overview, now=now)


def record(company, api_key, outcome=Outcome.SUCCESS, *, at=None, **fields):
    status = {Outcome.SUCCESS: 200, Outcome.FAILED: 400, Outcome.REJECTED_KEY: 401}[outcome]
    values = {
        "method": "GET",
        "path": f"{BASE}/Users",
        "operation": "filter_users",
        "status_code": status,
        **fields,
    }
    return provisioning_event_record(
        company_id=company.pk,
        api_key_id=api_key.pk if api_key else None,
        outcome=outcome,
        now=at,
        **values,
    )


def entra(generated_key) -> ScimClient:
    """A client holding the key exactly as Entra sends it as the Secret Token."""
    return ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")


# --- Each state --------------------------------------------------------------------------------


def test_without_a_key_the_card_says_not_connected(admin_client, company):
    assert health_of(company).state == State.NOT_CONNECTED
    card = health_card(text_of(admin_client.get(DETAIL_URL)))
    assert 'data-health="not_connected"' in card
    assert "Not connected" in card
    assert "Generate an API key and paste it into Microsoft Entra ID" in card


def test_with_a_key_and_no_request_the_card_waits_for_entra(admin_client, company, generated_key):
    assert health_of(company).state == State.WAITING
    card = health_card(text_of(admin_client.get(DETAIL_URL)))
    assert "Waiting for Microsoft Entra ID" in card
    assert "No request from Microsoft Entra ID has arrived yet." in card
    assert "Test Connection" in card


def test_a_real_scim_request_makes_the_integration_connected(admin_client, company, generated_key):
    # Entra's Test Connection: a filter query for a random userName.
    response = entra(generated_key).get(f'{BASE}/Users?filter=userName eq "probe@contoso.com"')
    assert response.status_code == 200

    with time_machine.travel(timezone.now() + timedelta(minutes=12), tick=False):
        card = health_card(text_of(admin_client.get(DETAIL_URL)))
    assert "Connected" in card
    assert re.search(r"Last successful request <time [^>]*>12 minutes ago</time>", card)
    assert "syncs about every 40 minutes" in card
    assert "failed" not in card
    assert "Nothing has arrived" not in card


def test_a_connected_integration_that_went_quiet_says_so(company, generated_key, admin_client):
    record(company, generated_key.api_key, at=timezone.now() - timedelta(hours=3))
    health = health_of(company)
    assert health.state == State.CONNECTED
    assert health.is_quiet
    card = health_card(text_of(admin_client.get(DETAIL_URL)))
    assert "Nothing has arrived for 3 hours." in card


def test_a_few_failures_keep_it_connected_and_name_the_reason(company, generated_key, admin_client):
    key = generated_key.api_key
    for _ in range(8):
        record(company, key)
    record(
        company,
        key,
        Outcome.FAILED,
        method="POST",
        operation="create_user",
        status_code=409,
        scim_type="uniqueness",
        detail="userName alice@contoso.com is already taken.",
    )
    record(company, key)

    health = health_of(company)
    assert (health.state, health.recent_failed_count, health.recent_count) == (
        State.CONNECTED,
        1,
        10,
    )
    card = health_card(text_of(admin_client.get(DETAIL_URL)))
    assert "1 of the last 10 requests failed." in card
    assert "Most often: " in card
    assert "409 uniqueness" in card
    # In an admin's words, not the error's own text.
    assert "Someone with this username already exists in QA." in card
    assert "userName alice@contoso.com is already taken." not in card
    assert "?outcome=failed" in card


def test_mostly_failing_requests_make_it_failing_with_the_top_reason(
    company, generated_key, admin_client
):
    key = generated_key.api_key
    record(company, key, at=timezone.now() - timedelta(hours=1))
    for _ in range(3):
        record(
            company,
            key,
            Outcome.FAILED,
            status_code=400,
            scim_type="invalidValue",
            detail="manager x is not a user of this company.",
        )
    for _ in range(5):
        record(company, key, Outcome.FAILED, status_code=400, scim_type="invalidSyntax", detail="B")

    health = health_of(company)
    assert health.state == State.FAILING
    assert health.top_reason.scim_type == "invalidSyntax"
    assert health.top_reason.count == 5
    card = health_card(text_of(admin_client.get(DETAIL_URL)))
    assert 'badge--danger">Failing' in card
    assert "8 of the last 9 requests failed." in card
    assert "Most common reason (5 times):" in card
    assert "400 invalidSyntax" in card
    assert re.search(r"Last successful request <time [^>]*>1 hour ago</time>", card)
    assert "quarantines" in card


def test_a_streak_of_failures_after_many_successes_is_failing(company, generated_key):
    key = generated_key.api_key
    for _ in range(40):
        record(company, key)
    for _ in range(4):
        record(company, key, Outcome.FAILED)
    assert health_of(company).state == State.CONNECTED
    record(company, key, Outcome.FAILED)
    assert health_of(company).state == State.FAILING


def test_failures_with_no_success_ever_say_so(company, generated_key, admin_client):
    record(company, generated_key.api_key, Outcome.FAILED, detail="Bad request")
    card = health_card(text_of(admin_client.get(DETAIL_URL)))
    assert "Failing" in card
    assert "No request has succeeded yet." in card


def test_requests_with_a_revoked_key_say_entra_uses_an_expired_key(
    company, entra_integration, admin_user, generated_key, admin_client
):
    client = entra(generated_key)
    assert client.get(f"{BASE}/Users").status_code == 200
    api_key_revoke(api_key=generated_key.api_key, revoked_by=admin_user)
    current = api_key_generate(integration=entra_integration, created_by=admin_user)
    assert client.get(f"{BASE}/Users").status_code == 401

    health = health_of(company)
    assert health.state == State.EXPIRED_KEY
    assert health.rejected_key == generated_key.api_key
    card = health_card(text_of(admin_client.get(DETAIL_URL)))
    assert "Using an expired key" in card
    assert f"Microsoft Entra ID is using <code>{generated_key.api_key.masked}</code>" in card
    assert "a key that was revoked on" in card
    assert f"your current key <code>{current.api_key.masked}</code>" in card
    assert "Secret Token" in card
    assert "?outcome=rejected_key" in card
    assert current.plaintext not in card


def test_requests_with_a_key_past_its_grace_period_say_it_expired(
    company, entra_integration, admin_user, generated_key, admin_client
):
    api_key_generate(integration=entra_integration, created_by=admin_user)
    deadline = ApiKey.objects.get(pk=generated_key.api_key.pk).expires_at
    with time_machine.travel(deadline + timedelta(minutes=5), tick=False):
        assert entra(generated_key).get(f"{BASE}/Users").status_code == 401
        card = health_card(text_of(admin_client.get(DETAIL_URL)))
    assert "Using an expired key" in card
    assert "a key that expired on" in card
    assert re.search(r"the latest arrived <time [^>]*>just now</time>", card)


def test_pasting_the_new_key_makes_it_connected_again(
    company, entra_integration, admin_user, generated_key
):
    api_key_revoke(api_key=generated_key.api_key, revoked_by=admin_user)
    assert entra(generated_key).get(f"{BASE}/Users").status_code == 401
    assert health_of(company).state == State.EXPIRED_KEY

    current = api_key_generate(integration=entra_integration, created_by=admin_user)
    assert entra(current).get(f"{BASE}/Users").status_code == 200
    assert health_of(company).state == State.CONNECTED


def test_only_the_last_requests_are_judged(company, generated_key):
    key = generated_key.api_key
    for _ in range(HEALTH_RECENT_REQUESTS):
        record(company, key, Outcome.FAILED, at=timezone.now() - timedelta(hours=2))
    for _ in range(HEALTH_RECENT_REQUESTS // 2 + 1):
        record(company, key)
    assert health_of(company).state == State.CONNECTED


def test_a_connected_integration_without_a_usable_key_warns_before_entra_is_refused(
    company, admin_user, generated_key, admin_client
):
    assert entra(generated_key).get(f"{BASE}/Users").status_code == 200
    api_key_revoke(api_key=generated_key.api_key, revoked_by=admin_user)
    health = health_of(company)
    assert (health.state, health.has_usable_key) == (State.CONNECTED, False)
    card = health_card(text_of(admin_client.get(DETAIL_URL)))
    assert "the next request from Microsoft Entra ID will be refused" in card


def test_another_companys_requests_never_change_the_health(
    company, generated_key, other_company, other_generated_key, admin_client
):
    for _ in range(10):
        record(other_company, other_generated_key.api_key, Outcome.FAILED)
    record(other_company, other_generated_key.api_key, Outcome.REJECTED_KEY)
    assert health_of(company).state == State.WAITING
    assert health_of(other_company).state == State.EXPIRED_KEY
    card = health_card(text_of(admin_client.get(DETAIL_URL)))
    assert "Waiting for Microsoft Entra ID" in card


# --- During a grace period: which key Entra uses --------------------------------------------


def test_during_grace_the_card_says_entra_still_uses_the_old_key(
    company, entra_integration, admin_user, generated_key, admin_client
):
    assert entra(generated_key).get(f"{BASE}/Users").status_code == 200
    new = api_key_generate(integration=entra_integration, created_by=admin_user)

    health = health_of(company)
    assert (health.key_in_use, health.current_key_first_used_at) == ("old", None)
    card = health_card(text_of(admin_client.get(DETAIL_URL)))
    assert "Entra is still using the old key." in card
    assert f"Old key <code>{generated_key.api_key.masked}</code>" in card
    assert re.search(r"Last used [^<]+ UTC \(<time [^>]*>just now</time>\)", card)
    assert "expires in 7 h 59 min" in card
    assert f"New key <code>{new.api_key.masked}</code></dt> <dd>Not used yet" in card


def test_during_grace_the_card_says_when_entra_switched_to_the_new_key(
    company, entra_integration, admin_user, generated_key, admin_client
):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert entra(generated_key).get(f"{BASE}/Users").status_code == 200
        new = api_key_generate(integration=entra_integration, created_by=admin_user)
    with time_machine.travel(start + timedelta(minutes=40), tick=False):
        assert entra(new).get(f"{BASE}/Users").status_code == 200
    with time_machine.travel(start + timedelta(minutes=50), tick=False):
        health = health_of(company)
        card = health_card(text_of(admin_client.get(DETAIL_URL)))
    assert health.key_in_use == "new"
    assert health.current_key_first_used_at == start + timedelta(minutes=40)
    assert "Entra has switched to the new key." in card
    first_used = (start + timedelta(minutes=40)).strftime("%-d %b %Y, %H:%M")
    assert f"First used {first_used} UTC (<time" in card
    assert ">10 minutes ago</time>" in card


def test_during_grace_requests_with_both_keys_are_pointed_out(
    company, entra_integration, admin_user, generated_key
):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        new = api_key_generate(integration=entra_integration, created_by=admin_user)
        assert entra(new).get(f"{BASE}/Users").status_code == 200
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        assert entra(generated_key).get(f"{BASE}/Users").status_code == 200
        assert health_of(company).key_in_use == "both"


def test_the_health_card_costs_a_bounded_number_of_queries(
    company, generated_key, entra_integration, admin_user, django_assert_max_num_queries
):
    key = generated_key.api_key
    ProvisioningEvent.objects.bulk_create(
        ProvisioningEvent(
            company=company,
            api_key=key,
            method="GET",
            path=f"{BASE}/Users",
            operation="list_users",
            status_code=400,
            outcome=Outcome.FAILED,
            created_at=timezone.now() - timedelta(seconds=i),
        )
        for i in range(3000)
    )
    api_key_generate(integration=entra_integration, created_by=admin_user)
    now = timezone.now()
    overview = integration_overview_list(company=company, now=now)[0]
    # The last requests, the last success (none among them), the new key's first use.
    with django_assert_max_num_queries(3):
        health = connection_health_get(company=company, overview=overview, now=now)
    assert health.state == State.FAILING


# --- On the Dashboard -------------------------------------------------------------------------


def test_the_dashboard_shows_the_health_card_and_warns_about_an_expired_key(
    company, admin_user, generated_key, admin_client
):
    assert entra(generated_key).get(f"{BASE}/Users").status_code == 200
    page = text_of(admin_client.get(DASHBOARD_URL))
    card = health_card(page)
    assert "Connected" in card
    assert "View Integration" in card
    assert "Which key Microsoft Entra ID uses" not in card

    api_key_revoke(api_key=generated_key.api_key, revoked_by=admin_user)
    assert entra(generated_key).get(f"{BASE}/Users").status_code == 401
    page = text_of(admin_client.get(DASHBOARD_URL))
    assert "Using an expired key" in health_card(page)
    assert re.search(r'role="alert"> Microsoft Entra ID is sending a revoked or expired key', page)


def test_the_dashboard_warns_when_provisioning_fails(company, generated_key, admin_client):
    for _ in range(3):
        record(company, generated_key.api_key, Outcome.FAILED)
    page = text_of(admin_client.get(DASHBOARD_URL))
    assert re.search(r'role="alert"> Provisioning from Microsoft Entra ID is failing', page)
    assert "Failing" in health_card(page)
