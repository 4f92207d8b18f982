"""Users: create, read, list, replace and delete, as Entra drives them."""

import pytest
from django.db import connection

from qaportal.accounts.models import User
from tests.factories import LearnerFactory
from tests.scim.conftest import BASE, ENTERPRISE, USER, error_body, weak_version

# docs/entra-behaviour.md, Users, the documented POST body.
ENTRA_POST = {
    "schemas": [USER, ENTERPRISE],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
    "active": True,
    "emails": [{"primary": True, "type": "work", "value": "Test_User_11bb@testuser.com"}],
    "meta": {"resourceType": "User"},
    "name": {
        "formatted": "givenName familyName",
        "familyName": "familyName",
        "givenName": "givenName",
    },
    "roles": [],
}


def test_entra_match_then_create(scim_client):
    match = scim_client.get(
        f"{BASE}/Users?filter=userName+eq+%22Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee%22"
    )
    assert match.json()["totalResults"] == 0

    response = scim_client.post_json(f"{BASE}/Users", ENTRA_POST)

    assert response.status_code == 201
    user = User.objects.get(user_name=ENTRA_POST["userName"])
    location = f"https://testserver{BASE}/Users/{user.scim_id}"
    assert response["Location"] == location
    assert response.json() == {
        "schemas": [USER],
        "id": str(user.scim_id),
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName",
        },
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": "Test_User_11bb@testuser.com"}],
        "meta": {
            "resourceType": "User",
            "created": user.created_at.isoformat().replace("+00:00", "Z"),
            "lastModified": user.created_at.isoformat().replace("+00:00", "Z"),
            "location": location,
            "version": weak_version(user.updated_at),
        },
    }
    assert response["ETag"] == response.json()["meta"]["version"]
    assert (user.company.slug, user.role, user.work_email) == (
        "contoso",
        "learner",
        "Test_User_11bb@testuser.com",
    )
    assert not user.has_usable_password()

    rematch = scim_client.get(
        f"{BASE}/Users?filter=userName+eq+%22test_user_00AA00aa-bb11-cc22-dd33-44ee44ee44ee%22"
    )
    assert rematch.json()["Resources"][0]["id"] == str(user.scim_id)


def test_post_ignores_nulls_client_meta_and_unknown_urns(scim_client):
    body = {
        "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
        "userName": "nulls@contoso.com",
        "active": "True",
        "addresses": None,
        "phoneNumbers": None,
        "title": None,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": None,
            "manager": None,
        },
        "urn:ietf:params:scim:schemas:extension:Custom:2.0:User": {"shoeSize": "42"},
        "preferredLanguage": "en-US",
        "password": "never stored",
    }
    response = scim_client.post_json(f"{BASE}/Users", body)
    assert response.status_code == 201
    doc = response.json()
    assert doc["active"] is True
    assert set(doc) == {"schemas", "id", "userName", "active", "meta"}
    assert not User.objects.get(user_name="nulls@contoso.com").has_usable_password()


def test_post_with_enterprise_attributes_and_manager(scim_client, learner):
    body = {
        "schemas": [USER, ENTERPRISE],
        "userName": "bob@contoso.com",
        "displayName": "Bob",
        "title": "Engineer",
        "phoneNumbers": [{"type": "mobile", "value": "+1 (555) 0100"}],
        "addresses": [{"type": "work", "streetAddress": "1 Main St", "postalCode": "98052"}],
        ENTERPRISE: {
            "employeeNumber": "0042",
            "department": "R&D",
            "manager": {"value": str(learner.scim_id)},
        },
    }
    doc = scim_client.post_json(f"{BASE}/Users", body).json()
    assert doc["schemas"] == [USER, ENTERPRISE]
    assert doc["phoneNumbers"] == [{"type": "mobile", "value": "+1 (555) 0100"}]
    assert doc["addresses"] == [
        {"type": "work", "streetAddress": "1 Main St", "postalCode": "98052"}
    ]
    assert doc[ENTERPRISE] == {
        "employeeNumber": "0042",
        "department": "R&D",
        "manager": {
            "value": str(learner.scim_id),
            "$ref": f"https://testserver{BASE}/Users/{learner.scim_id}",
        },
    }


def test_user_name_is_unique_per_company_case_insensitively(scim_client, learner):
    response = scim_client.post_json(f"{BASE}/Users", {"userName": "Alice@Contoso.COM"})
    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"


def test_the_same_user_name_can_exist_in_another_company(scim_client, other_company_user):
    response = scim_client.post_json(f"{BASE}/Users", {"userName": other_company_user.user_name})
    assert response.status_code == 201


def test_get_by_id_returns_the_resource_with_location(scim_client, learner):
    response = scim_client.get(f"{BASE}/Users/{learner.scim_id}")
    assert response.status_code == 200
    assert response["Location"] == f"https://testserver{BASE}/Users/{learner.scim_id}"
    assert response.json()["userName"] == "alice@contoso.com"
    assert scim_client.get(f"{BASE}/Users/{learner.scim_id}/").status_code == 200


def test_list_returns_only_learners(scim_client, learner, admin_user):
    for path in (f"{BASE}/Users", f"{BASE}/Users/"):
        body = scim_client.get(path).json()
        assert [r["id"] for r in body["Resources"]] == [str(learner.scim_id)]


def test_deactivated_users_stay_visible_to_get_and_filters(scim_client, learner):
    learner.is_active = False
    learner.save()
    assert scim_client.get(f"{BASE}/Users/{learner.scim_id}").json()["active"] is False
    body = scim_client.get(f"{BASE}/Users?filter=userName+eq+%22alice@contoso.com%22").json()
    assert body["Resources"][0]["active"] is False


def test_put_replaces_the_user(scim_client, learner):
    body = {
        "schemas": [USER],
        "userName": "alice@contoso.com",
        "title": "CTO",
        "emails": [{"type": "work", "value": "a@c.com"}],
    }
    response = scim_client.put_json(f"{BASE}/Users/{learner.scim_id}", body)
    assert response.status_code == 200
    doc = response.json()
    assert doc["title"] == "CTO"
    assert "name" not in doc  # replaced: the factory's names are gone
    assert "displayName" not in doc
    learner.refresh_from_db()
    assert (learner.work_email, learner.given_name, learner.is_active) == ("a@c.com", "", True)


def test_put_without_active_keeps_a_deactivated_user_inactive(scim_client, learner):
    learner.is_active = False
    learner.save()
    scim_client.put_json(f"{BASE}/Users/{learner.scim_id}", {"userName": "alice@contoso.com"})
    learner.refresh_from_db()
    assert learner.is_active is False


def test_put_to_a_taken_user_name_is_409(scim_client, learner, company):
    LearnerFactory(company=company, user_name="taken@contoso.com")
    response = scim_client.put_json(
        f"{BASE}/Users/{learner.scim_id}", {"userName": "TAKEN@contoso.com"}
    )
    assert response.status_code == 409
    learner.refresh_from_db()
    assert learner.user_name == "alice@contoso.com"


def test_delete_removes_the_user_and_frees_the_user_name(scim_client, learner):
    response = scim_client.delete(f"{BASE}/Users/{learner.scim_id}")
    assert (response.status_code, response.content) == (204, b"")
    assert not User.objects.filter(pk=learner.pk).exists()
    again = scim_client.delete(f"{BASE}/Users/{learner.scim_id}")
    assert again.status_code == 404
    assert again.json() == error_body(404, f"User {learner.scim_id} not found.")
    assert (
        scim_client.post_json(f"{BASE}/Users", {"userName": "alice@contoso.com"}).status_code == 201
    )


def test_deleting_a_manager_keeps_the_reports(scim_client, learner, company):
    report = LearnerFactory(company=company, manager=learner)
    scim_client.delete(f"{BASE}/Users/{learner.scim_id}")
    report.refresh_from_db()
    assert report.manager_id is None


@pytest.mark.parametrize("active", [False, "False"])
def test_a_deactivated_user_cannot_sign_in(scim_client, learner, active):
    from django.contrib.auth import authenticate
    from django.test import RequestFactory

    learner.email = "alice.signin@contoso.com"
    learner.set_password("pw-for-this-test-only")
    learner.save()
    scim_client.patch_ops(
        f"{BASE}/Users/{learner.scim_id}", {"op": "Replace", "path": "active", "value": active}
    )
    assert (
        authenticate(
            RequestFactory().post("/login/"),  # django-axes needs the request
            username="alice.signin@contoso.com",
            password="pw-for-this-test-only",
        )
        is None
    )


def test_an_unknown_manager_never_blocks_a_create(scim_client):
    body = {
        "userName": "new@contoso.com",
        ENTERPRISE: {"Department": "bob", "Manager": {"Value": "SuzzyQ"}},
    }
    response = scim_client.post_json(f"{BASE}/Users", body)
    assert response.status_code == 201
    assert response.json()[ENTERPRISE] == {"department": "bob"}
    assert User.objects.get(user_name="new@contoso.com").manager_id is None


def test_observed_entra_trace_get_filter_conflict_then_patch(scim_client, learner):
    # An observed Entra trace (azure-docs#11784):
    # GET /Users/{id} -> GET ?filter -> POST (409) -> PATCH.
    assert scim_client.get(f"{BASE}/Users/{learner.scim_id}").status_code == 200
    found = scim_client.get(f"{BASE}/Users?filter=userName+eq+%22Alice%40Contoso.com%22").json()
    assert found["totalResults"] == 1
    conflict = scim_client.post_json(
        f"{BASE}/Users", {**ENTRA_POST, "userName": "alice@contoso.com"}
    )
    assert conflict.status_code == 409
    response = scim_client.patch_ops(
        f"{BASE}/Users/{learner.scim_id}", {"op": "Replace", "path": "title", "value": "Lead"}
    )
    assert response.json()["title"] == "Lead"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="real concurrency needs PostgreSQL (CI)"
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_of_one_user_name_make_exactly_one(generated_key):
    from concurrent.futures import ThreadPoolExecutor

    from tests.scim.conftest import ScimClient

    def create(n):
        client = ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")
        try:
            return client.post_json(
                f"{BASE}/Users", {"userName": "Race@x.com" if n % 2 else "race@X.com"}
            ).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(create, range(12)))
    assert statuses == [201] + [409] * 11
    assert User.objects.filter(user_name__iexact="race@x.com").count() == 1


LONG_WORK_EMAIL = "a" * 388 + "@contoso.com"  # 400 characters; work_email holds 320
TOO_LONG = 'The value of the "work" email is longer than 320 characters.'


def test_a_work_email_longer_than_its_column_is_invalid_value_on_post(scim_client, company):
    for kind in ("work", "Work"):
        body = {
            "userName": "long@contoso.com",
            "emails": [{"type": kind, "value": LONG_WORK_EMAIL}],
        }
        response = scim_client.post_json(f"{BASE}/Users", body)
        assert response.status_code == 400, response.content
        assert response.json() == error_body(400, TOO_LONG, "invalidValue")
    assert not User.objects.filter(user_name="long@contoso.com").exists()
    # Another type of email is not copied to a column: any length the body allows is kept.
    body = {"userName": "long@contoso.com", "emails": [{"type": "home", "value": LONG_WORK_EMAIL}]}
    assert scim_client.post_json(f"{BASE}/Users", body).status_code == 201


@pytest.mark.parametrize(
    "value", [{"value": "a@contoso.com"}, ["a@contoso.com"], True], ids=["object", "array", "bool"]
)
def test_an_email_value_that_is_not_a_string_is_invalid_value(scim_client, learner, value):
    body = {"userName": "odd@contoso.com", "emails": [{"type": "work", "value": value}]}
    response = scim_client.post_json(f"{BASE}/Users", body)
    assert response.json() == error_body(400, "emails.value must be a string.", "invalidValue")
    response = scim_client.put_json(f"{BASE}/Users/{learner.scim_id}", body)
    assert response.json() == error_body(400, "emails.value must be a string.", "invalidValue")
    response = scim_client.patch_ops(
        f"{BASE}/Users/{learner.scim_id}",
        {"op": "add", "path": "emails", "value": [{"type": "work", "value": value}]},
    )
    assert response.json() == error_body(400, "emails.value must be a string.", "invalidValue")
    assert not User.objects.filter(user_name="odd@contoso.com").exists()
    learner.refresh_from_db()
    assert "{" not in learner.work_email and "[" not in learner.work_email


def test_a_work_email_longer_than_its_column_is_invalid_value_on_put_and_patch(
    scim_client, learner
):
    before = (learner.emails, learner.work_email)
    path = f"{BASE}/Users/{learner.scim_id}"
    body = {"userName": learner.user_name, "emails": [{"type": "work", "value": LONG_WORK_EMAIL}]}
    response = scim_client.put_json(path, body)
    assert response.json() == error_body(400, TOO_LONG, "invalidValue")
    for operation in (
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": LONG_WORK_EMAIL},
        {"op": "add", "path": "emails", "value": [{"type": "work", "value": LONG_WORK_EMAIL}]},
        {"op": "replace", "value": {"emails": [{"type": "work", "value": LONG_WORK_EMAIL}]}},
    ):
        response = scim_client.patch_ops(path, operation)
        assert response.json() == error_body(400, TOO_LONG, "invalidValue"), operation
    learner.refresh_from_db()
    assert (learner.emails, learner.work_email) == before
    # Exactly 320 characters fit.
    fits = "a" * 308 + "@contoso.com"
    response = scim_client.patch_ops(
        path, {"op": "replace", "path": 'emails[type eq "work"].value', "value": fits}
    )
    assert response.status_code == 200, response.content
    learner.refresh_from_db()
    assert learner.work_email == fits
