"""Two companies: a key sees and changes its own company's data only."""

import pytest

from qaportal.accounts.models import Group, User
from tests.factories import LearnerFactory, TeamFactory
from tests.scim.conftest import BASE, ENTERPRISE, error_body


@pytest.fixture
def other_team(other_company):
    return TeamFactory(company=other_company, display_name="Sales")


def test_key_cannot_see_another_companys_user(scim_client, other_company_user):
    response = scim_client.get(f"{BASE}/Users/{other_company_user.scim_id}")
    assert response.status_code == 404
    assert response.json() == error_body(404, f"User {other_company_user.scim_id} not found.")


def test_filters_and_lists_never_return_another_companys_users(
    scim_client, learner, other_company_user
):
    body = scim_client.get(f"{BASE}/Users?filter=userName+eq+%22alice@contoso.com%22").json()
    assert [r["id"] for r in body["Resources"]] == [str(learner.scim_id)]
    body = scim_client.get(
        f"{BASE}/Users", {"filter": f'id eq "{other_company_user.scim_id}"'}
    ).json()
    assert body["totalResults"] == 0
    assert [r["id"] for r in scim_client.get(f"{BASE}/Users").json()["Resources"]] == [
        str(learner.scim_id)
    ]


def test_another_companys_user_cannot_be_changed_or_deleted(scim_client, other_company_user):
    url = f"{BASE}/Users/{other_company_user.scim_id}"
    assert (
        scim_client.patch_ops(
            url, {"op": "Replace", "path": "active", "value": "False"}
        ).status_code
        == 404
    )
    assert scim_client.put_json(url, {"userName": "hijack@contoso.com"}).status_code == 404
    assert scim_client.delete(url).status_code == 404
    other_company_user.refresh_from_db()
    assert (other_company_user.is_active, other_company_user.user_name) == (
        True,
        "alice@contoso.com",
    )


def test_a_manager_from_another_company_is_refused_like_an_unknown_one(
    scim_client, learner, other_company_user
):
    response = scim_client.patch_ops(
        f"{BASE}/Users/{learner.scim_id}",
        {"op": "add", "path": f"{ENTERPRISE}:manager", "value": str(other_company_user.scim_id)},
    )
    assert response.json() == error_body(
        400, f"manager {other_company_user.scim_id} is not a user of this company.", "invalidValue"
    )


def test_company_admins_are_not_scim_users(scim_client, admin_user):
    assert scim_client.get(f"{BASE}/Users").json()["totalResults"] == 0


def test_key_cannot_see_another_companys_group(scim_client, other_team):
    assert scim_client.get(f"{BASE}/Groups/{other_team.scim_id}").status_code == 404
    assert (
        scim_client.get(f"{BASE}/Groups?filter=displayName+eq+%22Sales%22").json()["totalResults"]
        == 0
    )
    url = f"{BASE}/Groups/{other_team.scim_id}"
    assert (
        scim_client.patch_ops(
            url, {"op": "Replace", "path": "displayName", "value": "x"}
        ).status_code
        == 404
    )
    assert scim_client.delete(url).status_code == 404
    assert Group.objects.filter(pk=other_team.pk, display_name="Sales").exists()


def test_the_same_group_name_can_exist_in_two_companies(scim_client, other_team):
    assert scim_client.post_json(f"{BASE}/Groups", {"displayName": "Sales"}).status_code == 201


def test_another_companys_user_is_never_added_and_never_revealed(
    scim_client, team, other_company_user
):
    unknown = "11111111-2222-4333-8444-555555555555"
    foreign = scim_client.patch_ops(
        f"{BASE}/Groups/{team.scim_id}",
        {"op": "Add", "path": "members", "value": [{"value": str(other_company_user.scim_id)}]},
    )
    missing = scim_client.patch_ops(
        f"{BASE}/Groups/{team.scim_id}",
        {"op": "Add", "path": "members", "value": [{"value": unknown}]},
    )
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json()["detail"].replace(
        str(other_company_user.scim_id), "ID"
    ) == missing.json()["detail"].replace(unknown, "ID")
    assert team.members.count() == 0
    body = scim_client.post_json(
        f"{BASE}/Groups",
        {"displayName": "New", "members": [{"value": str(other_company_user.scim_id)}]},
    )
    assert body.status_code == 400
    assert not Group.objects.filter(display_name="New").exists()


def test_removing_another_companys_member_through_our_group_does_nothing(
    scim_client, other_scim_client, other_team, other_company_user, team
):
    other_team.members.add(other_company_user)
    scim_client.patch_ops(
        f"{BASE}/Groups/{team.scim_id}",
        {"op": "Remove", "path": "members", "value": [{"value": str(other_company_user.scim_id)}]},
    )
    assert other_team.members.count() == 1


def test_each_key_sees_its_own_company(scim_client, other_scim_client, learner, other_company_user):
    mine = scim_client.get(f"{BASE}/Users").json()["Resources"]
    theirs = other_scim_client.get(f"{BASE}/Users").json()["Resources"]
    assert [r["id"] for r in mine] == [str(learner.scim_id)]
    assert [r["id"] for r in theirs] == [str(other_company_user.scim_id)]


def test_a_user_created_with_one_key_belongs_to_that_company(other_scim_client, other_company):
    other_scim_client.post_json(f"{BASE}/Users", {"userName": "new@fabrikam.com"})
    assert User.objects.get(user_name="new@fabrikam.com").company == other_company


def test_a_learner_with_the_same_name_elsewhere_does_not_conflict(scim_client, other_company):
    LearnerFactory(company=other_company, user_name="shared@x.com")
    assert scim_client.post_json(f"{BASE}/Users", {"userName": "SHARED@x.com"}).status_code == 201
