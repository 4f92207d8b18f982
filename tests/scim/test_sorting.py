"""sortBy and sortOrder on /Users and /Groups (RFC 7644 §3.4.2.3)."""

import datetime

import pytest
from django.utils import timezone

from qaportal.accounts.models import Group, User
from tests.factories import LearnerFactory, TeamFactory
from tests.scim.conftest import BASE, USER, error_body


def ids(response):
    assert response.status_code == 200, response.content
    return [resource["id"] for resource in response.json()["Resources"]]


def scim_ids(*objects):
    return [str(obj.scim_id) for obj in objects]


@pytest.fixture
def people(company):
    """Five learners; user_name, displayName and externalId each in a different order."""
    start = timezone.now() - datetime.timedelta(days=10)
    specs = [
        ("carol@contoso.com", "Zed", "ext-b", 3),
        ("Alice@contoso.com", "", "", 1),
        ("bob@contoso.com", "amy", "ext-c", 4),
        ("dave@contoso.com", "Mia", "ext-a", 0),
        ("erin@contoso.com", "mia", "", 2),
    ]
    created = []
    for user_name, display_name, external_id, days in specs:
        created.append(
            LearnerFactory(
                company=company,
                user_name=user_name,
                display_name=display_name,
                external_id=external_id,
                created_at=start + datetime.timedelta(days=days),
            )
        )
    return created


def sorted_ids(client, sort_by, order=None, **params):
    query = {"sortBy": sort_by, **params}
    if order:
        query["sortOrder"] = order
    return ids(client.get(f"{BASE}/Users", query))


def test_user_name_sorts_case_insensitively_ascending_by_default(scim_client, people):
    carol, alice, bob, dave, erin = people
    assert sorted_ids(scim_client, "userName") == scim_ids(alice, bob, carol, dave, erin)
    assert sorted_ids(scim_client, "userName", "descending") == scim_ids(
        erin, dave, carol, bob, alice
    )


def test_sort_order_and_attribute_names_are_read_in_any_case(scim_client, people):
    carol, alice, bob, dave, erin = people
    assert sorted_ids(scim_client, "USERNAME", "Descending") == scim_ids(
        erin, dave, carol, bob, alice
    )
    assert sorted_ids(scim_client, f"{USER}:userName") == scim_ids(alice, bob, carol, dave, erin)


def test_display_name_ties_go_by_id_and_unassigned_values_sort_last_then_first(scim_client, people):
    carol, alice, bob, dave, erin = people
    # "Mia" and "mia" are equal case-insensitively: the older id first; Alice has no
    # displayName, which RFC 7644 §3.4.2.3 orders last ascending and first descending.
    assert sorted_ids(scim_client, "displayName") == scim_ids(bob, dave, erin, carol, alice)
    assert sorted_ids(scim_client, "displayName", "descending") == scim_ids(
        alice, carol, erin, dave, bob
    )


def test_external_id_sorts_with_unassigned_values_last(scim_client, people):
    carol, alice, bob, dave, erin = people
    assert sorted_ids(scim_client, "externalId") == scim_ids(dave, carol, bob, alice, erin)
    assert sorted_ids(scim_client, "externalId", "descending") == scim_ids(
        erin, alice, bob, carol, dave
    )


def test_meta_dates_sort(scim_client, people):
    carol, alice, bob, dave, erin = people
    assert sorted_ids(scim_client, "meta.created") == scim_ids(dave, alice, erin, carol, bob)
    later = timezone.now() + datetime.timedelta(days=1)
    User.objects.filter(pk=dave.pk).update(updated_at=later)
    User.objects.filter(pk=alice.pk).update(updated_at=later + datetime.timedelta(days=1))
    newest_first = sorted_ids(scim_client, "meta.lastModified", "descending")
    assert newest_first[:2] == scim_ids(alice, dave)


def test_sorted_pages_are_stable_and_cover_every_user_once(scim_client, company):
    team = [LearnerFactory(company=company, display_name="Same") for _ in range(7)]
    pages = [
        ids(
            scim_client.get(
                f"{BASE}/Users",
                {"sortBy": "displayName", "sortOrder": "descending", "startIndex": s, "count": 3},
            )
        )
        for s in (1, 4, 7)
    ]
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [user_id for page in pages for user_id in page] == scim_ids(*reversed(team))


def test_a_filter_and_a_sort_combine(scim_client, people):
    *_, dave, erin = people
    response = scim_client.get(
        f"{BASE}/Users",
        {"filter": 'displayName co "i"', "sortBy": "userName", "sortOrder": "descending"},
    )
    assert ids(response) == scim_ids(erin, dave)
    assert response.json()["totalResults"] == 2


def test_page_anchors_of_the_id_order_are_not_used_for_a_sorted_page(scim_client, people):
    carol, alice, bob, *_ = people
    # The first unsorted page remembers where position 4 starts in the id order...
    assert ids(scim_client.get(f"{BASE}/Users", {"count": 3})) == scim_ids(carol, alice, bob)
    # ...which a sorted page starting there must not seek from (it would give erin, dave).
    sorted_page = scim_client.get(
        f"{BASE}/Users",
        {"startIndex": 4, "count": 3, "sortBy": "userName", "sortOrder": "descending"},
    )
    assert ids(sorted_page) == scim_ids(bob, alice)
    assert sorted_page.json()["totalResults"] == 5


def test_sort_order_without_sort_by_changes_nothing(scim_client, people):
    response = scim_client.get(f"{BASE}/Users", {"sortOrder": "descending"})
    assert ids(response) == scim_ids(*people)


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        (
            {"sortBy": "title"},
            "Cannot sort by 'title'; sortBy can be one of userName, displayName, externalId, "
            "meta.created, meta.lastModified.",
        ),
        (
            {"sortBy": 'emails[type eq "work"].value'},
            "Cannot sort by 'emails[type eq \"work\"].value'; sortBy can be one of userName, "
            "displayName, externalId, meta.created, meta.lastModified.",
        ),
        (
            {"sortBy": "userName", "sortOrder": "up"},
            'sortOrder must be "ascending" or "descending", not \'up\'.',
        ),
    ],
)
def test_an_order_this_server_cannot_give_is_a_400_saying_what_it_can(scim_client, params, detail):
    response = scim_client.get(f"{BASE}/Users", params)
    assert response.status_code == 400
    assert response.json() == error_body(400, detail, "invalidValue")


def test_groups_sort_by_display_name_external_id_and_dates(scim_client, company):
    now = timezone.now()
    sales = TeamFactory(company=company, display_name="sales", external_id="g-2")
    admins = TeamFactory(company=company, display_name="Admins", external_id="")
    legal = TeamFactory(company=company, display_name="Legal", external_id="g-1")
    Group.objects.filter(pk=sales.pk).update(created_at=now - datetime.timedelta(days=3))
    Group.objects.filter(pk=legal.pk).update(created_at=now - datetime.timedelta(days=2))
    Group.objects.filter(pk=admins.pk).update(created_at=now - datetime.timedelta(days=1))

    def order(sort_by, sort_order="ascending"):
        query = {"sortBy": sort_by, "sortOrder": sort_order, "excludedAttributes": "members"}
        return ids(scim_client.get(f"{BASE}/Groups", query))

    assert order("displayName") == scim_ids(admins, legal, sales)
    assert order("displayName", "descending") == scim_ids(sales, legal, admins)
    assert order("externalId") == scim_ids(legal, sales, admins)
    assert order("meta.created", "descending") == scim_ids(admins, legal, sales)
    response = scim_client.get(f"{BASE}/Groups", {"sortBy": "userName"})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert "displayName, externalId, meta.created, meta.lastModified" in response.json()["detail"]


def test_sorting_never_shows_another_companys_users(scim_client, people, other_company):
    LearnerFactory(company=other_company, user_name="aaron@fabrikam.com")
    response = scim_client.get(f"{BASE}/Users", {"sortBy": "userName"})
    assert response.json()["totalResults"] == 5
    assert "aaron@fabrikam.com" not in [r["userName"] for r in response.json()["Resources"]]
