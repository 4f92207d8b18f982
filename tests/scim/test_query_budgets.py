"""SCIM query budgets, auth and the activity-log write included, at thousands of rows.

The tests run with real transactions (`transaction=True`), so the counts are what production
runs: no test-only savepoints. Each test warms the key first: a process trusts a key it read for
QA_KEY_CACHE_SECONDS (Entra sends a cycle's requests back to back, so most find it there), and
`last_used_at` is written at most once a minute per key; a cold key (one SELECT) and the first
request of a minute (one UPDATE) are measured apart.
"""

import re
import time
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from qaportal.accounts.models import Group, GroupMembership, User
from tests.scim.conftest import BASE, ENTERPRISE

pytestmark = pytest.mark.django_db(transaction=True)

POPULATION = 3000


@pytest.fixture
def many_learners(company):
    now = timezone.now()
    User.objects.bulk_create(
        User(
            company=company,
            role=User.Role.LEARNER,
            user_name=f"user{n}@contoso.com",
            work_email=f"user{n}@contoso.com",
            emails=[{"type": "work", "value": f"user{n}@contoso.com", "primary": True}],
            external_id=f"ext-{n}",
            display_name=f"User {n}",
            password="!",
            created_at=now,
        )
        for n in range(POPULATION)
    )
    return list(User.objects.filter(company=company, role=User.Role.LEARNER).order_by("id"))


@pytest.fixture(autouse=True)
def _keys_stay_trusted_while_measured(settings):
    """A warm key stays warm however long the fixtures take to load their thousands of rows."""
    settings.QA_KEY_CACHE_SECONDS = 60


@pytest.fixture
def warm_client(scim_client):
    assert scim_client.get(f"{BASE}/ServiceProviderConfig").status_code == 200
    return scim_client


@pytest.fixture
def teams_of(many_learners, company):
    """Every learner in two teams, so groups are rendered for each user of a page."""
    teams = [Group.objects.create(company=company, display_name=f"Team {n}") for n in range(2)]
    GroupMembership.objects.bulk_create(
        GroupMembership(group=team, user=user) for team in teams for user in many_learners
    )
    return teams


def test_filter_lookup_by_user_name_costs_two_queries(
    many_learners, teams_of, warm_client, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2) as captured:
        response = warm_client.get(f"{BASE}/Users?filter=userName+eq+%22USER42@contoso.com%22")
    assert response.json()["totalResults"] == 1
    assert len(response.json()["Resources"][0]["groups"]) == 2
    # userName is unique in the company: no ORDER BY, OFFSET or COUNT for Entra's match lookup.
    lookup = next(q["sql"] for q in captured.captured_queries if '"accounts_user"' in q["sql"])
    assert "ORDER BY" not in lookup.split("FROM", 1)[1].rsplit(")", 1)[-1]
    assert "OFFSET" not in lookup
    assert not any("COUNT(" in q["sql"] for q in captured.captured_queries)


def test_the_match_lookup_stays_inside_the_company(many_learners, other_company, warm_client):
    User.objects.create(
        company=other_company, role=User.Role.LEARNER, user_name="only@fabrikam.com", password="!"
    )
    response = warm_client.get(f"{BASE}/Users", {"filter": 'userName eq "ONLY@fabrikam.com"'})
    assert response.json()["totalResults"] == 0


@pytest.mark.parametrize(
    "query",
    [
        'externalId eq "ext-42"',
        'emails[type eq "work"].value eq "User42@Contoso.com"',
        'userName eq "nobody@contoso.com"',
    ],
)
def test_every_entra_matching_filter_costs_two_queries(
    many_learners, query, warm_client, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):
        response = warm_client.get(f"{BASE}/Users", {"filter": query})
    assert response.status_code == 200


def test_group_probe_costs_two_queries(teams_of, warm_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        response = warm_client.get(
            f"{BASE}/Groups?excludedAttributes=members&filter=displayName+eq+%22team+1%22"
        )
    assert response.json()["totalResults"] == 1


def test_get_user_by_id_costs_two_queries(
    many_learners, teams_of, warm_client, django_assert_max_num_queries
):
    user = many_learners[7]
    with django_assert_max_num_queries(2):
        response = warm_client.get(f"{BASE}/Users/{user.scim_id}")
    assert response.status_code == 200


def test_get_group_with_thousands_of_members_costs_two_queries(
    teams_of, warm_client, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):
        response = warm_client.get(f"{BASE}/Groups/{teams_of[0].scim_id}")
    assert len(response.json()["members"]) == POPULATION


def test_post_user_costs_one_query(many_learners, warm_client, django_assert_max_num_queries):
    body = {"schemas": [], "userName": "new@contoso.com", "active": True}
    with django_assert_max_num_queries(1) as captured:
        response = warm_client.post_json(f"{BASE}/Users", body)
    assert response.status_code == 201
    # One statement writes the user (scim_id included) and the activity-log row: one round
    # trip, one commit, never one without the other.
    [write] = [q["sql"] for q in captured.captured_queries if "INSERT INTO" in q["sql"]]
    assert write.startswith('WITH written AS (INSERT INTO "accounts_user"')
    assert 'INSERT INTO "integrations_provisioningevent"' in write
    assert not any(q["sql"].startswith("UPDATE") for q in captured.captured_queries)


def test_patch_with_many_operations_is_one_update(
    many_learners, warm_client, django_assert_max_num_queries
):
    user, manager = many_learners[5], many_learners[6]
    operations = [
        {"op": "Replace", "path": "displayName", "value": "Renamed"},
        {"op": "Replace", "path": "name.familyName", "value": "Family"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "new@contoso.com"},
        {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555"},
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": str(manager.scim_id)},
        {
            "op": "replace",
            "value": {"title": "Boss", f"{ENTERPRISE}:department": "Sales", "nickName": "B"},
        },
    ]
    with django_assert_max_num_queries(2) as captured:
        response = warm_client.patch_ops(f"{BASE}/Users/{user.scim_id}", *operations)
    assert response.status_code == 200
    # One UPDATE of the user, in the statement that writes the activity-log row too.
    [write] = [q["sql"] for q in captured.captured_queries if 'UPDATE "accounts_user"' in q["sql"]]
    assert write.startswith('WITH written AS (UPDATE "accounts_user"')
    assert 'INSERT INTO "integrations_provisioningevent"' in write


def test_list_page_of_a_hundred_costs_three_queries(
    many_learners, teams_of, warm_client, django_assert_max_num_queries
):
    with django_assert_max_num_queries(3) as captured:
        response = warm_client.get(f"{BASE}/Users?startIndex=1001&count=100")
    body = response.json()
    assert (body["totalResults"], body["itemsPerPage"], body["startIndex"]) == (
        POPULATION,
        100,
        1001,
    )
    sql = [q["sql"] for q in captured.captured_queries]
    # The page's ids are chosen in a plain sub-select (no manager join: an index-only scan),
    # in the order of the (company, role, id) index; only those rows get their groups.
    in_index_order = re.compile(
        r'"id" IN \(SELECT (\w+)\."id" AS "id" FROM "accounts_user" \1 WHERE .*?'
        r'ORDER BY \1\."company_id" ASC, \1\."role" ASC, (\1\."id"|1) ASC '
        r"LIMIT 100 OFFSET 1000\)"
    )
    assert any(in_index_order.search(statement) for statement in sql), sql
    # The total is the trigger-kept count, not a COUNT(*) over the company's users.
    assert any('FROM "accounts_companyusercount"' in statement for statement in sql)
    assert not any(statement.startswith("SELECT COUNT(*)") for statement in sql)
    ids = [user["id"] for user in body["Resources"]]
    assert ids == [str(user.scim_id) for user in many_learners[1000:1100]]


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's bound-parameter limit splits bulk inserts into batches; the budget is "
    "PostgreSQL's (production and CI)",
)
def test_group_patch_adding_five_thousand_members_is_bounded(
    company, warm_client, django_assert_max_num_queries
):
    now = timezone.now()
    users = User.objects.bulk_create(
        User(
            company=company,
            role=User.Role.LEARNER,
            user_name=f"member{n}@contoso.com",
            scim_id=uuid.uuid4(),
            password="!",
            created_at=now,
        )
        for n in range(5000)
    )
    team = Group.objects.create(company=company, display_name="Everyone")
    members = [{"$ref": None, "value": str(user.scim_id)} for user in users]
    started = time.monotonic()
    with django_assert_max_num_queries(7):
        response = warm_client.patch_ops(
            f"{BASE}/Groups/{team.scim_id}", {"op": "Add", "path": "members", "value": members}
        )
    # Far below Entra's request timeout, even on a slow CI machine.
    assert time.monotonic() - started < 10
    assert response.status_code == 204
    assert team.memberships.count() == 5000

    with django_assert_max_num_queries(7):
        response = warm_client.patch_ops(
            f"{BASE}/Groups/{team.scim_id}", {"op": "Remove", "path": "members", "value": members}
        )
    assert response.status_code == 204
    assert team.memberships.count() == 0


def test_first_request_of_a_minute_adds_one_last_used_update(
    scim_client, many_learners, django_assert_max_num_queries
):
    with django_assert_max_num_queries(4) as captured:
        scim_client.get(f"{BASE}/Users?filter=userName+eq+%22user1@contoso.com%22")
    updates = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1
    assert "last_used_at" in updates[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans")
@pytest.mark.parametrize(
    ("resource", "query", "index"),
    [
        ("user", 'userName eq "USER42@contoso.com"', "accounts_user_company_user_name_ci_uniq"),
        ("user", 'externalId eq "ext-42"', "accounts_user_company_extid"),
        (
            "user",
            'emails[type eq "work"].value eq "user42@contoso.com"',
            "accounts_user_company_email",
        ),
        ("group", 'displayName eq "team 1"', "accounts_group_company_display_name_ci_uniq"),
    ],
)
def test_entra_filters_are_served_by_per_company_indexes(
    company, many_learners, teams_of, resource, query, index
):
    from scim import selectors
    from scim.filters import GroupFilterQuery, UserFilterQuery

    Group.objects.bulk_create(
        Group(company=company, display_name=f"Bulk team {n}", scim_id=uuid.uuid4())
        for n in range(POPULATION)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_user; ANALYZE accounts_group")
    if resource == "user":
        queryset = selectors.user_queryset(company_id=company.pk)
        condition = UserFilterQuery.parse(query).condition
    else:
        queryset = selectors.group_queryset(company_id=company.pk)
        condition = GroupFilterQuery.parse(query).condition
    plan = queryset.filter(condition).order_by("id")[:100].explain()
    assert index in plan


def test_patch_setting_the_manager_stays_in_budget_even_with_a_cold_key(
    scim_client, many_learners, django_assert_max_num_queries
):
    user, manager = many_learners[5], many_learners[6]
    with django_assert_max_num_queries(4) as captured:
        response = scim_client.patch_ops(
            f"{BASE}/Users/{user.scim_id}",
            {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": str(manager.scim_id)},
            {"op": "Replace", "path": "title", "value": "Report"},
        )
    assert response.json()[ENTERPRISE]["manager"]["value"] == str(manager.scim_id)
    writes = [q["sql"] for q in captured.captured_queries if "UPDATE" in q["sql"]]
    assert len(writes) == 2  # the key's last_used_at, and the user with its activity row


def _explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans")
@pytest.mark.parametrize(
    ("resource", "sort_by", "index"),
    [
        ("Users", "userName", "accounts_user_company_user_name_ci_uniq"),
        ("Users", "displayName", "accounts_user_sort_display"),
        ("Users", "externalId", "accounts_user_sort_extid"),
        ("Users", "meta.created", "accounts_user_sort_created"),
        ("Users", "meta.lastModified", "accounts_user_sort_modified"),
        ("Groups", "displayName", "accounts_group_company_display_name_ci_uniq"),
        ("Groups", "externalId", "accounts_group_sort_extid"),
        ("Groups", "meta.created", "accounts_group_sort_created"),
        ("Groups", "meta.lastModified", "accounts_group_sort_modified"),
    ],
)
def test_sorted_pages_walk_a_per_company_index_and_cost_what_unsorted_ones_do(
    warm_client,
    company,
    other_company,
    many_learners,
    resource,
    sort_by,
    index,
    django_assert_max_num_queries,
):
    """RFC 7644 §3.4.2.3 sortBy: the page's ids come from an index scan (backwards for
    descending), never from sorting the company's rows, and a sorted page of 100 costs the
    three queries of an unsorted one."""
    now = timezone.now()
    for owner in (company, other_company):
        Group.objects.bulk_create(
            Group(
                company=owner,
                display_name=f"Bulk team {n}",
                external_id=f"g-{n}",
                scim_id=uuid.uuid4(),
                created_at=now,
            )
            for n in range(POPULATION)
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_user; ANALYZE accounts_group")
    for sort_order in ("ascending", "descending"):
        params = {"sortBy": sort_by, "sortOrder": sort_order, "startIndex": 1001, "count": 100}
        if resource == "Groups":
            params["excludedAttributes"] = "members"
        with django_assert_max_num_queries(3) as captured:
            response = warm_client.get(f"{BASE}/{resource}", params)
        assert response.json()["itemsPerPage"] == 100
        page_ids = next(
            re.search(r"IN \((SELECT .*? LIMIT 100 OFFSET 1000)\)", q["sql"])
            for q in captured.captured_queries
            if "OFFSET 1000" in q["sql"]
        )
        plan = _explain(page_ids.group(1))
        assert index in plan, plan
        assert "Sort" not in plan, plan
        assert ("Backward" in plan) == (sort_order == "descending"), plan


def test_search_by_post_costs_what_the_get_costs(
    warm_client, many_learners, teams_of, django_assert_max_num_queries
):
    """RFC 7644 §3.4.3: a SearchRequest is answered by the GET's selectors."""
    lookup = {"filter": 'userName eq "USER42@contoso.com"'}
    with django_assert_max_num_queries(2):
        response = warm_client.post_json(f"{BASE}/Users/.search", lookup)
    assert response.json()["totalResults"] == 1
    with django_assert_max_num_queries(3):
        response = warm_client.post_json(
            f"{BASE}/Users/.search", {"startIndex": 1001, "count": 100}
        )
    assert response.json()["itemsPerPage"] == 100
    probe = {"filter": 'displayName eq "team 1"', "excludedAttributes": ["members"]}
    with django_assert_max_num_queries(2):
        response = warm_client.post_json(f"{BASE}/Groups/.search", probe)
    assert response.json()["totalResults"] == 1


def test_a_root_search_costs_one_page_of_each_type_at_most(
    warm_client, many_learners, teams_of, django_assert_max_num_queries
):
    """POST /.search: the users' page and the groups' page, each with its total only when
    the page cannot tell it; never a query per resource."""
    across = {"startIndex": POPULATION - 10, "count": 100}
    # The users' page; the groups' member counts, then their members (as on a /Groups page,
    # held to MAX_MEMBERS_PER_LIST_PAGE); the activity row.
    with django_assert_max_num_queries(4):
        response = warm_client.post_json(f"{BASE}/.search", across)
    assert (response.json()["totalResults"], response.json()["itemsPerPage"]) == (
        POPULATION + 2,
        13,
    )
    with django_assert_max_num_queries(5):
        response = warm_client.post_json(f"{BASE}/.search", {"count": 100})
    assert (response.json()["totalResults"], response.json()["itemsPerPage"]) == (
        POPULATION + 2,
        100,
    )
