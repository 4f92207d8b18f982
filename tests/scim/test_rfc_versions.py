"""meta.created/lastModified/version and HTTP preconditions: RFC 7643 §3.1 (meta) and RFC 7644
§3.14 (versioning: ETag, If-Match, If-None-Match)."""

import re

import pytest

from qaportal.accounts.models import Group, User
from tests.factories import LearnerFactory
from tests.scim.conftest import BASE, GROUP, USER, error_body, weak_version

pytestmark = pytest.mark.django_db

WEAK_TAG = re.compile(r'^W/"[0-9a-f]+"$')


def _new_user(scim_client, user_name="v@contoso.com"):
    response = scim_client.post_json(f"{BASE}/Users", {"schemas": [USER], "userName": user_name})
    assert response.status_code == 201
    return response


def _new_group(scim_client, name="Versioned"):
    response = scim_client.post_json(f"{BASE}/Groups", {"schemas": [GROUP], "displayName": name})
    assert response.status_code == 201
    return response


@pytest.mark.parametrize("create", [_new_user, _new_group])
def test_rfc7643_s3_1_new_resource_created_equals_last_modified_and_version_is_the_etag(
    scim_client, create
):
    response = create(scim_client)
    meta = response.json()["meta"]
    assert meta["created"] == meta["lastModified"]
    assert WEAK_TAG.match(meta["version"])
    assert response["ETag"] == meta["version"]
    model = User if meta["resourceType"] == "User" else Group
    row = model.objects.get(scim_id=response.json()["id"])
    assert row.created_at == row.updated_at
    assert meta["version"] == weak_version(row.updated_at)


def test_rfc7644_s3_14_user_version_is_on_every_response_and_changes_with_every_change(
    scim_client,
):
    created = _new_user(scim_client)
    user_id, version = created.json()["id"], created["ETag"]
    url = f"{BASE}/Users/{user_id}"
    got = scim_client.get(url)
    assert got["ETag"] == got.json()["meta"]["version"] == version
    # A PATCH that changes nothing keeps the version.
    same = scim_client.patch_ops(
        url, {"op": "replace", "path": "userName", "value": "v@contoso.com"}
    )
    assert same.status_code == 200 and same["ETag"] == version
    patched = scim_client.patch_ops(url, {"op": "replace", "path": "title", "value": "Lead"})
    assert patched.status_code == 200
    assert patched["ETag"] == patched.json()["meta"]["version"] != version
    meta = patched.json()["meta"]
    assert meta["lastModified"] > meta["created"]
    put = scim_client.put_json(url, {"schemas": [USER], "userName": "v@contoso.com"})
    assert put.status_code == 200
    assert put["ETag"] == put.json()["meta"]["version"] not in (version, patched["ETag"])
    assert scim_client.get(url)["ETag"] == put["ETag"]


def test_rfc7644_s3_14_group_version_changes_with_members_and_names(scim_client, company):
    created = _new_group(scim_client)
    group_id, version = created.json()["id"], created["ETag"]
    url = f"{BASE}/Groups/{group_id}"
    member = LearnerFactory(company=company)
    added = scim_client.patch_ops(
        url, {"op": "Add", "path": "members", "value": [{"value": str(member.scim_id)}]}
    )
    # Entra's 204 carries no body, and still the new version.
    assert added.status_code == 204
    assert added["ETag"] != version
    got = scim_client.get(url)
    assert got["ETag"] == got.json()["meta"]["version"] == added["ETag"]
    renamed = scim_client.patch_ops(
        f"{url}?attributes=displayName",
        {"op": "Replace", "path": "displayName", "value": "Renamed"},
    )
    assert renamed.status_code == 200
    assert renamed["ETag"] not in (version, added["ETag"])
    put = scim_client.put_json(url, {"schemas": [GROUP], "displayName": "Renamed again"})
    assert put.status_code == 200
    assert put["ETag"] == put.json()["meta"]["version"] != renamed["ETag"]


@pytest.mark.parametrize("resource", ["Users", "Groups"])
def test_rfc7644_s3_14_if_none_match_on_get_is_304_without_body_while_unchanged(
    scim_client, resource
):
    created = _new_user(scim_client) if resource == "Users" else _new_group(scim_client)
    url, version = f"{BASE}/{resource}/{created.json()['id']}", created["ETag"]
    unchanged = scim_client.get(url, HTTP_IF_NONE_MATCH=version)
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged["ETag"] == version
    # The strong form of the same tag, a list holding it, and * all match.
    for header in (version.removeprefix("W/"), f'W/"0", {version}', "*"):
        assert scim_client.get(url, HTTP_IF_NONE_MATCH=header).status_code == 304
    stale = scim_client.get(url, HTTP_IF_NONE_MATCH='W/"1234"')
    assert stale.status_code == 200
    assert stale.json()["meta"]["version"] == version


def _stale_is_412(response):
    assert response.status_code == 412
    body = response.json()
    assert body["schemas"] == error_body(412)["schemas"]
    assert body["status"] == "412"
    assert "scimType" not in body
    assert "has changed" in body["detail"]


def test_rfc7644_s3_14_if_match_on_user_put_patch_delete(scim_client):
    created = _new_user(scim_client)
    url, old = f"{BASE}/Users/{created.json()['id']}", created["ETag"]
    current = scim_client.patch_ops(
        url, {"op": "replace", "path": "title", "value": "Lead"}, HTTP_IF_MATCH=old
    )
    assert current.status_code == 200
    new = current["ETag"]
    _stale_is_412(
        scim_client.patch_ops(
            url, {"op": "replace", "path": "title", "value": "X"}, HTTP_IF_MATCH=old
        )
    )
    _stale_is_412(
        scim_client.put_json(url, {"schemas": [USER], "userName": "x@c.com"}, HTTP_IF_MATCH=old)
    )
    _stale_is_412(scim_client.delete(url, HTTP_IF_MATCH=old))
    user = User.objects.get(scim_id=created.json()["id"])
    assert (user.title, user.user_name) == ("Lead", "v@contoso.com")
    put = scim_client.put_json(
        url, {"schemas": [USER], "userName": "v@contoso.com", "title": "Boss"}, HTTP_IF_MATCH="*"
    )
    assert put.status_code == 200
    assert scim_client.delete(url, HTTP_IF_MATCH=new).status_code == 412
    assert scim_client.delete(url, HTTP_IF_MATCH=put["ETag"]).status_code == 204
    assert not User.objects.filter(scim_id=created.json()["id"]).exists()


def test_rfc7644_s3_14_if_match_on_group_put_patch_delete(scim_client):
    created = _new_group(scim_client)
    url, old = f"{BASE}/Groups/{created.json()['id']}", created["ETag"]
    renamed = scim_client.patch_ops(
        url, {"op": "replace", "path": "displayName", "value": "B"}, HTTP_IF_MATCH=old
    )
    assert renamed.status_code == 204
    _stale_is_412(
        scim_client.patch_ops(
            url, {"op": "replace", "path": "displayName", "value": "C"}, HTTP_IF_MATCH=old
        )
    )
    _stale_is_412(
        scim_client.put_json(url, {"schemas": [GROUP], "displayName": "D"}, HTTP_IF_MATCH=old)
    )
    _stale_is_412(scim_client.delete(url, HTTP_IF_MATCH=old))
    assert Group.objects.get(scim_id=created.json()["id"]).display_name == "B"
    assert scim_client.delete(url, HTTP_IF_MATCH=renamed["ETag"]).status_code == 204


def test_rfc7644_s3_14_if_match_on_a_missing_resource_is_404(scim_client):
    url = f"{BASE}/Users/00000000-0000-4000-8000-000000000000"
    assert scim_client.delete(url, HTTP_IF_MATCH="*").status_code == 404


def test_rfc7644_s3_14_service_provider_config_says_etag_is_supported(scim_client):
    response = scim_client.get(f"{BASE}/ServiceProviderConfig")
    assert response.json()["etag"] == {"supported": True}
