"""Filters, pagination and attribute projection on /Users."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import LearnerFactory
from tests.scim.conftest import BASE, ENTERPRISE, LIST_RESPONSE


@pytest.fixture
def users(company):
    people = []
    for n in range(5):
        people.append(
            LearnerFactory(
                company=company,
                user_name=f"user{n}@contoso.com",
                external_id=f"ext-{n}",
                display_name=f"User {n}",
                emails=[{"type": "work", "value": f"User{n}@Contoso.com"}],
                work_email=f"User{n}@Contoso.com",
                employee_number=f"E{n}",
            )
        )
    return people


def ids(response):
    return [resource["id"] for resource in response.json()["Resources"]]


@pytest.mark.parametrize(
    "query",
    [
        'userName eq "USER3@contoso.com"',
        'externalId eq "ext-3"',
        'emails[type eq "work"].value eq "user3@contoso.com"',
        'displayName eq "user 3"',
        'id eq "{id}"',
        'userName eq "user3@contoso.com" and externalId eq "ext-3"',
        f'{ENTERPRISE}:employeeNumber eq "E3"',
        'UserName EQ "user3@contoso.com"',
        'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "user3@contoso.com"',
    ],
)
def test_entra_filters_match_one_user(scim_client, users, query):
    response = scim_client.get(f"{BASE}/Users", {"filter": query.format(id=users[3].scim_id)})
    assert response.status_code == 200
    assert ids(response) == [str(users[3].scim_id)]


def test_external_id_is_case_exact(scim_client, users):
    assert ids(scim_client.get(f"{BASE}/Users", {"filter": 'externalId eq "EXT-3"'})) == []


def test_id_and_manager_reference_check(scim_client, users):
    users[1].manager = users[0]
    users[1].save()
    query = f'id eq "{users[1].scim_id}" and manager eq "{users[0].scim_id}"'
    assert ids(scim_client.get(f"{BASE}/Users", {"filter": query, "attributes": "id"})) == [
        str(users[1].scim_id)
    ]


def test_no_match_is_an_empty_list_never_404(scim_client, users):
    response = scim_client.get(
        f"{BASE}/Users?filter=userName+eq+%227d420df3-9995-4831-a406-ecf8166f5f6a%22"
    )
    assert response.status_code == 200
    assert response.json() == {
        "schemas": [LIST_RESPONSE],
        "totalResults": 0,
        "Resources": [],
        "startIndex": 1,
        "itemsPerPage": 0,
    }


@pytest.mark.parametrize(
    "query",
    [
        'nosuch eq "x"',
        'userName regex "x"',
        "userName eq",
        'emails.value eq "x"',
        'userName eq "a" and',
        "((",
        'active eq "maybe"',
        'userName gt "a"',
    ],
)
def test_unsupported_or_malformed_filters_are_invalid_filter(scim_client, query):
    response = scim_client.get(f"{BASE}/Users", {"filter": query})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


def test_other_operators_work_too(scim_client, users):
    assert len(ids(scim_client.get(f"{BASE}/Users", {"filter": 'userName sw "USER"'}))) == 5
    assert len(ids(scim_client.get(f"{BASE}/Users", {"filter": 'userName co "3@"'}))) == 1
    assert (
        len(
            ids(
                scim_client.get(
                    f"{BASE}/Users",
                    {
                        "filter": 'userName eq "user1@contoso.com" or '
                        'userName eq "user2@contoso.com"'
                    },
                )
            )
        )
        == 2
    )
    assert (
        len(
            ids(
                scim_client.get(
                    f"{BASE}/Users", {"filter": 'not (userName eq "user1@contoso.com")'}
                )
            )
        )
        == 4
    )
    assert len(ids(scim_client.get(f"{BASE}/Users", {"filter": "active eq true"}))) == 5
    assert (
        len(
            ids(
                scim_client.get(
                    f"{BASE}/Users", {"filter": 'meta.created gt "2000-01-01T00:00:00Z"'}
                )
            )
        )
        == 5
    )


def test_pages_are_stable_and_one_based(scim_client, users):
    body = scim_client.get(f"{BASE}/Users?startIndex=2&count=2").json()
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (5, 2, 2)
    assert [r["id"] for r in body["Resources"]] == [str(users[1].scim_id), str(users[2].scim_id)]
    last = scim_client.get(f"{BASE}/Users?startIndex=5&count=5").json()
    assert (last["itemsPerPage"], last["totalResults"]) == (1, 5)
    beyond = scim_client.get(f"{BASE}/Users?startIndex=50&count=5").json()
    assert (beyond["itemsPerPage"], beyond["totalResults"], beyond["Resources"]) == (0, 5, [])


@pytest.mark.parametrize("start", ["0", "-3"])
def test_start_index_below_one_is_one(scim_client, users, start):
    body = scim_client.get(f"{BASE}/Users?startIndex={start}&count=1").json()
    assert (body["startIndex"], ids_of(body)) == (1, [str(users[0].scim_id)])


def ids_of(body):
    return [r["id"] for r in body["Resources"]]


def test_count_zero_returns_only_the_total(scim_client, users):
    body = scim_client.get(f"{BASE}/Users?count=0").json()
    assert body == {
        "schemas": [LIST_RESPONSE],
        "totalResults": 5,
        "Resources": [],
        "startIndex": 1,
        "itemsPerPage": 0,
    }


def test_count_is_capped_at_max_results(scim_client, company):
    LearnerFactory.create_batch(105, company=company)
    body = scim_client.get(f"{BASE}/Users?count=1000").json()
    assert (body["totalResults"], body["itemsPerPage"]) == (105, 100)


def test_non_numeric_paging_is_invalid_value(scim_client):
    response = scim_client.get(f"{BASE}/Users?count=ten")
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"


def test_attributes_and_excluded_attributes(scim_client, users):
    users[0].department = "Sales"
    users[0].save()
    url = f"{BASE}/Users/{users[0].scim_id}"
    only = scim_client.get(
        url, {"attributes": f"userName,name.givenName,{ENTERPRISE}:department"}
    ).json()
    assert only == {
        "schemas": only["schemas"],
        "id": str(users[0].scim_id),
        "userName": "user0@contoso.com",
        "name": {"givenName": "Lee"},
        ENTERPRISE: {"department": "Sales"},
    }
    without = scim_client.get(url, {"excludedAttributes": "emails,meta,name.familyName"}).json()
    assert "emails" not in without and "meta" not in without
    assert without["name"] == {"givenName": "Lee"}
    listed = scim_client.get(
        f"{BASE}/Users", {"attributes": "userName", "filter": 'userName eq "user0@contoso.com"'}
    ).json()
    assert listed["Resources"] == [
        {
            "schemas": listed["Resources"][0]["schemas"],
            "id": str(users[0].scim_id),
            "userName": "user0@contoso.com",
        }
    ]


def test_an_empty_filter_lists_everyone(scim_client, users):
    # The reference Postman collection calls /Users/?filter= (SCIMReferenceCode#44).
    body = scim_client.get(f"{BASE}/Users/?filter=").json()
    assert body["totalResults"] == 5


def test_a_naive_date_filter_is_read_as_utc(scim_client, users):
    after = scim_client.get(
        f"{BASE}/Users", {"filter": 'meta.lastModified gt "2024-01-01T00:00:00"'}
    )
    assert after.status_code == 200, after.content
    assert sorted(ids(after)) == sorted(str(u.scim_id) for u in users)
    before = scim_client.get(f"{BASE}/Groups", {"filter": 'meta.created lt "2000-01-01T00:00:00"'})
    assert before.status_code == 200, before.content
    assert before.json()["totalResults"] == 0


@pytest.mark.parametrize(
    "moment", ["2020-13-45T00:00:00Z", "2021-02-30T00:00:00", "2020-01-01T25:00:00+01:00"]
)
def test_an_impossible_date_is_invalid_filter(scim_client, users, moment):
    for resource in ("Users", "Groups"):
        response = scim_client.get(
            f"{BASE}/{resource}", {"filter": f'meta.lastModified gt "{moment}"'}
        )
        assert response.status_code == 400, response.content
        assert response.json()["scimType"] == "invalidFilter"


@pytest.mark.parametrize(
    "text",
    [
        'userName eq "alice@contoso.com"',
        'UserName EQ "Alice@Contoso.com"',
        '  externalId eq "E-1"  ',
        'displayName eq ""',
        'id eq "not-a-uuid"',
        'id eq "0b9f0f64-6e2f-4f0f-9a0e-2f7c1c0b6e11"',
        'active eq "false"',
        'nickName eq "Babs"',
        'userName eq "back\\slash"',
    ],
)
def test_a_single_eq_reads_as_the_grammar_reads_it(text):
    """Entra's lookups skip the filter grammar; the answer is the grammar's own (the words
    true, false and null, and backslashes, are left to the grammar)."""
    from scim.filters import UserFilterQuery

    fast = UserFilterQuery.parse(text)
    grammar = UserFilterQuery.parse(f"({text.strip()})")  # parentheses: the grammar's path
    assert (str(fast.condition), fast.eq_values, fast.unique_eq) == (
        str(grammar.condition),
        grammar.eq_values,
        grammar.unique_eq,
    )


def test_pages_read_in_order_seek_from_where_the_last_one_ended(scim_client, company):
    """Clients page in order: the next page starts from the previous page's last id (a keyset
    seek, no OFFSET walk), with the same answer a walk gives; a deletion forgets the starts."""
    people = LearnerFactory.create_batch(7, company=company)
    expected = [str(person.scim_id) for person in sorted(people, key=lambda p: p.pk)]

    first = scim_client.get(f"{BASE}/Users?startIndex=1&count=3").json()
    with CaptureQueriesContext(connection) as second_queries:
        second = scim_client.get(f"{BASE}/Users?startIndex=4&count=3").json()
    third = scim_client.get(f"{BASE}/Users?startIndex=7&count=3").json()

    assert ids_of(first) + ids_of(second) + ids_of(third) == expected
    assert third["totalResults"] == 7
    assert not any("OFFSET" in query["sql"] for query in second_queries.captured_queries)

    assert scim_client.delete(f"{BASE}/Users/{expected[1]}").status_code == 204
    again = scim_client.get(f"{BASE}/Users?startIndex=4&count=3").json()
    assert ids_of(again) == expected[4:7]


def test_a_page_asked_out_of_order_is_walked_and_the_next_one_sought(scim_client, company):
    people = LearnerFactory.create_batch(6, company=company)
    expected = [str(person.scim_id) for person in sorted(people, key=lambda p: p.pk)]
    assert ids_of(scim_client.get(f"{BASE}/Users?startIndex=3&count=2").json()) == expected[2:4]
    assert ids_of(scim_client.get(f"{BASE}/Users?startIndex=5&count=2").json()) == expected[4:6]
    assert ids_of(scim_client.get(f"{BASE}/Users?startIndex=2&count=2").json()) == expected[1:3]


def test_a_negative_count_is_read_as_zero_in_a_query_and_in_a_search(scim_client, users):
    """RFC 7644 §3.4.2.4: a negative count SHALL be interpreted as 0."""
    listed = scim_client.get(f"{BASE}/Users?count=-5").json()
    searched = scim_client.post_json(f"{BASE}/Users/.search", {"count": -5}).json()
    assert listed == searched
    assert (listed["totalResults"], listed["itemsPerPage"], listed["Resources"]) == (5, 0, [])
