"""The People page and a person's page: who Entra provisioned, and what happened to each."""

import csv
import io
import re

import pytest
from django.db import connection
from django.urls import reverse

from integrations.models import MEMBER_OPERATIONS, ProvisioningEvent
from qaportal.accounts.models import User
from qaportal.accounts.selectors import PeopleFilter, _narrow_page_ids, person_page
from tests.factories import CompanyFactory, LearnerFactory, TeamFactory
from tests.pages import text_of
from tests.scim.conftest import BASE, GROUP, PATCH_OP, USER, ScimClient

pytestmark = pytest.mark.django_db

PEOPLE_URL = reverse("people:person_list")
EXPORT_URL = reverse("people:person_export")


def person_url(person) -> str:
    return reverse("people:person_detail", kwargs={"person_id": person.pk})


@pytest.fixture
def scim(generated_key) -> ScimClient:
    return ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")


@pytest.fixture
def contoso(company):
    sales = TeamFactory(company=company, display_name="Sales")
    alice = LearnerFactory(
        company=company,
        display_name="Alice Adams",
        user_name="alice@contoso.com",
        work_email="alice.adams@contoso.com",
    )
    bob = LearnerFactory(
        company=company, display_name="Bob Brown", user_name="bob@contoso.com", is_active=False
    )
    carol = LearnerFactory(company=company, display_name="Carol Clark", user_name="cc@contoso.com")
    sales.members.add(alice, carol)
    return {"sales": sales, "alice": alice, "bob": bob, "carol": carol}


# --- Navigation ----------------------------------------------------------------------------------


def test_every_admin_page_has_the_main_navigation(admin_client, contoso):
    for url in (
        reverse("accounts:dashboard"),
        PEOPLE_URL,
        person_url(contoso["alice"]),
        reverse("accounts:team_list"),
        reverse("integrations:settings"),
    ):
        html = admin_client.get(url).content.decode()
        assert '<nav class="site-nav" aria-label="Main" data-nav>' in html, url
        for label in ("Dashboard", "People", "Teams", "Activity", "Settings &amp; Integrations"):
            assert f">{label}</a></li>" in html, (url, label)
        assert 'aria-controls="site-nav-links" data-nav-toggle' in html


def test_the_current_section_is_marked_in_the_navigation(admin_client, contoso):
    html = admin_client.get(person_url(contoso["alice"])).content.decode()
    assert f'href="{PEOPLE_URL}" aria-current="page">People</a>' in html
    assert html.count('aria-current="page">') == 2  # the nav and the breadcrumb


def test_activity_in_the_navigation_opens_the_entra_activity_page(admin_client):
    response = admin_client.get(reverse("integrations:activity"))
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "integrations:provisioning_activity", kwargs={"provider": "entra-id"}
    )


def test_learners_see_no_admin_navigation(client, contoso):
    client.force_login(contoso["alice"])
    html = client.get(reverse("accounts:dashboard")).content.decode()
    assert ">People</a>" not in html
    assert client.get(PEOPLE_URL).status_code == 403


# --- People ----------------------------------------------------------------------------------


def test_people_page_lists_every_provisioned_person_with_a_count(admin_client, contoso, admin_user):
    response = admin_client.get(PEOPLE_URL)
    text = text_of(response)
    html = response.content.decode()
    assert "3 people" in text
    assert text.index("Alice Adams") < text.index("Bob Brown") < text.index("Carol Clark")
    assert "alice.adams@contoso.com" in text
    assert "Deactivated" in text
    assert f'href="{person_url(contoso["alice"])}"' in html
    sales_url = reverse("accounts:team_detail", kwargs={"team_id": contoso["sales"].pk})
    assert html.count(f'href="{sales_url}">Sales</a>') == 2
    table = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert admin_user.email not in table  # admins are not provisioned people


@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("ADAMS", ["Alice Adams"]),
        ("lice", ["Alice Adams"]),
        ("cc@", ["Carol Clark"]),
        ("adams@contoso", ["Alice Adams"]),
        ("contoso.com", ["Alice Adams", "Bob Brown", "Carol Clark"]),
    ],
)
def test_people_search_matches_any_part_of_a_name_username_or_email(
    admin_client, contoso, term, found
):
    text = text_of(admin_client.get(PEOPLE_URL, {"q": term}))
    for name in ("Alice Adams", "Bob Brown", "Carol Clark"):
        assert (name in text) == (name in found), (term, name)
    assert f"{len(found)} {'person' if len(found) == 1 else 'people'} match" in text


def test_people_filters_by_status_and_team(admin_client, contoso, other_company):
    # Another company's deactivated people count nowhere here.
    LearnerFactory(company=other_company, display_name="Zed Other", is_active=False)
    deactivated = text_of(admin_client.get(PEOPLE_URL, {"status": "deactivated"}))
    assert "Bob Brown" in deactivated
    assert "Alice Adams" not in deactivated
    assert "1 person match" in deactivated
    active = text_of(admin_client.get(PEOPLE_URL, {"status": "active"}))
    assert "2 people match" in active
    in_sales = text_of(
        admin_client.get(PEOPLE_URL, {"team": contoso["sales"].pk, "status": "active"})
    )
    assert "Alice Adams" in in_sales
    assert "Carol Clark" in in_sales
    assert "Bob Brown" not in in_sales


def test_people_sort_by_name_backwards_and_unknown_values_are_ignored(admin_client, contoso):
    backwards = text_of(admin_client.get(PEOPLE_URL, {"sort": "-name"}))
    assert backwards.index("Carol Clark") < backwards.index("Alice Adams")
    odd = admin_client.get(PEOPLE_URL, {"sort": "drop table", "team": "x", "status": "?"})
    assert "3 people" in text_of(odd)


def test_people_page_paginates_fifty_a_page_in_at_most_five_queries(
    admin_client, company, django_assert_max_num_queries
):
    team = TeamFactory(company=company, display_name="Everyone")
    people = [LearnerFactory(company=company, display_name=f"P {n:03}") for n in range(120)]
    team.members.add(*people)
    TeamFactory(company=company, display_name="Other").members.add(*people[:10])

    with django_assert_max_num_queries(5):
        first = text_of(admin_client.get(PEOPLE_URL))
    assert "120 people" in first
    assert "P 049" in first
    assert "P 050" not in first
    assert "Page 1 of 3" in first
    with django_assert_max_num_queries(5):
        last = text_of(admin_client.get(PEOPLE_URL, {"page": 3, "team": team.pk}))
    assert "P 119" in last
    assert "P 099" not in last
    # A page past the end (a shared link) is the last page.
    beyond = text_of(admin_client.get(PEOPLE_URL, {"page": 9, "q": "p 11"}))
    assert "Page 1 of 1" not in beyond  # one page: no pagination at all
    assert "P 119" in beyond


def test_another_companys_people_never_appear_and_their_page_is_a_404(
    admin_client, contoso, other_company
):
    stranger = LearnerFactory(
        company=other_company, display_name="Frank Fabrikam", user_name="frank@fabrikam.com"
    )
    assert "Frank Fabrikam" not in text_of(admin_client.get(PEOPLE_URL))
    assert "Frank" not in text_of(admin_client.get(PEOPLE_URL, {"q": "frank"}))
    assert admin_client.get(person_url(stranger)).status_code == 404
    assert admin_client.get(person_url(contoso["alice"])).status_code == 200


def test_admins_are_not_people(admin_client, admin_user):
    assert admin_client.get(person_url(admin_user)).status_code == 404
    assert "0 people" in text_of(admin_client.get(PEOPLE_URL))


def test_people_export_is_the_filtered_list_as_csv(admin_client, contoso):
    response = admin_client.get(EXPORT_URL, {"status": "active"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:5] == ["Display name", "Username", "Work email", "Status", "Teams"]
    assert [row[0] for row in rows[1:]] == ["Alice Adams", "Carol Clark"]
    assert rows[1][3:5] == ["Active", "Sales"]


def test_the_dashboard_people_card_links_to_the_people_page(admin_client, contoso):
    html = admin_client.get(reverse("accounts:dashboard")).content.decode()
    card = html.split('id="stat-learners"', 1)[1].split("</section>", 1)[0]
    assert ">People</h2>" in card
    assert f'<a href="{PEOPLE_URL}">View people</a>' in card


def test_people_search_is_served_by_the_trigram_indexes():
    if connection.vendor != "postgresql":
        pytest.skip("trigram indexes exist on PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'accounts_user' "
            "AND indexname LIKE '%%_trgm'"
        )
        indexes = dict(cursor.fetchall())
    assert set(indexes) == {
        "accounts_user_dname_trgm",
        "accounts_user_uname_trgm",
        "accounts_user_email_trgm",
    }
    assert all("gin (upper(" in d and "gin_trgm_ops" in d for d in indexes.values())
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = (
            User.objects.filter(display_name__icontains="dam").values("id").query.sql_with_params()
        )
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "accounts_user_dname_trgm" in plan


def test_a_narrow_search_is_sorted_from_its_matches_in_order_and_pages_on(company):
    # Matches that sit together in the name order, among many people who do not match.
    for n in range(400):
        LearnerFactory(company=company, display_name=f"Given Family{n}", user_name=f"u{n}@c.com")
    matching = sorted(
        (f"Given Family{n}" for n in range(400) if "AMILY1" in f"FAMILY{n}"), key=str.lower
    )

    first = person_page(company=company, filters=PeopleFilter(search="amily1"), size=50)
    second = person_page(company=company, filters=PeopleFilter(search="amily1"), number=2, size=50)
    newest = person_page(company=company, filters=PeopleFilter(search="amily1", sort="-name"))

    assert first.total == second.total == len(matching) == 111
    assert [p.display_name for p in first.people] == matching[:50]
    assert [p.display_name for p in second.people] == matching[50:100]
    assert [p.display_name for p in newest.people] == matching[::-1][:50]
    # A number past the end is the last page.
    last = person_page(company=company, filters=PeopleFilter(search="amily1"), number=99)
    assert (last.number, [p.display_name for p in last.people]) == (3, matching[100:])


def test_a_narrow_searchs_page_never_walks_a_sort_index():
    if connection.vendor != "postgresql":
        pytest.skip("the narrow search's sorting is PostgreSQL's")
    company = CompanyFactory()
    page_ids = _narrow_page_ids(
        company=company, filters=PeopleFilter(search="amily"), offset=0, size=50
    )
    # Whatever the planner expects of the search, the matches come out of the fenced
    # subquery unordered and are sorted after: no index order to walk and filter.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {page_ids.sql}", page_ids.params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # Sorts discouraged, the planner would walk an index in the page's order if it could.
    assert "Sort Key: (lower(NULLIF((accounts_user.display_name)::text" in plan


def test_member_operations_of_the_index_are_the_models_member_operations():
    operation = ProvisioningEvent.Operation
    assert set(MEMBER_OPERATIONS) == {
        operation.CREATE_GROUP,
        operation.UPDATE_GROUP,
        operation.REPLACE_GROUP,
        operation.ADD_MEMBERS,
        operation.REMOVE_MEMBERS,
        operation.UPDATE_MEMBERS,
        operation.REPLACE_MEMBERS,
    }


# --- A person's page -----------------------------------------------------------------------------


def _create(scim, user_name, **attributes):
    body = {"schemas": [USER], "userName": user_name, "active": True, **attributes}
    response = scim.post_json(f"{BASE}/Users", body)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_person_page_shows_what_entra_sent_and_the_history_in_words(admin_client, scim, company):
    boss_id = _create(scim, "boss@contoso.com", displayName="Bea Boss")
    alice_id = _create(
        scim,
        "alice@contoso.com",
        displayName="Alice Adams",
        title="Engineer",
        externalId="ext-alice",
        emails=[{"value": "alice@contoso.com", "type": "work", "primary": True}],
        **{
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": "Sales",
                "manager": {"value": boss_id},
            }
        },
    )
    ops = [
        {
            "op": "Replace",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "value": "Marketing",
        }
    ]
    assert scim.patch_ops(f"{BASE}/Users/{alice_id}", *ops).status_code in (200, 204)
    group = scim.post_json(f"{BASE}/Groups", {"schemas": [GROUP], "displayName": "Sales"})
    group_id = group.json()["id"]
    add = {"op": "add", "path": "members", "value": [{"value": alice_id}]}
    assert scim.patch_ops(f"{BASE}/Groups/{group_id}", add).status_code in (200, 204)
    # A failure about her: a userName someone else has.
    taken = {"op": "replace", "path": "userName", "value": "boss@contoso.com"}
    assert scim.patch_ops(f"{BASE}/Users/{alice_id}", taken).status_code == 409
    off = {"op": "replace", "path": "active", "value": False}
    assert scim.patch_ops(f"{BASE}/Users/{alice_id}", off).status_code in (200, 204)

    alice = User.objects.get(scim_id=alice_id)
    boss = User.objects.get(scim_id=boss_id)
    response = admin_client.get(person_url(alice))
    text = text_of(response)
    html = response.content.decode()

    assert "<h1" in html and "Alice Adams" in text
    assert "Engineer" in text and "Marketing" in text and "ext-alice" in text
    assert f'href="{person_url(boss)}">Bea Boss</a>' in html
    sales = alice.teams.get()
    assert (
        f'href="{reverse("accounts:team_detail", kwargs={"team_id": sales.pk})}">Sales</a>' in html
    )
    history = text.split("History", 1)[1]
    expected = [
        "Deactivated by Microsoft Entra ID",
        "Microsoft Entra ID could not update this person",
        "Someone with this username already exists in QA.",
        "make userName the matching attribute",
        "Added to team Sales",
        "Updated by Microsoft Entra ID",
        "Department: Sales → Marketing",
        "Created by Microsoft Entra ID",
        "Job title: Engineer",
    ]
    positions = [history.index(words) for words in expected]
    assert positions == sorted(positions), "newest first"
    assert "already exists." not in history  # our words, not the raw error
    assert "Deactivated" in text.split("History", 1)[0]


def test_removal_from_a_team_is_in_the_persons_history(admin_client, scim, company):
    alice_id = _create(scim, "alice@contoso.com")
    group = scim.post_json(
        f"{BASE}/Groups",
        {"schemas": [GROUP], "displayName": "Sales", "members": [{"value": alice_id}]},
    ).json()
    remove = {"op": "remove", "path": f'members[value eq "{alice_id}"]'}
    assert scim.patch_ops(f"{BASE}/Groups/{group['id']}", remove).status_code in (200, 204)
    other_id = _create(scim, "other@contoso.com")
    add_other = {"op": "add", "path": "members", "value": [{"value": other_id}]}
    assert scim.patch_ops(f"{BASE}/Groups/{group['id']}", add_other).status_code in (200, 204)

    history = text_of(admin_client.get(person_url(User.objects.get(scim_id=alice_id))))
    history = history.split("History", 1)[1]
    assert "Removed from team Sales" in history
    assert history.count("team Sales") == 2  # set on creation, then removed; not the other's add


def test_person_page_costs_a_bounded_number_of_queries(
    admin_client, contoso, django_assert_max_num_queries
):
    # session, user, company, person + manager, teams, two history reads, last sign-in
    with django_assert_max_num_queries(8):
        assert admin_client.get(person_url(contoso["alice"])).status_code == 200


def test_patch_op_constant_is_the_scim_one():
    assert PATCH_OP.endswith(":PatchOp")


def test_settings_link_to_the_api_docs_which_have_the_portal_header(admin_client):
    settings_page = admin_client.get(reverse("integrations:settings")).content.decode()
    assert f'<a href="{reverse("api:docs")}">API documentation</a>' in settings_page
    docs = admin_client.get(reverse("api:docs")).content.decode()
    assert '<html lang="en">' in docs
    assert '<nav class="site-nav" aria-label="Main" data-nav>' in docs
    assert '<div id="swagger-ui"></div>' in docs


def test_a_create_refused_for_a_taken_username_shows_on_the_person_who_has_it(admin_client, scim):
    alice_id = _create(scim, "alice@contoso.com")
    body = {"schemas": [USER], "userName": "ALICE@contoso.com"}
    assert scim.post_json(f"{BASE}/Users", body).status_code == 409
    alice = User.objects.get(scim_id=alice_id)
    history = text_of(admin_client.get(person_url(alice))).split("History", 1)[1]
    assert "Microsoft Entra ID could not create this person" in history
    assert "Someone with this username already exists in QA." in history
    assert history.index("could not create") < history.index("Created by Microsoft Entra ID")


@pytest.mark.parametrize("number", ["99999999999999999999", "184467440737095518"])
def test_a_page_number_too_large_for_the_database_is_the_last_page(admin_client, contoso, number):
    # Its OFFSET would not fit a PostgreSQL bigint ("bigint out of range": a 500).
    response = admin_client.get(PEOPLE_URL, {"page": number})
    assert response.status_code == 200
    assert "Carol Clark" in text_of(response)


def test_a_search_too_long_for_any_name_matches_no_one_and_says_why(admin_client, contoso):
    """Dropping it would show (and export) everyone as if it had matched."""
    response = admin_client.get(PEOPLE_URL, {"q": "a" * 600})
    text = text_of(response)
    assert response.status_code == 200
    assert "0 people match" in text
    assert "Alice Adams" not in text
    assert "at most 512 characters" in text


def test_the_history_pages_on_to_every_event_the_log_keeps(
    admin_client, scim, company, other_company
):
    """A page holds HISTORY_SIZE events, newest first; Older reaches the rest, none twice."""
    from datetime import timedelta

    from django.utils import timezone

    from integrations.selectors.people import HISTORY_SIZE

    scim_id = _create(scim, "long@contoso.com", displayName="Long History")
    person = User.objects.get(scim_id=scim_id)
    start = timezone.now() - timedelta(days=1)
    ProvisioningEvent.objects.bulk_create(
        ProvisioningEvent(
            company=owner,
            method="PATCH",
            path=f"{BASE}/Users/{scim_id}",
            operation=ProvisioningEvent.Operation.UPDATE_USER,
            resource_type="User",
            resource_id=scim_id,
            resource_name="long@contoso.com",
            status_code=200,
            outcome=ProvisioningEvent.Outcome.SUCCESS,
            # Two at each moment: the cursor's id breaks the tie.
            created_at=start + timedelta(seconds=n // 2),
        )
        for n in range(HISTORY_SIZE + 10)
        for owner in (company, other_company)
    )
    first = admin_client.get(person_url(person)).content.decode()
    assert first.count('class="history__entry') == HISTORY_SIZE
    older = re.search(r'href="([^"]*\?before=[^"#]*)#history-title" rel="next">Older', first)
    assert older is not None
    second = admin_client.get(older.group(1).replace("&amp;", "&")).content.decode()
    # The rest: 10 updates and the create, and a link back to the newest.
    assert second.count('class="history__entry') == 11
    assert 'rel="next">Older' not in second
    assert ">Newest</a>" in second
    ids = re.findall(r"change id (\d+)", first + second)
    assert len(ids) == len(set(ids)) == HISTORY_SIZE + 11
