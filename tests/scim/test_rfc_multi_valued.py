"""Multi-valued attributes (emails, phoneNumbers, addresses) as RFC 7643 §2.4 and RFC 7644
§3.5.2 define them: at most one `"primary": true`, a new primary value makes the others
non-primary, and no two values with the same (type, value), in POST, PUT and PATCH add/replace
with and without a path, in both of Entra's PATCH dialects."""

import pytest

from qaportal.accounts.models import User
from tests.factories import LearnerFactory
from tests.scim.conftest import BASE, USER, error_body

pytestmark = pytest.mark.django_db

TWO_PRIMARY = 'At most one value of emails can be "primary": true.'


def _create(scim_client, **attributes) -> dict:
    body = {"schemas": [USER], "userName": "mv@contoso.com", **attributes}
    response = scim_client.post_json(f"{BASE}/Users", body)
    assert response.status_code == 201, response.content
    return response.json()


def _emails(scim_id: str) -> list[dict]:
    return User.objects.get(scim_id=scim_id).emails


def test_rfc7643_s2_4_post_with_two_primary_emails_is_400_invalid_value(scim_client):
    body = {
        "schemas": [USER],
        "userName": "two@contoso.com",
        "emails": [
            {"value": "a@contoso.com", "type": "work", "primary": True},
            {"value": "b@contoso.com", "type": "home", "primary": "True"},
        ],
    }
    response = scim_client.post_json(f"{BASE}/Users", body)
    assert response.status_code == 400
    assert response.json() == error_body(400, TWO_PRIMARY, "invalidValue")
    assert not User.objects.filter(user_name="two@contoso.com").exists()


def test_rfc7643_s2_4_put_with_two_primary_phone_numbers_is_400_and_changes_nothing(scim_client):
    user = _create(scim_client, phoneNumbers=[{"value": "+1 555 0100", "type": "work"}])
    body = {
        "schemas": [USER],
        "userName": "mv@contoso.com",
        "phoneNumbers": [
            {"value": "+1 555 0101", "type": "work", "primary": True},
            {"value": "+1 555 0102", "type": "mobile", "primary": True},
        ],
    }
    response = scim_client.put_json(f"{BASE}/Users/{user['id']}", body)
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    stored = User.objects.get(scim_id=user["id"]).phone_numbers
    assert stored == [{"value": "+1 555 0100", "type": "work"}]


@pytest.mark.parametrize("op", ["add", "replace"])
def test_rfc7644_s3_5_2_patch_value_list_with_two_primaries_is_400(scim_client, op):
    user = _create(scim_client, emails=[{"value": "a@contoso.com", "type": "work"}])
    values = [
        {"value": "b@contoso.com", "type": "home", "primary": True},
        {"value": "c@contoso.com", "type": "other", "primary": True},
    ]
    for operation in (
        {"op": op, "path": "emails", "value": values},  # with a path
        {"op": op, "value": {"emails": values}},  # without one
    ):
        response = scim_client.patch_ops(f"{BASE}/Users/{user['id']}", operation)
        assert response.status_code == 400, operation
        assert response.json() == error_body(400, TWO_PRIMARY, "invalidValue")
    assert _emails(user["id"]) == [{"value": "a@contoso.com", "type": "work"}]


@pytest.mark.parametrize("with_path", [True, False])
def test_rfc7644_s3_5_2_1_add_of_a_primary_value_makes_the_others_non_primary(
    scim_client, with_path
):
    user = _create(
        scim_client,
        emails=[
            {"value": "work@contoso.com", "type": "work", "primary": True},
            {"value": "other@contoso.com", "type": "other"},
        ],
    )
    new = [{"value": "home@contoso.com", "type": "home", "primary": True}]
    operation = (
        {"op": "Add", "path": "emails", "value": new}
        if with_path
        else {"op": "Add", "value": {"emails": new}}
    )
    response = scim_client.patch_ops(f"{BASE}/Users/{user['id']}", operation)
    assert response.status_code == 200
    expected = [
        {"value": "work@contoso.com", "type": "work", "primary": False},
        {"value": "other@contoso.com", "type": "other"},
        {"value": "home@contoso.com", "type": "home", "primary": True},
    ]
    assert response.json()["emails"] == expected
    assert _emails(user["id"]) == expected


def test_rfc7644_s3_5_2_entra_filtered_paths_in_both_dialects_keep_one_primary(scim_client):
    user = _create(
        scim_client,
        emails=[
            {"value": "work@contoso.com", "type": "work", "primary": True},
            {"value": "home@contoso.com", "type": "home"},
        ],
    )
    # Entra's default dialect: one operation per filtered path, "True" as a string.
    response = scim_client.patch_ops(
        f"{BASE}/Users/{user['id']}",
        {"op": "Replace", "path": 'emails[type eq "home"].primary', "value": "True"},
    )
    assert response.status_code == 200
    assert response.json()["emails"] == [
        {"value": "work@contoso.com", "type": "work", "primary": False},
        {"value": "home@contoso.com", "type": "home", "primary": True},
    ]
    # aadOptscim062020: a path-less value object whose keys are filtered paths; a new
    # "mobile" email is created primary, and "home" stops being primary.
    response = scim_client.patch_ops(
        f"{BASE}/Users/{user['id']}",
        {
            "op": "replace",
            "value": {
                'emails[type eq "mobile"].value': "mobile@contoso.com",
                'emails[type eq "mobile"].primary': True,
            },
        },
    )
    assert response.status_code == 200
    expected = [
        {"value": "work@contoso.com", "type": "work", "primary": False},
        {"value": "home@contoso.com", "type": "home", "primary": False},
        {"type": "mobile", "value": "mobile@contoso.com", "primary": True},
    ]
    assert response.json()["emails"] == expected
    assert _emails(user["id"]) == expected


def test_rfc7643_s2_4_post_and_put_store_each_type_and_value_pair_once(scim_client):
    user = _create(
        scim_client,
        emails=[
            {"value": "a@contoso.com", "type": "work"},
            {"value": "A@Contoso.com", "type": "Work", "primary": True},
            {"value": "a@contoso.com", "type": "home"},
        ],
    )
    # The duplicate is merged into the first value with its pair (and keeps its primary).
    expected = [
        {"value": "A@Contoso.com", "type": "Work", "primary": True},
        {"value": "a@contoso.com", "type": "home"},
    ]
    assert user["emails"] == expected
    assert _emails(user["id"]) == expected
    body = {
        "schemas": [USER],
        "userName": "mv@contoso.com",
        "addresses": [
            {"type": "work", "locality": "Oslo", "country": "NO"},
            {"type": "work", "locality": "oslo", "country": "NO", "primary": True},
        ],
    }
    response = scim_client.put_json(f"{BASE}/Users/{user['id']}", body)
    assert response.status_code == 200
    assert response.json()["addresses"] == [
        {"type": "work", "locality": "oslo", "country": "NO", "primary": True}
    ]
    assert User.objects.get(scim_id=user["id"]).addresses == response.json()["addresses"]


def test_rfc7644_s3_5_2_1_add_of_a_value_already_there_adds_no_duplicate(scim_client):
    user = _create(scim_client, emails=[{"value": "a@contoso.com"}])
    for _ in range(2):
        response = scim_client.patch_ops(
            f"{BASE}/Users/{user['id']}",
            {"op": "add", "path": "emails", "value": [{"value": "A@contoso.com"}]},
        )
        assert response.status_code == 200
    assert response.json()["emails"] == [{"value": "A@contoso.com"}]
    assert _emails(user["id"]) == [{"value": "A@contoso.com"}]


def test_rfc7644_s3_5_2_3_replace_of_a_sub_attribute_to_primary_clears_the_others(scim_client):
    user = _create(
        scim_client,
        phoneNumbers=[
            {"value": "+1 555 0100", "type": "work", "primary": True},
            {"value": "+1 555 0101", "type": "mobile"},
        ],
    )
    response = scim_client.patch_ops(
        f"{BASE}/Users/{user['id']}",
        {"op": "replace", "path": 'phoneNumbers[value eq "+1 555 0101"].primary', "value": True},
    )
    assert response.status_code == 200
    assert response.json()["phoneNumbers"] == [
        {"value": "+1 555 0100", "type": "work", "primary": False},
        {"value": "+1 555 0101", "type": "mobile", "primary": True},
    ]


def test_rfc7643_s2_4_values_stored_before_the_rules_are_returned_once_with_one_primary(
    scim_client, company
):
    learner = LearnerFactory(
        company=company,
        emails=[
            {"value": "a@contoso.com", "type": "work", "primary": True},
            {"value": "a@contoso.com", "type": "work"},
            {"value": "b@contoso.com", "type": "home", "primary": True},
        ],
    )
    response = scim_client.get(f"{BASE}/Users/{learner.scim_id}")
    assert response.json()["emails"] == [
        {"value": "a@contoso.com", "type": "work", "primary": True},
        {"value": "b@contoso.com", "type": "home", "primary": False},
    ]
