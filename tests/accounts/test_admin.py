"""Django admin for staff: companies with their admins, users and teams, across companies."""

import pytest
from django.urls import reverse

from qaportal.accounts.models import GroupMembership, User
from tests.factories import LearnerFactory, TeamFactory

pytestmark = pytest.mark.django_db

STAFF_PASSWORD = "staff-password-for-tests"
NEW_ADMIN_PASSWORD = "quartz-meadow-lantern-81"


@pytest.fixture
def staff_client(client):
    staff = User.objects.create_superuser(email="staff@qa.example", password=STAFF_PASSWORD)
    client.force_login(staff)
    return client


@pytest.fixture
def learner(company):
    return LearnerFactory(company=company, user_name="alice@contoso.com", display_name="Alice")


@pytest.fixture
def team(company, learner):
    team = TeamFactory(company=company, display_name="Sales")
    GroupMembership.objects.create(group=team, user=learner)
    return team


def url(name: str, *args: object) -> str:
    return reverse(f"admin:accounts_{name}", args=args)


def add_admin(client, **fields):
    data = {"password1": NEW_ADMIN_PASSWORD, "password2": NEW_ADMIN_PASSWORD, **fields}
    return client.post(url("user_add"), data)


def test_company_list_counts_admins_and_provisioned_users(
    staff_client, company, admin_user, learner, other_company
):
    response = staff_client.get(url("company_changelist"))

    assert response.status_code == 200
    counts = {
        row.name: (row.admin_count, row.learner_count) for row in response.context["cl"].result_list
    }
    assert counts == {"Contoso": (1, 1), "Fabrikam": (0, 0)}


def test_company_page_shows_its_admins_and_links_to_its_people(
    staff_client, company, admin_user, learner
):
    response = staff_client.get(url("company_change", company.pk))

    assert response.status_code == 200
    html = response.content.decode()
    assert "admin@contoso.com" in html
    assert url("user_change", admin_user.pk) in html
    assert "alice@contoso.com" not in html  # learners are not listed as admins
    assert f"company__id__exact={company.pk}" in html


def test_company_slug_is_fixed_once_created(staff_client, company):
    staff_client.post(
        url("company_change", company.pk),
        {
            "name": "Contoso Ltd",
            "slug": "renamed",
            "users-TOTAL_FORMS": "0",
            "users-INITIAL_FORMS": "0",
            "integrations-TOTAL_FORMS": "1",
            "integrations-INITIAL_FORMS": "1",
        },
    )
    company.refresh_from_db()
    assert (company.name, company.slug) == ("Contoso Ltd", "contoso")


def test_user_list_shows_people_of_every_company_and_filters_by_company(
    staff_client, admin_user, other_admin_user, learner
):
    everyone = staff_client.get(url("user_changelist")).content.decode()
    for shown in ("admin@contoso.com", "admin@fabrikam.com", "alice@contoso.com"):
        assert shown in everyone

    contoso = staff_client.get(
        url("user_changelist"), {"company__id__exact": admin_user.company_id}
    ).content.decode()
    assert "admin@contoso.com" in contoso
    assert "admin@fabrikam.com" not in contoso

    found = staff_client.get(url("user_changelist"), {"q": "alice"}).content.decode()
    assert "alice@contoso.com" in found
    assert "admin@contoso.com" not in found

    admins = staff_client.get(url("user_changelist"), {"role__exact": "admin"}).content.decode()
    assert "alice@contoso.com" not in admins


def test_staff_create_a_company_admin_who_can_sign_in(staff_client, company):
    response = add_admin(staff_client, email="New.Admin@Contoso.com", company=company.pk)

    assert response.status_code == 302
    admin = User.objects.get(email="new.admin@contoso.com")
    assert (admin.company, admin.role, admin.is_staff) == (company, User.Role.ADMIN, False)
    assert admin.check_password(NEW_ADMIN_PASSWORD)
    assert response["Location"] == url("user_change", admin.pk)


def test_creating_a_company_admin_refuses_a_used_email_in_any_case(
    staff_client, company, admin_user
):
    response = add_admin(staff_client, email="ADMIN@contoso.com", company=company.pk)

    assert response.status_code == 200
    assert "An account with this email already exists." in response.content.decode()
    assert User.objects.filter(role=User.Role.ADMIN).count() == 1


def test_creating_a_company_admin_applies_the_password_validators(staff_client, company):
    response = staff_client.post(
        url("user_add"),
        {"email": "it@contoso.com", "company": company.pk, "password1": "123", "password2": "123"},
    )

    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert not User.objects.filter(email="it@contoso.com").exists()


def test_creating_a_company_admin_requires_a_company(staff_client):
    response = add_admin(staff_client, email="it@contoso.com")
    assert response.status_code == 200
    assert not User.objects.filter(email="it@contoso.com").exists()


def test_user_pages_render_for_admins_and_provisioned_users(staff_client, admin_user, learner):
    admin_page = staff_client.get(url("user_change", admin_user.pk))
    learner_page = staff_client.get(url("user_change", learner.pk))

    assert admin_page.status_code == 200
    assert learner_page.status_code == 200
    assert "SCIM attributes (managed by Microsoft Entra ID)" in learner_page.content.decode()
    assert admin_user.password not in admin_page.content.decode()
    # SCIM attributes are read-only: no input for them.
    assert 'name="user_name"' not in learner_page.content.decode()


def test_teams_are_listed_with_their_member_count_and_are_view_only(staff_client, team, learner):
    listing = staff_client.get(url("group_changelist"))
    assert listing.status_code == 200
    assert "Sales" in listing.content.decode()
    assert listing.context["cl"].result_list[0].member_count == 1

    page = staff_client.get(url("group_change", team.pk))
    assert page.status_code == 200
    assert "teams__id__exact" in page.content.decode()
    assert staff_client.get(url("group_add")).status_code == 403

    members = staff_client.get(url("user_changelist"), {"teams__id__exact": team.pk})
    assert members.status_code == 200
    assert [user.pk for user in members.context["cl"].result_list] == [learner.pk]


@pytest.mark.parametrize("name", ["company_changelist", "user_changelist", "group_changelist"])
def test_company_admins_are_refused(client, admin_user, name):
    client.force_login(admin_user)
    response = client.get(url(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_read_admin_account_events_and_cannot_change_them(staff_client, company):
    from qaportal.accounts.services.admins import admin_invite
    from tests.factories import CompanyAdminFactory

    inviter = CompanyAdminFactory(company=company, email="admin@contoso.com")
    admin_invite(company=company, email="new@contoso.com", invited_by=inviter)
    listing = staff_client.get(url("accountauditevent_changelist"))
    assert listing.status_code == 200
    assert "new@contoso.com" in listing.content.decode()
    assert staff_client.get(url("accountauditevent_add")).status_code == 403
