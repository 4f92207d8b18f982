"""The activity log through the API: the page's filters, search and cursor pagination."""

import base64
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import ProvisioningEvent
from integrations.services import provisioning_event_record
from tests.api.conftest import API
from tests.factories import LearnerFactory, member_changes

pytestmark = pytest.mark.django_db

OUTCOME = ProvisioningEvent.Outcome
ACTIVITY = f"{API}/activity/"
# More than any walk below needs: a cursor that keeps pointing on fails the test, never hangs it.
MAX_PAGES = 50


def record(company, *, operation, name="", outcome=OUTCOME.SUCCESS, minutes_ago=0, **fields):
    resource_type = {"user": "User", "group": "Group"}.get(operation.rsplit("_", 1)[-1], "")
    if operation.endswith("members"):
        resource_type = "Group"
    return provisioning_event_record(
        company_id=company.pk if company else None,
        api_key_id=None,
        method="POST",
        path="/webhooks/ad/v1/scim/Users",
        operation=operation,
        resource_type=resource_type,
        resource_name=name,
        status_code={"success": 201, "failed": 409, "rejected_key": 401}[outcome],
        outcome=outcome,
        now=timezone.now() - timedelta(minutes=minutes_ago),
        **fields,
    )


@pytest.fixture
def log(company, other_company):
    events = {
        "alice": record(company, operation="create_user", name="alice@contoso.com", minutes_ago=5),
        "bob": record(
            company,
            operation="create_user",
            name="Bob@contoso.com",
            outcome=OUTCOME.FAILED,
            scim_type="uniqueness",
            detail="userName is taken",
            minutes_ago=4,
        ),
        "sales": record(
            company,
            operation="add_members",
            name="Sales",
            changes=member_changes(added=3),
            minutes_ago=3,
        ),
        "refused": record(
            company, operation="list_users", outcome=OUTCOME.REJECTED_KEY, minutes_ago=2
        ),
        "alina": record(
            company, operation="deactivate_user", name="alina@contoso.com", minutes_ago=1
        ),
    }
    # Another company's rows and a request whose key was never found: never listed.
    record(other_company, operation="create_user", name="alice@contoso.com")
    record(None, operation="list_users", outcome=OUTCOME.REJECTED_KEY)
    return events


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_activity_is_the_companys_newest_first(api_client, log):
    response = api_client.get(ACTIVITY)

    assert ids(response) == [log[name].pk for name in ("alina", "refused", "sales", "bob", "alice")]
    bob = response.json()["results"][3]
    assert bob == {
        "id": log["bob"].pk,
        "created_at": bob["created_at"],
        "summary": "Create person Bob@contoso.com",
        "method": "POST",
        "path": "/webhooks/ad/v1/scim/Users",
        "operation": "create_user",
        "resource_type": "User",
        "resource_id": "",
        "resource_name": "Bob@contoso.com",
        "status_code": 409,
        "outcome": "failed",
        "scim_type": "uniqueness",
        "detail": "userName is taken",
        "changes": {},
        "duration_ms": 0,
        "key": None,
    }
    sales = response.json()["results"][2]
    assert sales["summary"] == "Added 3 members to Sales"
    assert sales["changes"]["members"]["added"] == {"count": 3, "ids": []}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("outcome=success", ["alina", "sales", "alice"]),
        ("outcome=failed", ["bob"]),
        ("outcome=rejected_key", ["refused"]),
        ("operation=create_user", ["bob", "alice"]),
        ("resource_type=Group", ["sales"]),
        ("resource_type=User", ["alina", "bob", "alice"]),
        ("search=alice@contoso.com", ["alice"]),
        ("search=BOB@CONTOSO.COM", ["bob"]),  # any case
        ("search=sales", ["sales"]),
        ("search=LICE@", ["alice"]),  # any part of a name, as the activity page searches
        ("search=nobody", []),
        ("search=alice@contoso.com&outcome=success&operation=create_user", ["alice"]),
        ("search=alice@contoso.com&outcome=failed", []),
        (
            "outcome=&operation=&resource_type=&search=",
            ["alina", "refused", "sales", "bob", "alice"],
        ),
    ],
)
def test_activity_filters_match_the_activity_page(api_client, log, query, expected):
    assert ids(api_client.get(f"{ACTIVITY}?{query}")) == [log[name].pk for name in expected]


@pytest.mark.parametrize(
    "query", ["outcome=ok", "operation=drop_table", "resource_type=user", f"search={'x' * 257}"]
)
def test_invalid_filters_are_a_400_naming_the_field(api_client, log, query):
    response = api_client.get(f"{ACTIVITY}?{query}")

    assert response.status_code == 400
    assert list(response.json()) == [query.split("=")[0]]


def test_a_nul_character_in_the_search_is_a_400_not_a_database_error(api_client, log):
    response = api_client.get(f"{ACTIVITY}?search=al%00ice")

    assert response.status_code == 400
    assert "search" in response.json()


def test_cursor_pagination_walks_every_row_once_while_new_rows_arrive(api_client, company, log):
    seen: list[int] = []
    url = f"{ACTIVITY}?page_size=2"
    for _ in range(MAX_PAGES):  # a cursor that never ends fails the test, never hangs it
        response = api_client.get(url)
        seen += ids(response)
        url = response.json()["next"]
        # Entra keeps syncing while a script pages through the log.
        record(company, operation="list_users")
        if not url:
            break
    else:
        pytest.fail(f"still a next page after {MAX_PAGES} pages")

    assert seen == [log[name].pk for name in ("alina", "refused", "sales", "bob", "alice")]


def test_a_forged_or_garbled_cursor_is_a_404(api_client, log):
    forged = base64.b64encode(b"p=not-a-date").decode()
    for cursor in ("garbage", forged, base64.b64encode(b"p=1&r=maybe").decode()):
        response = api_client.get(f"{ACTIVITY}?cursor={cursor}")
        assert response.status_code == 404
        assert response.json() == {"detail": "Invalid cursor"}


def test_page_size_is_from_1_to_200_and_50_by_default(api_client, company):
    for minute in range(205):
        record(company, operation="list_users", minutes_ago=minute)

    assert len(ids(api_client.get(ACTIVITY))) == 50
    assert len(ids(api_client.get(f"{ACTIVITY}?page_size=200"))) == 200
    for wrong in ("", "0", "201", "-3", "0.5", "ten", "²"):
        response = api_client.get(f"{ACTIVITY}?page_size={wrong}")
        assert response.status_code == 400
        assert response.json() == {"page_size": ["A whole number from 1 to 200."]}


def test_an_activity_page_costs_the_same_few_queries_however_long_the_log(
    api_client, company, log, django_assert_max_num_queries
):
    for minute in range(300):
        record(company, operation="create_user", name=f"u{minute}@contoso.com")

    # Session, user, the user's company, the page (one indexed query, no COUNT).
    with django_assert_max_num_queries(4):
        assert api_client.get(f"{ACTIVITY}?outcome=success").status_code == 200


def test_a_forged_cursor_of_the_people_and_team_lists_is_a_404(api_client, learner, team):
    for position in (b"p=abc", b"p=99999999999999999999999"):
        cursor = base64.b64encode(position).decode()
        for url in (f"{API}/users/", f"{API}/groups/"):
            response = api_client.get(f"{url}?cursor={cursor}")
            assert response.status_code == 404
            assert response.json() == {"detail": "Invalid cursor"}


def test_people_and_team_lists_page_by_cursor(api_client, company):
    people = [LearnerFactory(company=company) for _ in range(5)]
    seen: list[str] = []
    url = f"{API}/users/?page_size=2"
    for _ in range(MAX_PAGES):
        body = api_client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
        if not url:
            break
    else:
        pytest.fail(f"still a next page after {MAX_PAGES} pages")

    assert seen == [str(person.scim_id) for person in people]
