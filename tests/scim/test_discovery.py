"""/ServiceProviderConfig, /Schemas and /ResourceTypes."""

from tests.scim.conftest import BASE, ENTERPRISE, GROUP, LIST_RESPONSE, USER, error_body

AUTH_SCHEME = {
    "type": "oauthbearertoken",
    "name": "OAuth Bearer Token",
    "description": "Authentication with the API key generated in QA Portal "
    "(Settings & Integrations > Microsoft Entra ID), sent as a bearer token.",
    "primary": True,
    "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
}


def test_service_provider_config_tells_the_truth(scim_client):
    response = scim_client.get(f"{BASE}/ServiceProviderConfig")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/scim+json"
    assert response.json() == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 2097152},
        "filter": {"supported": True, "maxResults": 100},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": True},
        "authenticationSchemes": [AUTH_SCHEME],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"https://testserver{BASE}/ServiceProviderConfig",
        },
    }


def test_resource_types_have_relative_endpoints(scim_client):
    body = scim_client.get(f"{BASE}/ResourceTypes").json()
    assert body["schemas"] == [LIST_RESPONSE]
    assert (body["totalResults"], body["itemsPerPage"], body["startIndex"]) == (2, 2, 1)
    assert body["Resources"][0] == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": USER,
        "meta": {
            "location": f"https://testserver{BASE}/ResourceTypes/User",
            "resourceType": "ResourceType",
        },
        "schemaExtensions": [{"schema": ENTERPRISE, "required": False}],
    }
    assert body["Resources"][1]["endpoint"] == "/Groups"
    assert scim_client.get(f"{BASE}/ResourceTypes/Group").json()["schema"] == GROUP


def test_schemas_list_core_user_enterprise_user_and_group(scim_client):
    response = scim_client.get(f"{BASE}/Schemas")
    body = response.json()
    assert body["schemas"] == [LIST_RESPONSE]
    assert [schema["id"] for schema in body["Resources"]] == [USER, ENTERPRISE, GROUP]
    assert "User Account" in response.content.decode()
    assert "null" not in response.content.decode()
    user = body["Resources"][0]
    assert [a["name"] for a in user["attributes"]] == [
        "userName",
        "externalId",
        "name",
        "displayName",
        "nickName",
        "title",
        "active",
        "emails",
        "phoneNumbers",
        "addresses",
        "groups",
    ]
    assert user["attributes"][0]["uniqueness"] == "server"
    assert user["attributes"][0]["caseExact"] is False
    assert user["meta"] == {
        "resourceType": "Schema",
        "location": f"https://testserver{BASE}/Schemas/{USER}",
    }
    enterprise = body["Resources"][1]
    assert [a["name"] for a in enterprise["attributes"]] == [
        "employeeNumber",
        "department",
        "manager",
    ]
    group = body["Resources"][2]
    assert [a["name"] for a in group["attributes"]] == ["displayName", "externalId", "members"]


def test_one_schema_by_id_and_an_unknown_one(scim_client):
    assert scim_client.get(f"{BASE}/Schemas/{GROUP}").json()["name"] == "Group"
    response = scim_client.get(f"{BASE}/Schemas/urn:nope")
    assert response.status_code == 404
    assert response.json() == error_body(404, "Schema urn:nope not found.")


def test_discovery_needs_the_key_too(db, client):
    assert client.get(f"{BASE}/Schemas").status_code == 401
