"""The Dashboard: a real summary of the company."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.services import api_key_generate, api_key_revoke
from tests.factories import CompanyAdminFactory, LearnerFactory, TeamFactory
from tests.keys import authenticate_api_key

pytestmark = pytest.mark.django_db

DASHBOARD_URL = reverse("accounts:dashboard")


def page_text(response) -> str:
    return response.content.decode().replace("\xa0", " ")


def stat(page: str, label: str) -> str:
    """The text of one Dashboard card, from its heading to the end of the card."""
    card = page[page.index(f">{label}</h2>") :]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", card[: card.index("</section>")]))


def test_new_company_dashboard_says_nothing_is_provisioned_or_connected(admin_client, company):
    response = admin_client.get(DASHBOARD_URL)
    page = page_text(response)
    assert response.status_code == 200
    assert "<h1>Dashboard</h1>" in page
    assert "Contoso" in page
    assert "None yet" in stat(page, "People")
    assert " 0 " in stat(page, "Teams")
    assert " 1 " in stat(page, "Company admins")
    assert "admin@contoso.com (you)" in stat(page, "Company admins")
    assert "Not connected." in stat(page, "Integrations")
    assert re.search(r'<a [^>]*href="/teams/">View teams</a>', page)


def test_dashboard_counts_admins_active_and_deactivated_users_and_teams(
    admin_client, company, other_company
):
    CompanyAdminFactory(company=company, email="second@contoso.com")
    LearnerFactory.create_batch(3, company=company)
    LearnerFactory.create_batch(2, company=company, is_active=False)
    TeamFactory.create_batch(4, company=company)
    # Another company's people and teams never count.
    LearnerFactory.create_batch(7, company=other_company)
    TeamFactory.create_batch(5, company=other_company)
    CompanyAdminFactory(company=other_company, email="admin@fabrikam.com")

    page = page_text(admin_client.get(DASHBOARD_URL))

    learners = stat(page, "People")
    assert " 5 " in learners
    assert "3 active" in learners
    assert "2 deactivated" in learners
    assert " 4 " in stat(page, "Teams")
    admins = stat(page, "Company admins")
    assert " 2 " in admins
    assert "second@contoso.com" in admins
    assert "fabrikam" not in page


def test_deactivated_count_shows_only_when_there_are_some(admin_client, company):
    LearnerFactory.create_batch(2, company=company)
    learners = stat(page_text(admin_client.get(DASHBOARD_URL)), "People")
    assert "2 active" in learners
    assert "deactivated" not in learners


def test_dashboard_shows_an_active_key_and_when_entra_last_used_it(admin_client, generated_key):
    integrations = stat(page_text(admin_client.get(DASHBOARD_URL)), "Integrations")
    assert "Key active" in integrations
    assert f"Key {generated_key.api_key.masked} is active; Entra has not used it yet." in (
        integrations
    )

    authenticate_api_key(generated_key.plaintext, now=timezone.now() - timedelta(minutes=3))
    integrations = stat(page_text(admin_client.get(DASHBOARD_URL)), "Integrations")
    assert "last used 3 minutes ago" in integrations


def test_dashboard_warns_while_an_older_key_is_expiring(
    admin_client, admin_user, entra_integration, generated_key
):
    api_key_generate(integration=entra_integration, created_by=admin_user)
    page = page_text(admin_client.get(DASHBOARD_URL))
    assert "Key rotation in progress" in stat(page, "Integrations")
    assert re.search(r"previous key expires in 7 hours, 59 minutes", page)
    assert re.search(
        r'role="status">\s*An older Microsoft Entra ID key expires in <time[^>]*>7 h 59 min</time>',
        page,
    )


def test_dashboard_is_not_connected_again_once_every_key_is_revoked(
    admin_client, admin_user, generated_key
):
    api_key_revoke(api_key=generated_key.api_key, revoked_by=admin_user)
    assert "Not connected." in stat(page_text(admin_client.get(DASHBOARD_URL)), "Integrations")


def test_dashboard_ignores_another_companys_keys(admin_client, other_generated_key):
    page = page_text(admin_client.get(DASHBOARD_URL))
    assert "Not connected." in stat(page, "Integrations")
    assert other_generated_key.api_key.public_id not in page


def test_dashboard_query_count_does_not_grow_with_the_company(
    admin_client, company, entra_integration, admin_user, django_assert_max_num_queries
):
    for _ in range(5):
        api_key_generate(integration=entra_integration, created_by=admin_user)
    LearnerFactory.create_batch(20, company=company)
    TeamFactory.create_batch(10, company=company)
    # session, user, company, 2 counts, usable keys, integrations, admins, and the
    # provisioning cards: last requests, activity per day, team memberships
    with django_assert_max_num_queries(11):
        assert admin_client.get(DASHBOARD_URL).status_code == 200
