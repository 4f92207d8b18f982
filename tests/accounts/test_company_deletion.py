"""Deleting a company in the Django admin: refused while it has provisioned users unless the
staff member types its slug and confirms their number; everything of the company goes with it."""

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse

from integrations.models import ApiKey, AuditEvent, Integration, ProvisioningEvent
from qaportal.accounts.exceptions import CompanyHasProvisionedUsers
from qaportal.accounts.models import Company, CompanyUserCount, Group, GroupMembership, User
from qaportal.accounts.services.companies import company_delete
from tests.factories import CompanyAdminFactory, LearnerFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    staff = User.objects.create_superuser(email="staff@qa.example", password="staff-password")
    client.force_login(staff)
    return client


@pytest.fixture
def learners(company):
    return [LearnerFactory(company=company) for _ in range(3)]


@pytest.fixture
def team(company, learners):
    team = TeamFactory(company=company, display_name="Sales")
    for learner in learners:
        GroupMembership.objects.create(group=team, user=learner)
    return team


@pytest.fixture
def provisioned_company(company, admin_user, learners, team, generated_key):
    """Contoso with 1 admin, 3 learners in one team, a key (with its audit row) and a log."""
    ProvisioningEvent.objects.create(
        company=company, method="POST", path="/Users", status_code=201, outcome="success"
    )
    return company


@pytest.fixture
def other_company_rows(other_company, other_admin_user, other_generated_key):
    learner = LearnerFactory(company=other_company)
    team = TeamFactory(company=other_company)
    GroupMembership.objects.create(group=team, user=learner)
    return {"learner": learner, "team": team}


def delete_url(company: Company) -> str:
    return reverse("admin:accounts_company_delete", args=[company.pk])


def confirm(client, company: Company, **data):
    return client.post(delete_url(company), data)


def company_row_counts(company_id: int) -> dict[str, int]:
    return {
        "companies": Company.objects.filter(pk=company_id).count(),
        "users": User.objects.filter(company_id=company_id).count(),
        "teams": Group.objects.filter(company_id=company_id).count(),
        "memberships": GroupMembership.objects.filter(group__company_id=company_id).count(),
        "integrations": Integration.objects.filter(company_id=company_id).count(),
        "keys": ApiKey.objects.filter(integration__company_id=company_id).count(),
        "audit": AuditEvent.objects.filter(company_id=company_id).count(),
        "provisioning": ProvisioningEvent.objects.filter(company_id=company_id).count(),
        "user_counts": CompanyUserCount.objects.filter(company_id=company_id).count(),
    }


NOTHING_LEFT = dict.fromkeys(
    ("companies", "users", "teams", "memberships", "integrations", "keys", "audit"), 0
) | {"provisioning": 0, "user_counts": 0}


def test_confirmation_page_shows_what_will_be_deleted(staff_client, provisioned_company):
    response = staff_client.get(delete_url(provisioned_company))

    assert response.status_code == 200
    summary = response.context["summary"]
    assert (summary.learner_count, summary.admin_count, summary.team_count) == (3, 1, 1)
    assert response.context["api_key_count"] == 1
    html = response.content.decode()
    assert "I understand 3 provisioned users will be deleted" in html
    assert 'name="slug"' in html
    assert 'name="provisioned_user_count" value="3"' in html


def test_company_with_provisioned_users_is_not_deleted_without_confirmation(
    staff_client, provisioned_company
):
    before = company_row_counts(provisioned_company.pk)

    response = confirm(staff_client, provisioned_company, provisioned_user_count="3")

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"slug", "understood"}
    assert company_row_counts(provisioned_company.pk) == before
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()


def test_wrong_slug_is_refused(staff_client, provisioned_company):
    before = company_row_counts(provisioned_company.pk)

    response = confirm(
        staff_client,
        provisioned_company,
        provisioned_user_count="3",
        slug="fabrikam",
        understood="on",
    )

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["slug"]
    assert company_row_counts(provisioned_company.pk) == before


def test_stale_provisioned_user_count_is_refused_and_the_new_count_shown(
    staff_client, provisioned_company
):
    # The page showed 3; Entra provisioned a 4th before the staff member confirmed.
    LearnerFactory(company=provisioned_company)
    before = company_row_counts(provisioned_company.pk)

    response = confirm(
        staff_client,
        provisioned_company,
        provisioned_user_count="3",
        slug="contoso",
        understood="on",
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert form.non_field_errors() == [
        "The company now has 4 provisioned users, not 3. Check the numbers and confirm again."
    ]
    assert "understood" in form.errors
    assert 'name="provisioned_user_count" value="4"' in response.content.decode()
    assert company_row_counts(provisioned_company.pk) == before
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()


def test_explicit_confirmation_deletes_everything_of_the_company_only(
    staff_client, provisioned_company, other_company_rows, other_company
):
    company_id = provisioned_company.pk
    other_before = company_row_counts(other_company.pk)

    response = confirm(
        staff_client,
        provisioned_company,
        provisioned_user_count="3",
        slug="contoso",
        understood="on",
    )

    assert response.status_code == 302
    assert response.url == reverse("admin:accounts_company_changelist")
    assert company_row_counts(company_id) == NOTHING_LEFT
    assert company_row_counts(other_company.pk) == other_before
    assert User.objects.filter(email="staff@qa.example").exists()
    entry = LogEntry.objects.get(action_flag=DELETION)
    assert (entry.object_id, entry.object_repr) == (str(company_id), "Contoso")
    messages = [str(message) for message in response.wsgi_request._messages]
    assert messages == ["Deleted the company Contoso: 3 provisioned users, 1 admins, 1 teams."]


def test_company_with_only_admins_is_deleted_with_a_plain_confirm(
    staff_client, company, admin_user, generated_key, other_company_rows, other_company
):
    CompanyAdminFactory(company=company)
    page = staff_client.get(delete_url(company))
    assert 'name="slug"' not in page.content.decode()
    assert page.context["summary"].admin_count == 2
    other_before = company_row_counts(other_company.pk)

    response = confirm(staff_client, company, provisioned_user_count="0")

    assert response.status_code == 302
    assert company_row_counts(company.pk) == NOTHING_LEFT
    assert company_row_counts(other_company.pk) == other_before


def test_plain_confirm_is_refused_once_a_user_was_provisioned_meanwhile(
    staff_client, company, admin_user
):
    # The page showed no provisioned users, so no slug and no box; then Entra created one.
    LearnerFactory(company=company)

    response = confirm(staff_client, company, provisioned_user_count="0")

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"slug", "understood"}
    assert Company.objects.filter(pk=company.pk).exists()
    assert User.objects.filter(company=company).count() == 2


def test_bulk_delete_action_is_not_offered_for_companies(staff_client, provisioned_company):
    changelist = reverse("admin:accounts_company_changelist")

    page = staff_client.get(changelist)
    response = staff_client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [provisioned_company.pk], "post": "yes"},
    )

    assert page.status_code == 200
    assert 'value="delete_selected"' not in page.content.decode()
    assert response.status_code == 200  # the list again: no action ran
    assert Company.objects.filter(pk=provisioned_company.pk).exists()
    assert User.objects.filter(company=provisioned_company).count() == 4


def test_company_admin_cannot_reach_the_delete_page(client, provisioned_company, admin_user):
    # Guards the admin's staff gate (admin_view) around the replaced delete_view.
    client.force_login(admin_user)
    before = company_row_counts(provisioned_company.pk)

    page = client.get(delete_url(provisioned_company))
    response = confirm(
        client, provisioned_company, provisioned_user_count="3", slug="contoso", understood="on"
    )

    assert page.status_code == response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    assert company_row_counts(provisioned_company.pk) == before


@pytest.mark.parametrize(
    "codenames",
    [("view_company",), ("view_company", "delete_company")],
    ids=["view-only", "without-delete-user"],
)
def test_staff_without_delete_permission_is_forbidden(client, provisioned_company, codenames):
    staff = User.objects.create_user(
        email="viewer@qa.example", password="viewer-password", role=User.Role.STAFF, is_staff=True
    )
    staff.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(staff)
    before = company_row_counts(provisioned_company.pk)

    page = client.get(delete_url(provisioned_company))
    response = confirm(
        client, provisioned_company, provisioned_user_count="3", slug="contoso", understood="on"
    )

    assert page.status_code == response.status_code == 403
    assert company_row_counts(provisioned_company.pk) == before


def test_staff_account_linked_to_the_company_survives_it(staff_client, company):
    linked = User.objects.create_user(
        email="linked@qa.example", role=User.Role.STAFF, is_staff=True, company=company
    )

    response = confirm(staff_client, company, provisioned_user_count="0")

    assert response.status_code == 302
    linked.refresh_from_db()
    assert linked.company is None


def test_service_refuses_a_company_with_provisioned_users_without_their_count(
    provisioned_company,
):
    before = company_row_counts(provisioned_company.pk)

    for confirmed in (None, 0, 2):
        with pytest.raises(CompanyHasProvisionedUsers) as refused:
            company_delete(company=provisioned_company, confirmed_provisioned_user_count=confirmed)
        assert (refused.value.learner_count, refused.value.confirmed_count) == (3, confirmed)

    assert company_row_counts(provisioned_company.pk) == before


def test_service_returns_what_it_deleted(provisioned_company):
    company_id = provisioned_company.pk

    deletion = company_delete(company=provisioned_company, confirmed_provisioned_user_count=3)

    assert (
        deletion.learner_count,
        deletion.admin_count,
        deletion.team_count,
        deletion.membership_count,
    ) == (3, 1, 1, 3)
    assert deletion.cascaded == {
        "accounts.Company": 1,
        "integrations.Integration": 1,
        "integrations.ApiKey": 1,
        "integrations.AuditEvent": 1,
        "integrations.ProvisioningEvent": 1,
    }
    assert company_row_counts(company_id) == NOTHING_LEFT


def test_staff_with_delete_permissions_can_delete(client, provisioned_company):
    staff = User.objects.create_user(
        email="deleter@qa.example", password="deleter-password", role=User.Role.STAFF, is_staff=True
    )
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_company", "delete_company", "delete_user"])
    )
    client.force_login(staff)
    company_id = provisioned_company.pk

    response = confirm(
        client, provisioned_company, provisioned_user_count="3", slug="contoso", understood="on"
    )

    assert response.status_code == 302
    assert company_row_counts(company_id) == NOTHING_LEFT
