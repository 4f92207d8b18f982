"""Every PATCH shape of docs/entra-behaviour.md, Users, with and without aadOptscim062020."""

import json

import pytest

from qaportal.accounts.models import User
from tests.factories import LearnerFactory
from tests.scim.conftest import BASE, ENTERPRISE, error_body


@pytest.fixture
def patch(scim_client, learner):
    def send(*operations, status=200):
        response = scim_client.patch_ops(f"{BASE}/Users/{learner.scim_id}", *operations)
        assert response.status_code == status, response.content
        learner.refresh_from_db()
        return response

    return send


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("name.familyName", "updatedFamilyName", "family_name"),
        ("userName", "5b50642d@testuser.com", "user_name"),
        ("externalId", "Eqpj", "external_id"),
        (f"{ENTERPRISE}:employeeNumber", "Eqpj", "employee_number"),
        (f"{ENTERPRISE}:department", "Sales", "department"),
        ("displayName", "Alice A.", "display_name"),
        ("title", "Manager", "title"),
        ("name.givenName", "Al", "given_name"),
        ("name.formatted", "Al A", "formatted_name"),
    ],
)
@pytest.mark.parametrize("op", ["Replace", "replace", "Add", "REPLACE"])
def test_default_dialect_one_operation_per_attribute(patch, learner, op, path, value, field):
    response = patch({"op": op, "path": path, "value": value})
    assert getattr(learner, field) == value
    assert value in response.content.decode()


def test_add_nick_name(patch, learner):
    response = patch({"op": "Add", "path": "nickName", "value": "Babs"})
    assert response.json()["nickName"] == "Babs"
    assert learner.nick_name == "Babs"


def test_replace_work_email_creates_the_element_when_missing(patch, learner):
    patch(
        {
            "op": "Replace",
            "path": 'emails[type eq "work"].value',
            "value": "updatedEmail@microsoft.com",
        }
    )
    assert learner.emails == [{"type": "work", "value": "updatedEmail@microsoft.com"}]
    assert learner.work_email == "updatedEmail@microsoft.com"
    patch(
        {
            "op": "replace",
            "path": 'emails[type eq "work"].value',
            "value": "TestMhvaes@test.microsoft.com",
        }
    )
    assert learner.emails == [{"type": "work", "value": "TestMhvaes@test.microsoft.com"}]


def test_other_email_with_capital_v_sub_attribute(patch, learner):
    patch({"op": "Add", "path": 'emails[type eq "other"].Value', "value": "smtp:alias@contoso.com"})
    assert learner.emails == [{"type": "other", "value": "smtp:alias@contoso.com"}]
    assert learner.work_email == ""


def test_phone_numbers_and_addresses_by_type(patch, learner):
    patch(
        {"op": "Add", "path": 'phoneNumbers[type eq "work"].value', "value": "+1 425 555 0100"},
        {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 425 555 0101"},
        {
            "op": "Add",
            "path": 'addresses[type eq "work"].streetAddress',
            "value": "1 Microsoft Way",
        },
        {"op": "Add", "path": 'addresses[type eq "work"].postalCode', "value": "98052"},
        {"op": "Add", "path": 'addresses[type eq "other"].Formatted', "value": "Building 92"},
    )
    assert learner.phone_numbers == [
        {"type": "work", "value": "+1 425 555 0100"},
        {"type": "mobile", "value": "+1 425 555 0101"},
    ]
    assert learner.addresses == [
        {"type": "work", "streetAddress": "1 Microsoft Way", "postalCode": "98052"},
        {"type": "other", "formatted": "Building 92"},
    ]
    patch(
        {"op": "Replace", "path": 'phoneNumbers[type eq "work"].value', "value": "+1 425 555 0199"}
    )
    assert learner.phone_numbers[0] == {"type": "work", "value": "+1 425 555 0199"}
    patch({"op": "Remove", "path": 'phoneNumbers[type eq "mobile"]'})
    assert learner.phone_numbers == [{"type": "work", "value": "+1 425 555 0199"}]


def test_flag_dialect_path_less_replace_with_dotted_and_urn_keys(patch, learner):
    response = patch(
        {
            "op": "replace",
            "path": 'emails[type eq "work"].value',
            "value": "TestMhvaes@test.microsoft.com",
        },
        {
            "op": "replace",
            "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                f"{ENTERPRISE}:employeeNumber": "Aklq",
            },
        },
    )
    assert (learner.display_name, learner.given_name, learner.family_name) == (
        "Bjfe",
        "Kkom",
        "Unua",
    )
    assert learner.employee_number == "Aklq"
    assert learner.work_email == "TestMhvaes@test.microsoft.com"
    assert response.json()[ENTERPRISE] == {"employeeNumber": "Aklq"}


def test_path_less_replace_with_nested_objects(patch, learner):
    patch(
        {
            "op": "replace",
            "value": {
                "name": {"givenName": "N"},
                ENTERPRISE: {"department": "Ops"},
                "active": "False",
            },
        }
    )
    assert (learner.given_name, learner.family_name, learner.department, learner.is_active) == (
        "N",
        learner.family_name,
        "Ops",
        False,
    )


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "replace", "path": "active", "value": False},
        {"op": "Replace", "path": "active", "value": False},
        {"op": "Add", "path": "active", "value": "false"},
        {"op": "replace", "value": {"active": "False"}},
        {"op": "Replace", "path": "active", "value": "FALSE"},
    ],
)
def test_every_deactivation_shape(patch, learner, operation):
    response = patch(operation)
    assert learner.is_active is False
    assert response.json()["active"] is False


@pytest.mark.parametrize("value", ["True", True, "true"])
def test_reactivation_restores_the_same_account(patch, learner, value):
    patch({"op": "Replace", "path": "active", "value": "False"})
    patch({"op": "Replace", "path": "active", "value": value})
    assert learner.is_active is True
    assert User.objects.filter(user_name="alice@contoso.com").count() == 1


def test_deactivating_an_inactive_user_is_a_no_op(patch, learner):
    patch({"op": "Replace", "path": "active", "value": "False"})
    before = User.objects.get(pk=learner.pk).updated_at
    patch({"op": "Replace", "path": "active", "value": "False"})
    assert learner.updated_at == before


def test_a_bad_boolean_is_invalid_value(patch):
    response = patch({"op": "Replace", "path": "active", "value": "maybe"}, status=400)
    assert response.json() == error_body(
        400, "active must be true or false, not 'maybe'.", "invalidValue"
    )


@pytest.fixture
def boss(company):
    return LearnerFactory(company=company, user_name="boss@contoso.com")


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": f"{ENTERPRISE}:manager", "value": "BOSS"},
        {
            "op": "Add",
            "path": "manager",
            "value": [{"$ref": "http://x/Users/BOSS", "value": "BOSS"}],
        },
        {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": {"value": "BOSS"}},
        {"op": "replace", "value": {f"{ENTERPRISE}:manager": "BOSS"}},
    ],
)
def test_manager_set_in_every_shape(patch, learner, boss, operation):
    def substitute(value):
        if isinstance(value, str):
            return value.replace("BOSS", str(boss.scim_id))
        if isinstance(value, list):
            return [substitute(v) for v in value]
        if isinstance(value, dict):
            return {substitute(k): substitute(v) for k, v in value.items()}
        return value

    response = patch(substitute(operation))
    assert learner.manager_id == boss.pk
    assert response.json()[ENTERPRISE]["manager"] == {
        "value": str(boss.scim_id),
        "$ref": f"https://testserver{BASE}/Users/{boss.scim_id}",
    }


@pytest.mark.parametrize(
    "removal",
    [
        {"op": "Remove", "path": f"{ENTERPRISE}:manager"},
        {"op": "remove", "path": 'manager[value eq "BOSS"]'},
        {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": ""},
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": None},
    ],
)
def test_manager_removal_in_every_shape(patch, learner, boss, removal):
    learner.manager = boss
    learner.save()
    if "path" in removal:
        removal = {**removal, "path": removal["path"].replace("BOSS", str(boss.scim_id))}
    response = patch(removal)
    assert learner.manager_id is None
    assert ENTERPRISE not in response.json()


def test_unknown_manager_is_invalid_value(patch):
    response = patch(
        {
            "op": "add",
            "path": f"{ENTERPRISE}:manager",
            "value": "5e9f4d8c-0000-4000-8000-000000000000",
        },
        status=400,
    )
    assert response.json()["scimType"] == "invalidValue"


def test_attribute_names_are_case_insensitive(patch, learner):
    patch(
        {"op": "Replace", "path": "DisplayName", "value": "D"},
        {"op": "Replace", "path": "NAME.GIVENNAME", "value": "G"},
        {
            "op": "Replace",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:Department",
            "value": "X",
        },
        {"op": "Replace", "path": 'Emails[Type eq "Work"].Value', "value": "w@c.com"},
    )
    assert (learner.display_name, learner.given_name, learner.department, learner.work_email) == (
        "D",
        "G",
        "X",
        "w@c.com",
    )


def test_operations_apply_in_order_and_atomically(patch, learner, company):
    LearnerFactory(company=company, user_name="taken@contoso.com")
    patch(
        {"op": "Replace", "path": "title", "value": "Before"},
        {"op": "Replace", "path": "userName", "value": "Taken@contoso.com"},
        status=409,
    )
    assert (learner.title, learner.user_name) == ("", "alice@contoso.com")
    patch(
        {"op": "Replace", "path": "title", "value": "A"},
        {"op": "Replace", "path": "title", "value": "B"},
    )
    assert learner.title == "B"


def test_an_invalid_operation_changes_nothing(patch, learner):
    patch(
        {"op": "Replace", "path": "title", "value": "Changed"},
        {"op": "Replace", "path": "active", "value": "perhaps"},
        status=400,
    )
    assert learner.title == ""


def test_a_no_op_patch_succeeds_without_writing(patch, learner):
    before = learner.updated_at
    patch({"op": "Replace", "path": "userName", "value": "alice@contoso.com"})
    assert learner.updated_at == before


def test_null_and_empty_values_clear_optional_attributes(patch, learner):
    patch(
        {"op": "Add", "path": "title", "value": "T"},
        {"op": "Add", "path": 'emails[type eq "work"].value', "value": "a@c.com"},
    )
    patch(
        {"op": "Replace", "path": "title", "value": ""},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": None},
    )
    assert (learner.title, learner.emails, learner.work_email) == ("", [], "")


def test_remove_without_path_is_no_target(patch):
    response = patch({"op": "Remove", "value": {"title": "x"}}, status=400)
    assert response.json() == error_body(400, "A remove operation needs a path.", "noTarget")


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        (
            {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []},
            "invalidSyntax",
        ),
        (
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "move", "path": "title"}],
            },
            "invalidSyntax",
        ),
        (
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "title[", "value": "x"}],
            },
            "invalidPath",
        ),
        (
            {
                "schemas": ["urn:wrong"],
                "Operations": [{"op": "add", "path": "title", "value": "x"}],
            },
            "invalidSyntax",
        ),
    ],
)
def test_malformed_patch_bodies(scim_client, learner, body, scim_type):
    response = scim_client.generic(
        "PATCH",
        f"{BASE}/Users/{learner.scim_id}",
        json.dumps(body),
        content_type="application/scim+json",
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == scim_type


def test_unknown_core_attributes_are_accepted(patch):
    patch(
        {"op": "Add", "path": "preferredLanguage", "value": "en-US"},
        {
            "op": "Add",
            "path": "urn:ietf:params:scim:schemas:extension:Custom:2.0:User:shoeSize",
            "value": "42",
        },
    )


def test_patch_of_unknown_user_is_404(scim_client):
    response = scim_client.patch_ops(
        f"{BASE}/Users/5e9f4d8c-0000-4000-8000-000000000000",
        {"op": "Replace", "path": "title", "value": "x"},
    )
    assert response.status_code == 404


def test_removing_the_enterprise_extension_unassigns_it(patch, learner, boss):
    learner.department, learner.employee_number, learner.manager = "D", "E", boss
    learner.save()
    response = patch({"op": "remove", "path": ENTERPRISE})
    assert (learner.department, learner.employee_number, learner.manager_id) == ("", "", None)
    assert ENTERPRISE not in response.json()


def test_active_cannot_be_removed(patch, learner):
    response = patch({"op": "Remove", "path": "active"}, status=400)
    assert response.json() == error_body(
        400, "active is required; replace it with true or false.", "mutability"
    )
    assert learner.is_active is True


# A JSON escape that does not decode (\q), or decodes to half a UTF-16 pair or to NUL.
BAD_FILTER_STRINGS = ["\\q", "\\ud800", "x\\udc00", "\\u12", "\\u0000"]


@pytest.mark.parametrize("escaped", BAD_FILTER_STRINGS)
def test_a_bad_string_in_a_filtered_path_is_invalid_path(scim_client, learner, escaped):
    emails = learner.emails
    response = scim_client.patch_ops(
        f"{BASE}/Users/{learner.scim_id}",
        {"op": "replace", "path": f'emails[type eq "{escaped}"].value', "value": "a@contoso.com"},
    )
    if escaped == "\\u0000":  # refused with the body, before the path is parsed
        assert response.json()["scimType"] == "invalidValue"
    else:
        assert response.status_code == 400, response.content
        assert response.json()["scimType"] == "invalidPath"
    learner.refresh_from_db()
    assert learner.emails == emails


@pytest.mark.parametrize("escaped", BAD_FILTER_STRINGS)
@pytest.mark.parametrize("parameter", ["attributes", "excludedAttributes"])
def test_a_bad_string_in_a_projected_path_is_a_400(scim_client, learner, escaped, parameter):
    for path in (f"{BASE}/Users/{learner.scim_id}", f"{BASE}/Users"):
        response = scim_client.get(path, {parameter: f'emails[type eq "{escaped}"].value'})
        assert response.status_code == 400, response.content
        assert response.json()["scimType"] == "invalidValue"
