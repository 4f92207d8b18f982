"""What SCIM clients other than Entra send (Okta, OneLogin, JumpCloud, API gateways, scripts).

Each habit is accepted where its meaning is unambiguous, or refused with a 400 whose detail
says what to change. The Okta tests replay the requests of Okta's SCIM 2.0 provisioning
documentation (create, PUT update, PATCH deactivate, group push) with its bodies as sent.
"""

import json

import pytest

from qaportal.accounts.models import Group, User
from tests.factories import LearnerFactory, TeamFactory
from tests.scim.conftest import BASE, ENTERPRISE, GROUP, PATCH_OP, USER, error_body


def send(client, method, path, body, content_type="application/scim+json"):
    return client.generic(method, path, json.dumps(body), content_type=content_type)


@pytest.fixture
def manager(company):
    return LearnerFactory(company=company, user_name="boss@contoso.com")


# --- bodies without their schemas ------------------------------------------------------------


def test_post_and_put_without_schemas_are_accepted(scim_client):
    """RFC 7643 §3 asks for `schemas`; scripts leave it out, and the endpoint says which
    resource the body is."""
    created = send(scim_client, "POST", f"{BASE}/Users", {"userName": "script@contoso.com"})
    assert created.status_code == 201
    user_url = created["Location"]
    replaced = send(scim_client, "PUT", user_url, {"userName": "script@contoso.com", "title": "T"})
    assert (replaced.status_code, replaced.json()["title"]) == (200, "T")
    group = send(scim_client, "POST", f"{BASE}/Groups", {"displayName": "Scripted"})
    assert group.status_code == 201
    renamed = send(scim_client, "PUT", group["Location"], {"displayName": "Renamed"})
    assert (renamed.status_code, renamed.json()["displayName"]) == (200, "Renamed")


@pytest.mark.parametrize("schemas", [None, []])
def test_patch_without_the_patch_op_schema_is_accepted(scim_client, learner, schemas):
    """RFC 7644 §3.5.2 asks for the PatchOp schema; scripts and gateways send none or []."""
    body = {"Operations": [{"op": "replace", "path": "title", "value": "Lead"}]}
    if schemas is not None:
        body["schemas"] = schemas
    response = send(scim_client, "PATCH", f"{BASE}/Users/{learner.scim_id}", body)
    assert (response.status_code, response.json()["title"]) == (200, "Lead")


def test_patch_naming_another_schema_is_refused_saying_what_to_send(scim_client, learner):
    """RFC 7644 §3.12 invalidSyntax, with the schemas to send instead."""
    body = {"schemas": [USER], "Operations": [{"op": "replace", "path": "title", "value": "X"}]}
    response = send(scim_client, "PATCH", f"{BASE}/Users/{learner.scim_id}", body)
    assert response.status_code == 400
    assert response.json() == error_body(
        400,
        f'The schemas of a PATCH body must be ["{PATCH_OP}"] (or be left out).',
        "invalidSyntax",
    )
    learner.refresh_from_db()
    assert learner.title == ""


# --- transport -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "application/scim+json; charset=utf-8",
        "application/scim+json;charset=UTF-8",
        "application/json; charset=utf-8",
    ],
)
def test_content_types_with_a_charset_are_read(scim_client, content_type):
    """RFC 7644 §8.1 names application/scim+json; Entra and API gateways add a charset."""
    response = send(
        scim_client, "POST", f"{BASE}/Users", {"userName": "gw@contoso.com"}, content_type
    )
    assert response.status_code == 201
    assert response["Content-Type"] == "application/scim+json"


def test_empty_attributes_parameters_ask_for_the_default_resource(scim_client, learner):
    """RFC 7644 §3.4.2.5, as scripts that build query strings send it: `attributes=`."""
    full = scim_client.get(f"{BASE}/Users/{learner.scim_id}").json()
    for query in ("attributes=", "excludedAttributes=", "attributes=&excludedAttributes="):
        response = scim_client.get(f"{BASE}/Users/{learner.scim_id}?{query}")
        assert response.json() == full, query
        listed = scim_client.get(f"{BASE}/Users?{query}").json()["Resources"]
        assert listed == [full], query


# --- PATCH operations ------------------------------------------------------------------------


def test_path_less_values_with_dotted_and_urn_prefixed_keys(scim_client, learner, manager):
    """RFC 7644 §3.5.2.3 path-less replace, with values keyed by path (Entra's
    aadOptscim062020 dialect and the clients that copied it)."""
    response = scim_client.patch_ops(
        f"{BASE}/Users/{learner.scim_id}",
        {
            "op": "replace",
            "value": {
                "name.givenName": "Xavier",
                "name.familyName": "Young",
                f"{ENTERPRISE}:department": "Research",
                f"{ENTERPRISE}:manager": {"value": str(manager.scim_id)},
                "title": "Scientist",
            },
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["name"]["givenName"] == "Xavier"
    assert body["name"]["familyName"] == "Young"
    assert body["title"] == "Scientist"
    assert body[ENTERPRISE]["department"] == "Research"
    assert body[ENTERPRISE]["manager"]["value"] == str(manager.scim_id)


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": ""},
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": ""}},
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": None},
        {"op": "Replace", "value": {f"{ENTERPRISE}:manager": ""}},
        {"op": "replace", "path": f"{ENTERPRISE}:manager.value", "value": ""},
    ],
)
def test_an_empty_replace_removes_the_manager(scim_client, learner, manager, operation):
    """RFC 7644 §3.5.2.3: a replace with an empty value, which clients send for "no manager"."""
    User.objects.filter(pk=learner.pk).update(manager=manager)
    response = scim_client.patch_ops(f"{BASE}/Users/{learner.scim_id}", operation)
    assert response.status_code == 200, response.json()
    assert "manager" not in response.json().get(ENTERPRISE, {})
    learner.refresh_from_db()
    assert learner.manager_id is None


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("True", True), ("FALSE", False), ("false", False), ("tRuE", True), (" true ", True)],
)
def test_booleans_sent_as_strings_in_any_case(scim_client, learner, sent, stored):
    """RFC 7643 §2.3.2 booleans, sent as strings in any case (Entra sends "True"/"False")."""
    User.objects.filter(pk=learner.pk).update(is_active=not stored)
    response = scim_client.patch_ops(
        f"{BASE}/Users/{learner.scim_id}", {"op": "replace", "value": {"active": sent}}
    )
    assert (response.status_code, response.json()["active"]) == (200, stored)


def test_a_boolean_that_is_neither_is_refused_naming_the_value(scim_client, learner):
    """RFC 7644 §3.12 invalidValue, naming what was sent."""
    response = scim_client.patch_ops(
        f"{BASE}/Users/{learner.scim_id}", {"op": "replace", "path": "active", "value": "yes"}
    )
    assert response.json() == error_body(
        400, "active must be true or false, not 'yes'.", "invalidValue"
    )


@pytest.mark.parametrize("op", ["Add", "ADD", "Replace", "REPLACE", "Remove", "remove"])
def test_capitalised_ops(scim_client, learner, op):
    """RFC 7644 §3.5.2 writes ops in lower case; Entra sends "Replace", scripts "REPLACE"."""
    value = None if op.lower() == "remove" else "Captain"
    operation = {"op": op, "path": "title"}
    if value:
        operation["value"] = value
    response = scim_client.patch_ops(f"{BASE}/Users/{learner.scim_id}", operation)
    assert response.status_code == 200
    assert response.json().get("title") == value


def test_an_unknown_op_is_refused_listing_the_ones_to_use(scim_client, learner):
    """RFC 7644 §3.12 invalidSyntax, listing the ops there are."""
    response = scim_client.patch_ops(
        f"{BASE}/Users/{learner.scim_id}", {"op": "update", "path": "title", "value": "X"}
    )
    assert response.json() == error_body(
        400, "Unknown PATCH op 'update'; use add, replace or remove.", "invalidSyntax"
    )


@pytest.fixture
def crew(company):
    team = TeamFactory(company=company, display_name="Crew")
    people = [LearnerFactory(company=company) for _ in range(3)]
    team.members.add(*people)
    return team, people


@pytest.mark.parametrize(
    "operation",
    [
        lambda ids: {"op": "remove", "path": "members", "value": [{"value": ids[0]}]},
        lambda ids: {"op": "Remove", "path": f'members[value eq "{ids[0]}"]'},
        lambda ids: {"op": "remove", "path": "members", "value": {"value": ids[0]}},
    ],
    ids=["value list", "filter", "single object"],
)
def test_member_removal_in_each_form_removes_only_that_member(scim_client, crew, operation):
    """RFC 7644 §3.5.2.2 by filter (as Okta sends it); by value list (Entra's default dialect)."""
    team, people = crew
    member_ids = [str(person.scim_id) for person in people]
    response = scim_client.patch_ops(f"{BASE}/Groups/{team.scim_id}", operation(member_ids))
    assert response.status_code == 204
    assert set(team.members.values_list("pk", flat=True)) == {people[1].pk, people[2].pk}


# --- Okta's documented provisioning requests -------------------------------------------------


def test_okta_user_lifecycle_as_documented(scim_client, company):
    """Okta: lookup, create, PUT update and PATCH deactivation, bodies as Okta documents them."""
    # Okta first looks the user up by userName, with paging parameters.
    lookup = scim_client.get(
        f"{BASE}/Users",
        {"filter": 'userName eq "test.user@okta.local"', "startIndex": 1, "count": 100},
    )
    assert lookup.json()["totalResults"] == 0
    created = send(
        scim_client,
        "POST",
        f"{BASE}/Users",
        {
            "schemas": [USER],
            "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": True,
        },
        content_type="application/scim+json; charset=utf-8",
    )
    assert created.status_code == 201
    user = created.json()
    assert user["externalId"] == "00ujl29u0le5T6Aj10h7"
    assert "password" not in user

    # PUT with the whole user, as Okta reads it back plus its changes.
    replaced = send(
        scim_client,
        "PUT",
        f"{BASE}/Users/{user['id']}",
        {
            "schemas": [USER],
            "id": user["id"],
            "userName": "test.user@okta.local",
            "name": {"givenName": "Another", "familyName": "User"},
            "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Another User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": True,
            "meta": {
                "resourceType": "User",
                "created": user["meta"]["created"],
                "lastModified": user["meta"]["lastModified"],
            },
        },
    )
    assert replaced.status_code == 200
    assert replaced.json()["name"] == {"givenName": "Another", "familyName": "User"}
    assert replaced.json()["displayName"] == "Another User"

    # Deactivation: a path-less replace.
    deactivated = send(
        scim_client,
        "PATCH",
        f"{BASE}/Users/{user['id']}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]},
    )
    assert (deactivated.status_code, deactivated.json()["active"]) == (200, False)
    assert User.objects.get(scim_id=user["id"]).is_active is False


def test_okta_group_push_as_documented(scim_client, company):
    """Okta Group Push: create, add and remove members, rename, PUT with members."""
    alice = LearnerFactory(company=company, user_name="test.user@okta.local")
    bob = LearnerFactory(company=company, user_name="another.user@okta.local")
    created = send(
        scim_client,
        "POST",
        f"{BASE}/Groups",
        {"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []},
    )
    assert created.status_code == 201
    group_id = created.json()["id"]
    url = f"{BASE}/Groups/{group_id}"

    added = send(
        scim_client,
        "PATCH",
        url,
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {
                    "op": "add",
                    "path": "members",
                    "value": [
                        {"value": str(alice.scim_id), "display": "test.user@okta.local"},
                        {"value": str(bob.scim_id), "display": "another.user@okta.local"},
                    ],
                }
            ],
        },
    )
    assert added.status_code == 204
    group = Group.objects.get(scim_id=group_id)
    assert set(group.members.all()) == {alice, bob}

    removed = send(
        scim_client,
        "PATCH",
        url,
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "remove", "path": f'members[value eq "{bob.scim_id}"]'}],
        },
    )
    assert removed.status_code == 204
    assert set(group.members.all()) == {alice}

    # Rename: a path-less replace that repeats the group's id.
    renamed = send(
        scim_client,
        "PATCH",
        url,
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "replace", "value": {"id": group_id, "displayName": "Test SCIMv2 renamed"}}
            ],
        },
    )
    assert renamed.status_code == 204
    group.refresh_from_db()
    assert group.display_name == "Test SCIMv2 renamed"

    # Okta's PUT of the group with its full member list.
    put = send(
        scim_client,
        "PUT",
        url,
        {
            "schemas": [GROUP],
            "id": group_id,
            "displayName": "Test SCIMv2 renamed",
            "members": [{"value": str(bob.scim_id), "display": "another.user@okta.local"}],
        },
    )
    assert put.status_code == 200
    assert [member["value"] for member in put.json()["members"]] == [str(bob.scim_id)]
