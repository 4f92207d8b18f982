"""Groups (teams) and memberships as Entra provisions them."""

import pytest
from django.db import connection

from qaportal.accounts.models import Group, User
from tests.factories import LearnerFactory, TeamFactory
from tests.scim.conftest import BASE, GROUP, error_body, weak_version

ADSCIM = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


@pytest.fixture
def people(company):
    return [
        LearnerFactory(company=company, user_name=f"p{n}@contoso.com", display_name=f"P{n}")
        for n in range(4)
    ]


def member(user):
    return {"$ref": None, "value": str(user.scim_id)}


def member_ids(team):
    return set(team.members.values_list("user_name", flat=True))


def test_entra_group_create_sequence(scim_client, people):
    probe = scim_client.get(
        f"{BASE}/Groups?excludedAttributes=members&filter=displayName+eq+%22Sales%22"
    )
    assert probe.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0,
        "Resources": [],
        "startIndex": 1,
        "itemsPerPage": 0,
    }
    body = {
        "schemas": [GROUP, ADSCIM],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Sales",
        "meta": {"resourceType": "Group"},
    }
    response = scim_client.post_json(f"{BASE}/Groups", body)
    assert response.status_code == 201
    team = Group.objects.get(display_name="Sales")
    location = f"https://testserver{BASE}/Groups/{team.scim_id}"
    assert response["Location"] == location
    assert response.json() == {
        "schemas": [GROUP],
        "id": str(team.scim_id),
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Sales",
        "members": [],
        "meta": {
            "resourceType": "Group",
            "created": team.created_at.isoformat().replace("+00:00", "Z"),
            "lastModified": team.created_at.isoformat().replace("+00:00", "Z"),
            "location": location,
            "version": weak_version(team.updated_at),
        },
    }
    assert response["ETag"] == response.json()["meta"]["version"]
    response = scim_client.patch_ops(
        f"{BASE}/Groups/{team.scim_id}",
        {"op": "Add", "path": "members", "value": [member(people[0])]},
    )
    assert (response.status_code, response.content) == (204, b"")
    assert member_ids(team) == {"p0@contoso.com"}


def test_post_applies_members_from_the_body(scim_client, people):
    body = {
        "schemas": [GROUP],
        "displayName": "Ops",
        "members": [member(people[0]), {"value": str(people[1].scim_id)}],
    }
    doc = scim_client.post_json(f"{BASE}/Groups", body).json()
    assert sorted(m["value"] for m in doc["members"]) == sorted(
        [str(people[0].scim_id), str(people[1].scim_id)]
    )
    assert {m["display"] for m in doc["members"]} == {"P0", "P1"}
    assert member_ids(Group.objects.get(display_name="Ops")) == {"p0@contoso.com", "p1@contoso.com"}


def test_display_name_is_unique_per_company_case_insensitively(scim_client, team):
    response = scim_client.post_json(f"{BASE}/Groups", {"displayName": "SALES"})
    assert response.status_code == 409
    assert response.json() == error_body(409, "displayName SALES already exists.", "uniqueness")


def test_display_name_is_required(scim_client):
    response = scim_client.post_json(f"{BASE}/Groups", {"schemas": [GROUP]})
    assert response.json() == error_body(400, "displayName is required.", "invalidValue")


def test_get_group_with_and_without_members(scim_client, team, people):
    team.members.add(people[0])
    full = scim_client.get(f"{BASE}/Groups/{team.scim_id}").json()
    assert full["members"] == [
        {
            "value": str(people[0].scim_id),
            "$ref": f"https://testserver{BASE}/Users/{people[0].scim_id}",
            "display": "P0",
            "type": "User",
        }
    ]
    lean = scim_client.get(f"{BASE}/Groups/{team.scim_id}?excludedAttributes=members").json()
    assert "members" not in lean
    only = scim_client.get(f"{BASE}/Groups/{team.scim_id}?attributes=displayName").json()
    assert set(only) == {"schemas", "id", "displayName"}


def test_add_many_members_and_re_adding_is_a_no_op(scim_client, team, people):
    url = f"{BASE}/Groups/{team.scim_id}"
    scim_client.patch_ops(
        url, {"op": "Add", "path": "members", "value": [member(p) for p in people[:3]]}
    )
    response = scim_client.patch_ops(
        url, {"op": "add", "path": "members", "value": [member(people[0])]}
    )
    assert response.status_code == 204
    assert member_ids(team) == {"p0@contoso.com", "p1@contoso.com", "p2@contoso.com"}


def test_remove_with_a_value_list_removes_only_those(scim_client, team, people):
    team.members.add(*people)
    response = scim_client.patch_ops(
        f"{BASE}/Groups/{team.scim_id}",
        {"op": "Remove", "path": "members", "value": [member(people[1])]},
    )
    assert response.status_code == 204
    assert member_ids(team) == {"p0@contoso.com", "p2@contoso.com", "p3@contoso.com"}


def test_flag_dialect_remove_by_filter_without_value(scim_client, team, people):
    team.members.add(*people)
    path = f'members[value eq "{people[2].scim_id}"]'
    scim_client.patch_ops(f"{BASE}/Groups/{team.scim_id}", {"op": "remove", "path": path})
    assert "p2@contoso.com" not in member_ids(team)
    assert len(member_ids(team)) == 3


def test_remove_members_without_value_clears_the_group(scim_client, team, people):
    team.members.add(*people)
    scim_client.patch_ops(f"{BASE}/Groups/{team.scim_id}", {"op": "remove", "path": "members"})
    assert member_ids(team) == set()
    assert User.objects.filter(pk__in=[p.pk for p in people]).count() == 4


def test_replace_members_sets_the_exact_list(scim_client, team, people):
    team.members.add(people[0], people[1])
    scim_client.patch_ops(
        f"{BASE}/Groups/{team.scim_id}",
        {"op": "replace", "path": "members", "value": [member(people[1]), member(people[2])]},
    )
    assert member_ids(team) == {"p1@contoso.com", "p2@contoso.com"}


def test_rename_in_both_dialects_and_add_external_id(scim_client, team):
    url = f"{BASE}/Groups/{team.scim_id}"
    assert (
        scim_client.patch_ops(
            url, {"op": "Replace", "path": "displayName", "value": "Sales EMEA"}
        ).status_code
        == 204
    )
    scim_client.patch_ops(
        url, {"op": "replace", "value": {"displayName": "Sales APAC", "externalId": "e1"}}
    )
    scim_client.patch_ops(url, {"op": "Add", "path": "externalId", "value": "e2"})
    team.refresh_from_db()
    assert (team.display_name, team.external_id) == ("Sales APAC", "e2")


def test_rename_to_a_taken_name_is_409_and_changes_nothing(scim_client, team, company, people):
    TeamFactory(company=company, display_name="Marketing")
    response = scim_client.patch_ops(
        f"{BASE}/Groups/{team.scim_id}",
        {"op": "Add", "path": "members", "value": [member(people[0])]},
        {"op": "Replace", "path": "displayName", "value": "marketing"},
    )
    assert response.status_code == 409
    team.refresh_from_db()
    assert (team.display_name, member_ids(team)) == ("Sales", set())


def test_unknown_member_ids_are_named_and_nothing_changes(scim_client, team, people):
    unknown = "11111111-2222-4333-8444-555555555555"
    response = scim_client.patch_ops(
        f"{BASE}/Groups/{team.scim_id}",
        {
            "op": "Add",
            "path": "members",
            "value": [member(people[0]), {"value": unknown}, {"value": "garbage"}],
        },
    )
    assert response.status_code == 400
    assert response.json() == error_body(
        400, f"These member ids are not users of this company: {unknown}, garbage", "invalidValue"
    )
    assert member_ids(team) == set()


def test_operations_in_one_patch_are_ordered_and_atomic(scim_client, team, people):
    url = f"{BASE}/Groups/{team.scim_id}"
    scim_client.patch_ops(
        url,
        {"op": "Add", "path": "members", "value": [member(people[0]), member(people[1])]},
        {"op": "Remove", "path": "members", "value": [member(people[0])]},
        {"op": "Replace", "path": "displayName", "value": "Renamed"},
    )
    team.refresh_from_db()
    assert (team.display_name, member_ids(team)) == ("Renamed", {"p1@contoso.com"})


def test_patch_returns_the_group_when_attributes_are_asked(scim_client, team, people):
    response = scim_client.patch_ops(
        f"{BASE}/Groups/{team.scim_id}?attributes=members",
        {"op": "Add", "path": "members", "value": [member(people[0])]},
    )
    assert response.status_code == 200
    assert [m["value"] for m in response.json()["members"]] == [str(people[0].scim_id)]


def test_put_replaces_name_and_members(scim_client, team, people):
    team.members.add(people[0])
    body = {"schemas": [GROUP], "displayName": "New", "members": [member(people[3])]}
    doc = scim_client.put_json(f"{BASE}/Groups/{team.scim_id}", body).json()
    assert doc["displayName"] == "New"
    assert [m["value"] for m in doc["members"]] == [str(people[3].scim_id)]


def test_delete_keeps_the_member_users(scim_client, team, people):
    team.members.add(*people)
    assert scim_client.delete(f"{BASE}/Groups/{team.scim_id}").status_code == 204
    assert not Group.objects.filter(pk=team.pk).exists()
    assert User.objects.filter(pk__in=[p.pk for p in people]).count() == 4
    assert scim_client.delete(f"{BASE}/Groups/{team.scim_id}").status_code == 404


def test_users_show_their_groups_read_only(scim_client, team, people):
    team.members.add(people[0])
    doc = scim_client.get(f"{BASE}/Users/{people[0].scim_id}").json()
    assert doc["groups"] == [
        {
            "value": str(team.scim_id),
            "$ref": f"https://testserver{BASE}/Groups/{team.scim_id}",
            "display": "Sales",
            "type": "direct",
        }
    ]
    scim_client.patch_ops(
        f"{BASE}/Users/{people[0].scim_id}", {"op": "replace", "path": "groups", "value": []}
    )
    assert member_ids(team) == {"p0@contoso.com"}


@pytest.mark.parametrize(
    "query",
    [
        'displayName eq "sales"',
        'externalId eq "ext-1"',
        'id eq "{id}"',
        'members[value eq "{member}"]',
        'displayName eq "Sales" and members[value eq "{member}"]',
    ],
)
def test_group_filters(scim_client, team, people, query):
    team.external_id = "ext-1"
    team.save()
    team.members.add(people[0])
    TeamFactory(company=team.company, display_name="Other")
    query = query.format(id=team.scim_id, member=people[0].scim_id)
    body = scim_client.get(f"{BASE}/Groups", {"filter": query}).json()
    assert [r["id"] for r in body["Resources"]] == [str(team.scim_id)]


def test_group_list_pages(scim_client, company):
    for n in range(5):
        TeamFactory(company=company, display_name=f"T{n}")
    body = scim_client.get(f"{BASE}/Groups?startIndex=2&count=2&excludedAttributes=members").json()
    assert (body["totalResults"], body["itemsPerPage"], body["startIndex"]) == (5, 2, 2)
    assert [r["displayName"] for r in body["Resources"]] == ["T1", "T2"]
    assert all("members" not in r for r in body["Resources"])


def test_unsupported_group_filter_is_invalid_filter(scim_client):
    response = scim_client.get(f"{BASE}/Groups", {"filter": 'members.display eq "x"'})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="real concurrency needs PostgreSQL (CI)"
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_member_adds_lose_no_member(generated_key, company):
    from concurrent.futures import ThreadPoolExecutor

    from tests.scim.conftest import ScimClient

    team = TeamFactory(company=company, display_name="Busy")
    people = [LearnerFactory(company=company, user_name=f"c{n}@contoso.com") for n in range(12)]

    def add(person):
        client = ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")
        try:
            return client.patch_ops(
                f"{BASE}/Groups/{team.scim_id}",
                {"op": "Add", "path": "members", "value": [member(person)]},
            ).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert set(pool.map(add, people)) == {204}
    assert team.members.count() == 12
