"""Every SCIM request is one ProvisioningEvent, rejected ones included."""

from django.forms.models import model_to_dict

from integrations.models import ProvisioningEvent
from integrations.services import api_key_revoke
from tests.scim.conftest import BASE, ScimClient


def only_event():
    assert ProvisioningEvent.objects.count() == 1
    event = ProvisioningEvent.objects.get()
    return event, model_to_dict(event, exclude=["id", "created_at", "duration_ms"])


def test_a_create_is_logged(scim_client, company, generated_key):
    response = scim_client.post_json(
        f"{BASE}/Users?aadOptscim062020", {"userName": "alice@contoso.com"}
    )
    event, row = only_event()
    assert row == {
        "company": company.pk,
        "api_key": generated_key.api_key.pk,
        "method": "POST",
        "path": f"{BASE}/Users",
        "operation": "create_user",
        "resource_type": "User",
        "resource_id": response.json()["id"],
        "resource_name": "alice@contoso.com",
        "status_code": 201,
        "outcome": "success",
        "scim_type": "",
        "detail": "",
        "changes": {
            "attributes": [
                {"name": "userName", "old": None, "new": "alice@contoso.com"},
                {"name": "active", "old": None, "new": True},
            ]
        },
    }
    assert event.duration_ms >= 0


def test_a_filter_lookup_is_logged_with_the_matched_name_and_no_query(scim_client):
    scim_client.get(f"{BASE}/Users?filter=userName+eq+%22bob@contoso.com%22")
    _, row = only_event()
    assert (row["operation"], row["path"], row["resource_name"], row["outcome"]) == (
        "filter_users",
        f"{BASE}/Users",
        "bob@contoso.com",
        "success",
    )


def test_deactivation_and_reactivation_are_named(scim_client, learner):
    url = f"{BASE}/Users/{learner.scim_id}"
    scim_client.patch_ops(url, {"op": "Replace", "path": "active", "value": "False"})
    scim_client.patch_ops(url, {"op": "Replace", "path": "active", "value": "True"})
    scim_client.patch_ops(url, {"op": "Replace", "path": "title", "value": "T"})
    scim_client.delete(url)
    rows = ProvisioningEvent.objects.order_by("id").values_list(
        "operation", "resource_name", "detail", "changes"
    )
    old_title = learner.title
    assert list(rows) == [
        (
            "deactivate_user",
            "alice@contoso.com",
            "",
            {"attributes": [{"name": "active", "old": True, "new": False}]},
        ),
        (
            "reactivate_user",
            "alice@contoso.com",
            "",
            {"attributes": [{"name": "active", "old": False, "new": True}]},
        ),
        (
            "update_user",
            "alice@contoso.com",
            "",
            {"attributes": [{"name": "title", "old": old_title, "new": "T"}]},
        ),
        ("delete_user", "alice@contoso.com", "", {}),
    ]


def test_member_changes_are_named_and_counted(scim_client, team, learner):
    url = f"{BASE}/Groups/{team.scim_id}"
    scim_client.patch_ops(
        url, {"op": "Add", "path": "members", "value": [{"value": str(learner.scim_id)}]}
    )
    scim_client.patch_ops(
        url, {"op": "Remove", "path": "members", "value": [{"value": str(learner.scim_id)}]}
    )
    scim_client.patch_ops(url, {"op": "Replace", "path": "displayName", "value": "Sales EMEA"})
    rows = ProvisioningEvent.objects.order_by("id").values_list(
        "operation", "resource_type", "resource_name", "changes"
    )
    member = str(learner.scim_id)
    assert list(rows) == [
        (
            "add_members",
            "Group",
            "Sales",
            {
                "members": {
                    "added": {"count": 1, "ids": [member]},
                    "removed": {"count": 0, "ids": []},
                    "replaced": False,
                }
            },
        ),
        (
            "remove_members",
            "Group",
            "Sales",
            {
                "members": {
                    "added": {"count": 0, "ids": []},
                    "removed": {"count": 1, "ids": [member]},
                    "replaced": False,
                }
            },
        ),
        (
            "update_group",
            "Group",
            "Sales EMEA",
            {"attributes": [{"name": "displayName", "old": "Sales", "new": "Sales EMEA"}]},
        ),
    ]


def test_failures_keep_the_scim_type_and_detail(scim_client, learner):
    scim_client.post_json(f"{BASE}/Users", {"userName": "alice@contoso.com"})
    _, row = only_event()
    assert (row["status_code"], row["outcome"], row["scim_type"], row["detail"]) == (
        409,
        "failed",
        "uniqueness",
        "userName alice@contoso.com already exists.",
    )


def test_requests_without_a_valid_key_are_logged_per_address_and_minute_not_as_rows(db, caplog):
    """No company can see them, and a row each would let anyone grow the table: one server
    log line per client address and minute says who tried, how often and why."""
    from scim.middleware import unauthenticated_attempts

    unauthenticated_attempts.flush()  # what earlier tests left
    caplog.clear()
    for _ in range(5):
        response = ScimClient(HTTP_AUTHORIZATION="Bearer qa_scim_nope").get(f"{BASE}/Users")
        assert response.status_code == 401
    ScimClient().get(f"{BASE}/Users", REMOTE_ADDR="10.1.2.3")
    assert not ProvisioningEvent.objects.exists()
    with caplog.at_level("WARNING", logger="scim.middleware"):
        unauthenticated_attempts.flush()  # as the next minute's first attempt does
    lines = [r.getMessage() for r in caplog.records if r.name == "scim.middleware"]
    assert len(lines) == 2
    assert any("from 127.0.0.1" in line and ": 5 (malformed)" in line for line in lines)
    assert any("from 10.1.2.3" in line and ": 1 (missing)" in line for line in lines)


def test_the_attempts_of_a_minute_are_logged_when_the_next_minute_starts(caplog):
    from scim.middleware import UnauthenticatedAttempts

    attempts = UnauthenticatedAttempts()
    with caplog.at_level("WARNING", logger="scim.middleware"):
        attempts.add(client_ip="192.0.2.1", reason="unknown", now=60 * 1000 + 5)
        attempts.add(client_ip="192.0.2.1", reason="unknown", now=60 * 1000 + 50)
        assert caplog.records == []
        attempts.add(client_ip="192.0.2.9", reason="missing", now=60 * 1001 + 1)
    [line] = [r.getMessage() for r in caplog.records]
    assert "192.0.2.1" in line and ": 2 (unknown)" in line


def test_a_revoked_key_is_logged_for_the_company_that_owned_it(generated_key, admin_user, company):
    api_key_revoke(api_key=generated_key.api_key, revoked_by=admin_user)
    ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}").get(f"{BASE}/Users")
    _, row = only_event()
    assert (row["company"], row["api_key"], row["outcome"], row["status_code"]) == (
        company.pk,
        generated_key.api_key.pk,
        "rejected_key",
        401,
    )
    assert "revoked" in row["detail"]


def test_no_event_ever_holds_the_key_or_the_header(scim_client, generated_key, learner, caplog):
    scim_client.get(f"{BASE}/Users?filter=userName+eq+%22alice@contoso.com%22")
    scim_client.patch_ops(
        f"{BASE}/Users/{learner.scim_id}", {"op": "Replace", "path": "active", "value": "False"}
    )
    ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}x").get(f"{BASE}/Users")
    stored = " ".join(str(model_to_dict(e)) for e in ProvisioningEvent.objects.all())
    assert ProvisioningEvent.objects.count() == 2  # the refused key named no company: no row
    assert generated_key.plaintext not in stored
    assert "Bearer" not in stored
    assert generated_key.plaintext not in caplog.text


def test_unknown_endpoints_and_discovery_are_logged(scim_client):
    scim_client.get(f"{BASE}/Nope")
    scim_client.get(f"{BASE}/Schemas")
    rows = ProvisioningEvent.objects.order_by("id").values_list("operation", "status_code")
    assert list(rows) == [("unsupported_endpoint", 404), ("get_schemas", 200)]


def test_long_values_are_cut_to_fit(scim_client):
    long_name = "x" * 300 + "@contoso.com"
    scim_client.get(f"{BASE}/Users", {"filter": f'userName eq "{long_name}"'})
    _, row = only_event()
    assert row["resource_name"] == long_name[:256]


def test_hostile_ids_are_logged_without_breaking_the_log(scim_client):
    response = scim_client.get(f"{BASE}/Users/%00abc")
    assert response.status_code == 404
    _, row = only_event()
    assert row["resource_id"] == "abc"


def test_each_key_logs_for_its_own_company(scim_client, other_scim_client, company, other_company):
    scim_client.get(f"{BASE}/Users")
    other_scim_client.get(f"{BASE}/Groups")
    rows = ProvisioningEvent.objects.order_by("id").values_list("company_id", "operation")
    assert list(rows) == [(company.pk, "list_users"), (other_company.pk, "list_groups")]
