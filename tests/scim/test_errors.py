"""Every failure under the SCIM base is a SCIM error body."""

import json

import pytest

from tests.scim.conftest import BASE, SCIM_JSON, USER, error_body


def test_unknown_user_id_is_a_scim_404(scim_client):
    response = scim_client.get(f"{BASE}/Users/0b2f3c54-7c7e-4a3b-9a56-0d5e4b8f6a10")
    assert response.status_code == 404
    assert response["Content-Type"] == SCIM_JSON
    assert response.json() == error_body(
        404, "User 0b2f3c54-7c7e-4a3b-9a56-0d5e4b8f6a10 not found."
    )


@pytest.mark.parametrize("bad_id", ["123", "not-a-uuid", "..%2F..%2Fetc", "' or 1=1 --"])
def test_ids_that_cannot_be_ours_are_404_not_500(scim_client, bad_id):
    assert scim_client.get(f"{BASE}/Users/{bad_id}").status_code == 404
    assert scim_client.get(f"{BASE}/Groups/{bad_id}").status_code == 404
    assert scim_client.delete(f"{BASE}/Users/{bad_id}").status_code == 404


def test_unknown_paths_under_the_base_are_scim_404s(scim_client):
    for path in ("/Nope", "/Users/a/b", "/", "/users"):
        response = scim_client.get(BASE + path)
        assert response.status_code == 404, path
        assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


@pytest.mark.parametrize("path", ["/Bulk", "/Me"])
def test_unsupported_endpoints_are_scim_501s(scim_client, path):
    response = scim_client.post_json(BASE + path, {})
    assert response.status_code == 501
    assert response.json() == error_body(501, "This endpoint is not supported.")


def test_wrong_methods_are_scim_405s_with_allow(scim_client, learner):
    response = scim_client.delete(f"{BASE}/Users")
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    assert response.json() == error_body(405, "DELETE is not supported here.")
    response = scim_client.post_json(f"{BASE}/Users/{learner.scim_id}", {"userName": "x"})
    assert (response.status_code, response["Allow"]) == (405, "GET, PUT, PATCH, DELETE")
    response = scim_client.post_json(f"{BASE}/ServiceProviderConfig", {})
    assert response.status_code == 405
    assert response.json()["status"] == "405"


def test_invalid_json_is_invalid_syntax(scim_client):
    response = scim_client.generic("POST", f"{BASE}/Users", "{nope", content_type=SCIM_JSON)
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidSyntax"


@pytest.mark.parametrize("body", ["[]", '"text"', "", "1"])
def test_bodies_that_are_not_objects_are_invalid_syntax(scim_client, body):
    response = scim_client.generic("POST", f"{BASE}/Users", body, content_type=SCIM_JSON)
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidSyntax"


def test_deeply_nested_json_is_a_400_not_a_500(scim_client):
    body = "[" * 100000 + "]" * 100000
    response = scim_client.generic("POST", f"{BASE}/Users", body, content_type=SCIM_JSON)
    assert response.status_code == 400


def test_both_json_media_types_are_accepted(scim_client):
    body = json.dumps({"schemas": [USER], "userName": "json@contoso.com"})
    response = scim_client.generic(
        "POST", f"{BASE}/Users", body, content_type="application/json; charset=utf-8"
    )
    assert response.status_code == 201
    body = json.dumps({"schemas": [USER], "userName": "scim@contoso.com"})
    response = scim_client.generic(
        "POST", f"{BASE}/Users", body, content_type="application/scim+json; charset=utf-8"
    )
    assert response.status_code == 201


def test_form_bodies_are_invalid_syntax_never_415(scim_client):
    # docs/entra-behaviour.md: no 406/415 on SCIM routes; a body that is not JSON is a 400.
    response = scim_client.post(f"{BASE}/Users", {"userName": "form@contoso.com"})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidSyntax"
    assert response.json()["detail"].startswith("Could not decode the JSON body")


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", ""]
)
def test_a_json_body_is_read_whatever_its_media_type(scim_client, content_type):
    body = json.dumps({"schemas": [USER], "userName": f"{content_type or 'none'}@contoso.com"})
    response = scim_client.generic("POST", f"{BASE}/Users", body, content_type=content_type)
    assert response.status_code == 201, response.content


def test_any_accept_header_gets_scim_json(scim_client):
    for accept in ("", "text/html", "application/json", "*/*"):
        response = scim_client.get(f"{BASE}/Users", HTTP_ACCEPT=accept)
        assert response.status_code == 200
        assert response["Content-Type"] == SCIM_JSON


def test_oversized_bodies_are_413_before_parsing(scim_client):
    body = "x" * (2 * 1024 * 1024 + 1)  # not even JSON: it is never read
    response = scim_client.generic("POST", f"{BASE}/Users", body, content_type=SCIM_JSON)
    assert response.status_code == 413
    assert response.json() == error_body(413, "The request body is larger than 2097152 bytes.")


def test_unknown_query_parameters_are_ignored(scim_client):
    response = scim_client.get(f"{BASE}/Users?aadOptscim062020&foo=bar")
    assert response.status_code == 200


def test_a_conflict_names_the_user_name_and_no_database_text(scim_client, learner):
    response = scim_client.post_json(f"{BASE}/Users", {"userName": "ALICE@contoso.com"})
    assert response.status_code == 409
    assert response.json() == error_body(
        409, "userName ALICE@contoso.com already exists.", "uniqueness"
    )
    assert "constraint" not in response.content.decode().lower()


def test_missing_user_name_is_invalid_value(scim_client):
    response = scim_client.post_json(f"{BASE}/Users", {"schemas": [USER], "displayName": "x"})
    assert response.status_code == 400
    assert response.json() == error_body(400, "userName is required.", "invalidValue")


def test_too_long_values_are_invalid_value_not_a_database_error(scim_client, learner):
    response = scim_client.patch_ops(
        f"{BASE}/Users/{learner.scim_id}", {"op": "replace", "path": "title", "value": "x" * 300}
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    learner.refresh_from_db()
    assert learner.title == ""


def test_unexpected_errors_are_generic_scim_500s(scim_client, caplog):
    from django.db import connection

    # The fault is injected where Django runs SQL, not in our code.
    def explode(execute, sql, params, many, context):
        if 'INSERT INTO "accounts_user"' in sql:
            raise RuntimeError("secret database detail")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explode):
        response = scim_client.post_json(f"{BASE}/Users", {"userName": "boom@contoso.com"})
    assert response.status_code == 500
    assert response.json() == error_body(500, "An unexpected error occurred.")
    assert "secret database detail" not in response.content.decode()


def test_a_database_outage_is_a_scim_503_with_retry_after(scim_client, learner, monkeypatch):
    from django.db import OperationalError, connections

    def unavailable(self, *args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    # At the connection, below every query (the key lookup runs precompiled SQL).
    with monkeypatch.context() as patched:
        patched.setattr(type(connections["default"]), "cursor", unavailable)
        response = scim_client.get(f"{BASE}/Users/{learner.scim_id}")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json() == error_body(503, "The service is briefly unavailable.")


def test_a_database_outage_after_authentication_is_a_logged_503(scim_client, learner, company):
    from django.db import OperationalError, connection

    from integrations.models import ProvisioningEvent

    def users_table_unavailable(execute, sql, params, many, context):
        if 'FROM "accounts_user"' in sql:
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    # The key is checked (the middleware's query works); the resource's query fails, as it
    # would if the database went away between the two.
    with connection.execute_wrapper(users_table_unavailable):
        response = scim_client.get(f"{BASE}/Users/{learner.scim_id}")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json() == error_body(503, "The service is briefly unavailable.")
    # Answered by the view's error boundary, inside the middleware, which logs it.
    logged = ProvisioningEvent.objects.get(company=company, status_code=503)
    assert logged.detail == "The service is briefly unavailable."


def test_every_accounts_error_is_translated_to_a_scim_error():
    from qaportal.accounts.exceptions import AccountsError, InvalidManager
    from scim.http import scim_error_for

    for error in (AccountsError("An odd value."), InvalidManager("An odd value.")):
        translated = scim_error_for(error)
        assert (translated.status, translated.scim_type) == (400, "invalidValue")
        assert translated.detail == "An odd value."


def test_nul_characters_are_refused_before_the_database(scim_client):
    response = scim_client.post_json(f"{BASE}/Users", {"userName": "nul\u0000@contoso.com"})
    assert response.json() == error_body(400, "NUL characters are not allowed.", "invalidValue")
    response = scim_client.get(f"{BASE}/Users", {"filter": 'userName eq "a\x00"'})
    assert response.json()["scimType"] == "invalidFilter"


def test_huge_start_index_is_an_empty_page(scim_client, learner):
    body = scim_client.get(f"{BASE}/Users?startIndex=99999999999999999999999").json()
    assert (body["totalResults"], body["Resources"], body["startIndex"]) == (1, [], 10**9)
