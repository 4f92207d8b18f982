"""Search by POST (RFC 7644 §3.4.3): /Users/.search, /Groups/.search and /.search."""

import pytest

from integrations.models import ProvisioningEvent
from qaportal.accounts.models import Group, GroupMembership, User
from tests.factories import LearnerFactory, TeamFactory
from tests.scim.conftest import BASE, LIST_RESPONSE, error_body

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def search_request(**members):
    return {"schemas": [SEARCH], **members}


@pytest.fixture
def people(company):
    return [
        LearnerFactory(
            company=company,
            user_name=f"user{n}@contoso.com",
            display_name=f"User {n}",
            external_id=f"ext-{n}",
            emails=[{"type": "work", "value": f"user{n}@contoso.com"}],
            work_email=f"user{n}@contoso.com",
        )
        for n in range(5)
    ]


@pytest.fixture
def teams(company, people):
    teams = [TeamFactory(company=company, display_name=name) for name in ("Sales", "User 2")]
    GroupMembership.objects.create(group=teams[0], user=people[1])
    return teams


def ids(response):
    assert response.status_code == 200, response.content
    return [resource["id"] for resource in response.json()["Resources"]]


@pytest.mark.parametrize(
    ("get_params", "search"),
    [
        ({}, {}),
        (
            {"filter": 'userName eq "USER3@contoso.com"'},
            {"filter": 'userName eq "USER3@contoso.com"'},
        ),
        (
            {"filter": 'displayName sw "user"', "startIndex": "2", "count": "2"},
            {"filter": 'displayName sw "user"', "startIndex": 2, "count": 2},
        ),
        (
            {"attributes": "userName,name.givenName", "sortBy": "userName"},
            {"attributes": ["userName", "name.givenName"], "sortBy": "userName"},
        ),
        (
            {"excludedAttributes": "emails,groups", "sortBy": "displayName"},
            {"excludedAttributes": ["emails", "groups"], "sortBy": "displayName"},
        ),
        (
            {"sortBy": "externalId", "sortOrder": "descending", "count": "3"},
            {"sortBy": "externalId", "sortOrder": "descending", "count": 3},
        ),
    ],
)
def test_a_user_search_answers_exactly_what_the_get_answers(
    scim_client, people, teams, get_params, search
):
    expected = scim_client.get(f"{BASE}/Users", get_params)
    response = scim_client.post_json(f"{BASE}/Users/.search", search_request(**search))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/scim+json"
    assert response.json() == expected.json()
    assert response.json()["schemas"] == [LIST_RESPONSE]


def test_a_group_search_answers_exactly_what_the_get_answers(scim_client, teams):
    expected = scim_client.get(
        f"{BASE}/Groups", {"filter": 'displayName eq "sales"', "excludedAttributes": "members"}
    )
    response = scim_client.post_json(
        f"{BASE}/Groups/.search",
        search_request(filter='displayName eq "sales"', excludedAttributes=["members"]),
    )
    assert response.json() == expected.json()
    assert response.json()["totalResults"] == 1
    sorted_search = scim_client.post_json(
        f"{BASE}/Groups/.search", search_request(sortBy="displayName", sortOrder="descending")
    )
    assert [group["displayName"] for group in sorted_search.json()["Resources"]] == [
        "User 2",
        "Sales",
    ]


@pytest.mark.parametrize("body", [{"count": 2}, {"schemas": [], "count": 2}])
def test_search_with_a_trailing_slash_and_without_schemas_is_accepted(scim_client, people, body):
    response = scim_client.post_json(f"{BASE}/Users/.search/", body)
    assert len(ids(response)) == 2
    assert response.json()["totalResults"] == 5


def test_a_search_creates_nothing_even_when_sent_a_user(scim_client, people):
    users_before = User.objects.count()
    response = scim_client.post_json(
        f"{BASE}/Users/.search",
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "new@x.com"},
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidSyntax"
    assert User.objects.count() == users_before
    assert not Group.objects.exists()


@pytest.mark.parametrize(
    ("body", "scim_type", "detail"),
    [
        (
            {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]},
            "invalidSyntax",
            f'The schemas of a SearchRequest must be ["{SEARCH}"] (or be left out).',
        ),
        (
            search_request(filtre='userName eq "a"'),
            "invalidSyntax",
            "A SearchRequest has no member 'filtre'; it may hold schemas, filter, startIndex, "
            "count, attributes, excludedAttributes, sortBy, sortOrder.",
        ),
        (
            search_request(filter=['userName eq "a"']),
            "invalidValue",
            'filter must be a string, such as "userName eq \\"a@b.c\\"".',
        ),
        (search_request(count="ten"), "invalidValue", "count must be an integer."),
        (search_request(startIndex=True), "invalidValue", "startIndex must be an integer."),
        (
            search_request(attributes=[1]),
            "invalidValue",
            'attributes must be an array of attribute names, such as ["userName"].',
        ),
        (search_request(sortBy=["userName"]), "invalidValue", "sortBy must be a string."),
        (
            search_request(sortBy="nickName"),
            "invalidValue",
            "Cannot sort by 'nickName'; sortBy can be one of userName, displayName, "
            "externalId, meta.created, meta.lastModified.",
        ),
        (
            search_request(filter='userName eq "a" and'),
            "invalidFilter",
            None,
        ),
    ],
)
def test_a_search_request_with_bad_members_is_a_400_naming_the_fix(
    scim_client, people, body, scim_type, detail
):
    response = scim_client.post_json(f"{BASE}/Users/.search", body)
    assert response.status_code == 400
    assert response.json()["scimType"] == scim_type
    if detail is not None:
        assert response.json() == error_body(400, detail, scim_type)


def test_a_search_body_that_is_not_a_json_object_is_invalid_syntax(scim_client):
    for body in ("not json", "[]", ""):
        response = scim_client.post_json(f"{BASE}/Users/.search", body)
        assert response.status_code == 400, body
        assert response.json()["scimType"] == "invalidSyntax"


def test_search_only_answers_post(scim_client):
    response = scim_client.get(f"{BASE}/Users/.search")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_a_search_is_logged_as_a_list_or_a_lookup_never_as_a_create(scim_client, people):
    scim_client.post_json(f"{BASE}/Users/.search", search_request())
    scim_client.post_json(
        f"{BASE}/Users/.search", search_request(filter='userName eq "user1@contoso.com"')
    )
    scim_client.post_json(f"{BASE}/Groups/.search", search_request(filter='displayName eq "x"'))
    scim_client.post_json(f"{BASE}/.search", search_request())
    rows = list(
        ProvisioningEvent.objects.order_by("id").values_list(
            "operation", "resource_name", "status_code"
        )
    )
    assert rows == [
        ("list_users", "", 200),
        ("filter_users", "user1@contoso.com", 200),
        ("filter_groups", "x", 200),
        ("search", "", 200),
    ]


def test_search_stays_inside_the_company(scim_client, other_scim_client, people, teams):
    body = search_request(filter='userName eq "user1@contoso.com"')
    assert other_scim_client.post_json(f"{BASE}/Users/.search", body).json()["totalResults"] == 0
    everything = other_scim_client.post_json(f"{BASE}/.search", search_request())
    assert everything.json()["totalResults"] == 0
    assert scim_client.post_json(f"{BASE}/.search", search_request()).json()["totalResults"] == 7


def test_the_root_search_returns_users_then_groups_paged_as_one_list(scim_client, people, teams):
    everyone = ids(scim_client.post_json(f"{BASE}/.search", search_request()))
    assert everyone == [str(u.scim_id) for u in people] + [str(t.scim_id) for t in teams]
    # A page across the boundary between the users and the groups.
    page = scim_client.post_json(f"{BASE}/.search", search_request(startIndex=4, count=3))
    assert ids(page) == everyone[3:6]
    assert (page.json()["totalResults"], page.json()["startIndex"]) == (7, 4)
    assert [r["meta"]["resourceType"] for r in page.json()["Resources"]] == [
        "User",
        "User",
        "Group",
    ]
    # A page of groups only.
    last = scim_client.post_json(f"{BASE}/.search", search_request(startIndex=7, count=3))
    assert ids(last) == everyone[6:]
    assert last.json()["totalResults"] == 7
    assert scim_client.post_json(f"{BASE}/.search", search_request(count=0)).json() == {
        "schemas": [LIST_RESPONSE],
        "totalResults": 7,
        "Resources": [],
        "startIndex": 1,
        "itemsPerPage": 0,
    }


def test_the_root_search_filter_treats_the_other_types_attributes_as_unassigned(
    scim_client, people, teams
):
    def found(filter_text):
        response = scim_client.post_json(f"{BASE}/.search", search_request(filter=filter_text))
        return [(r["meta"]["resourceType"], r["displayName"]) for r in response.json()["Resources"]]

    # displayName belongs to both types.
    assert found('displayName eq "user 2"') == [("User", "User 2"), ("Group", "User 2")]
    # userName and emails are users' only; members is groups' only (RFC 7644 §3.4.2.2).
    assert found('userName eq "user2@contoso.com"') == [("User", "User 2")]
    assert found('emails[type eq "work"].value eq "user3@contoso.com"') == [("User", "User 3")]
    member = str(people[1].scim_id)
    assert found(f'members[value eq "{member}"]') == [("Group", "Sales")]
    assert found(f'userName eq "user4@contoso.com" or members[value eq "{member}"]') == [
        ("User", "User 4"),
        ("Group", "Sales"),
    ]
    # An attribute neither type has is still a filter error.
    response = scim_client.post_json(f"{BASE}/.search", search_request(filter='shoeSize eq "9"'))
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


def test_the_root_search_projects_each_resource(scim_client, people, teams):
    response = scim_client.post_json(
        f"{BASE}/.search", search_request(attributes=["displayName"], startIndex=5, count=2)
    )
    assert [sorted(r) for r in response.json()["Resources"]] == [
        ["displayName", "id", "schemas"],
        ["displayName", "id", "schemas"],
    ]


def test_the_root_search_cannot_be_sorted_and_says_where_to_sort(scim_client, people):
    response = scim_client.post_json(f"{BASE}/.search", search_request(sortBy="displayName"))
    assert response.status_code == 400
    assert response.json() == error_body(
        400,
        "A search of users and groups together cannot be sorted; send sortBy to "
        "/Users/.search or /Groups/.search.",
        "invalidValue",
    )
