"""A SCIM DELETE never removes another company's rows.

Both companies hold users and teams with identical userName, externalId and displayName, and
memberships in each; ids are UUIDs, unique across companies, so "the same id" is the other
company's id sent with our key.
"""

import pytest

from qaportal.accounts.models import Group, GroupMembership, User
from tests.factories import LearnerFactory, TeamFactory
from tests.scim.conftest import BASE, ERROR

pytestmark = pytest.mark.django_db


class Twin:
    """One company's learner, its manager's report and a team holding both."""

    def __init__(self, company) -> None:
        self.company = company
        self.user = LearnerFactory(
            company=company, user_name="twin@example.com", external_id="ext-twin"
        )
        self.report = LearnerFactory(
            company=company, user_name="report@example.com", manager=self.user
        )
        self.team = TeamFactory(company=company, display_name="Twins", external_id="ext-team")
        GroupMembership.objects.create(group=self.team, user=self.user)
        GroupMembership.objects.create(group=self.team, user=self.report)

    def rows(self) -> tuple:
        users = list(User.objects.filter(company=self.company).order_by("pk").values_list())
        groups = list(Group.objects.filter(company=self.company).order_by("pk").values_list())
        memberships = list(
            GroupMembership.objects.filter(group__company=self.company).order_by("pk").values_list()
        )
        return users, groups, memberships


@pytest.fixture
def ours(company) -> Twin:
    return Twin(company)


@pytest.fixture
def theirs(other_company) -> Twin:
    return Twin(other_company)


def _assert_404(response) -> None:
    assert response.status_code == 404
    assert response.json()["schemas"] == [ERROR]
    assert response.json()["status"] == "404"


def test_deleting_our_user_leaves_the_other_companys_namesake(scim_client, ours, theirs):
    before = theirs.rows()
    response = scim_client.delete(f"{BASE}/Users/{ours.user.scim_id}")
    assert response.status_code == 204
    assert not User.objects.filter(pk=ours.user.pk).exists()
    assert theirs.rows() == before


def test_deleting_our_group_leaves_the_other_companys_namesake(scim_client, ours, theirs):
    before = theirs.rows()
    response = scim_client.delete(f"{BASE}/Groups/{ours.team.scim_id}")
    assert response.status_code == 204
    assert not Group.objects.filter(pk=ours.team.pk).exists()
    assert User.objects.filter(pk=ours.user.pk).exists()  # members stay users
    assert theirs.rows() == before


@pytest.mark.parametrize("resource", ["Users", "Groups"])
def test_another_companys_id_cannot_be_deleted(scim_client, ours, theirs, resource):
    before = theirs.rows(), ours.rows()
    target = theirs.user if resource == "Users" else theirs.team
    for spelling in (str(target.scim_id), str(target.scim_id).upper(), target.scim_id.hex):
        _assert_404(scim_client.delete(f"{BASE}/{resource}/{spelling}"))
    assert (theirs.rows(), ours.rows()) == before


@pytest.mark.parametrize("resource", ["Users", "Groups"])
def test_a_pk_or_name_is_never_taken_for_an_id(scim_client, ours, theirs, resource):
    before = theirs.rows(), ours.rows()
    target = theirs.user if resource == "Users" else theirs.team
    for value in (target.pk, "twin@example.com", "Twins", "ext-twin", "ext-team", "*", "%"):
        _assert_404(scim_client.delete(f"{BASE}/{resource}/{value}"))
    assert (theirs.rows(), ours.rows()) == before


def test_removing_the_other_companys_users_from_our_group_touches_nothing(
    scim_client, ours, theirs
):
    before = theirs.rows()
    ours_before = ours.rows()
    response = scim_client.patch_ops(
        f"{BASE}/Groups/{ours.team.scim_id}",
        {"op": "Remove", "path": f'members[value eq "{theirs.user.scim_id}"]'},
        {"op": "Remove", "path": "members", "value": [{"value": str(theirs.report.scim_id)}]},
    )
    assert response.status_code == 204  # removing a non-member is a no-op (docs/entra-behaviour.md)
    assert theirs.rows() == before
    assert ours.rows()[2] == ours_before[2]


def test_replacing_our_members_never_touches_the_other_companys_team(scim_client, ours, theirs):
    before = theirs.rows()
    response = scim_client.patch_ops(
        f"{BASE}/Groups/{ours.team.scim_id}", {"op": "Replace", "path": "members", "value": []}
    )
    assert response.status_code == 204
    assert not GroupMembership.objects.filter(group=ours.team).exists()
    assert theirs.rows() == before


def test_the_other_company_deleting_its_twins_leaves_ours(
    other_scim_client, scim_client, ours, theirs
):
    before = ours.rows()
    assert other_scim_client.delete(f"{BASE}/Users/{theirs.user.scim_id}").status_code == 204
    assert other_scim_client.delete(f"{BASE}/Groups/{theirs.team.scim_id}").status_code == 204
    _assert_404(other_scim_client.delete(f"{BASE}/Users/{ours.user.scim_id}"))
    _assert_404(other_scim_client.delete(f"{BASE}/Groups/{ours.team.scim_id}"))
    assert ours.rows() == before
    assert scim_client.get(f"{BASE}/Users/{ours.user.scim_id}").status_code == 200
