"""The provisioning activity page: words, filters, search, keyset pages, tenancy."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import ProvisioningEvent
from integrations.selectors.activity import ActivityCursor, provisioning_event_page
from integrations.services import api_key_generate, api_key_revoke, provisioning_event_record
from integrations.wording import OPERATION_WORDS, activity_summary
from tests.factories import LearnerFactory, member_changes
from tests.pages import text_of
from tests.scim.conftest import BASE, GROUP, ScimClient

pytestmark = pytest.mark.django_db

ACTIVITY_URL = reverse("integrations:provisioning_activity", kwargs={"provider": "entra-id"})
DETAIL_URL = reverse("integrations:integration_detail", kwargs={"provider": "entra-id"})
Outcome = ProvisioningEvent.Outcome


@pytest.fixture
def entra(generated_key) -> ScimClient:
    return ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")


def summaries(page: str) -> list[str]:
    """The Activity cells of the table, top to bottom (each a link to the request's detail)."""
    return re.findall(
        r'<span class="activity-row__summary"><a href="[^"]*">([^<]*)</a></span>', page
    )


def record(company, *, name="", operation="create_user", outcome=Outcome.SUCCESS, at=None, **kw):
    fields = {
        "method": "POST",
        "path": f"{BASE}/Users",
        "resource_type": OPERATION_WORDS[operation].resource_type
        if operation in OPERATION_WORDS
        else "",
        "status_code": 201 if outcome == Outcome.SUCCESS else 409,
        **kw,
    }
    return provisioning_event_record(
        company_id=company.pk,
        api_key_id=None,
        operation=operation,
        outcome=outcome,
        resource_name=name,
        now=at,
        **fields,
    )


def bulk_events(company, count, *, start=None, **fields):
    """Many rows at once (a volume test, not a behaviour test: one INSERT per 1,000 rows)."""
    start = start or timezone.now()
    values = {
        "method": "GET",
        "path": f"{BASE}/Users",
        "operation": "filter_users",
        "resource_type": "User",
        "status_code": 200,
        "outcome": Outcome.SUCCESS,
        **fields,
    }
    ProvisioningEvent.objects.bulk_create(
        (
            ProvisioningEvent(
                company=company,
                resource_name=f"user{i:05d}@contoso.com",
                created_at=start - timedelta(seconds=i),
                **values,
            )
            for i in range(count)
        ),
        batch_size=1000,
    )


# --- Operations in words, from real SCIM requests ---------------------------------------------


def test_real_scim_requests_read_as_sentences(admin_client, entra, company):
    created = entra.post_json(f"{BASE}/Users", {"userName": "alice@contoso.com"}).json()
    entra.post_json(f"{BASE}/Users", {"userName": "alice@contoso.com"})  # 409
    others = [
        entra.post_json(f"{BASE}/Users", {"userName": f"u{i}@contoso.com"}).json()["id"]
        for i in range(3)
    ]
    sales = entra.post_json(f"{BASE}/Groups", {"schemas": [GROUP], "displayName": "Sales"}).json()
    entra.patch_ops(
        f"{BASE}/Groups/{sales['id']}",
        {"op": "Add", "path": "members", "value": [{"value": v} for v in others]},
    )
    entra.patch_ops(
        f"{BASE}/Users/{created['id']}", {"op": "Replace", "path": "active", "value": "False"}
    )
    entra.get(f'{BASE}/Users?filter=userName eq "bob@contoso.com"')

    # Changes and failures by default; the lookup is under Everything.
    page = text_of(admin_client.get(ACTIVITY_URL))
    assert "Looked up person bob@contoso.com" not in summaries(page)
    page = text_of(admin_client.get(ACTIVITY_URL, {"show": "all"}))
    assert summaries(page) == [
        "Looked up person bob@contoso.com",
        "Deactivated alice@contoso.com",
        "Added 3 members to Sales",
        "Created team Sales",
        "Created person u2@contoso.com",
        "Created person u1@contoso.com",
        "Created person u0@contoso.com",
        "Create person alice@contoso.com",
        "Created person alice@contoso.com",
    ]
    # Status and error detail of the failed create.
    failed = page[page.index("Create person alice@contoso.com") :]
    failed = failed[: failed.index("</tr>")]
    assert 'badge--warning">Failed' in failed
    assert "409 uniqueness" in failed


def test_words_for_members_and_missing_counts(company):
    def words(operation, changes=None, name="Sales", outcome=Outcome.SUCCESS):
        event = record(company, name=name, operation=operation, outcome=outcome, changes=changes)
        return activity_summary(event)

    assert words("add_members", member_changes(added=1)) == "Added 1 member to Sales"
    assert words("add_members") == "Added members to Sales"
    assert words("remove_members", member_changes(removed=2)) == "Removed 2 members from Sales"
    assert (
        words("replace_members", member_changes(added=5, replaced=True))
        == "Replaced the members of Sales (5 members)"
    )
    assert words("replace_members") == "Replaced the members of Sales"
    assert (
        words("update_members", member_changes(added=2, removed=1))
        == "Changed the members of Sales: 2 added, 1 removed"
    )
    assert words("add_members", outcome=Outcome.FAILED) == "Add members to Sales"
    assert words("create_user", name="", outcome=Outcome.REJECTED_KEY) == "Create person"
    assert words("list_users", name="") == "Listed people"
    assert words("get_schemas", name="") == "Read the schemas"
    assert words("some_new_thing", name="x") == "Some new thing x"


# --- Filters and search ---------------------------------------------------------------------


@pytest.fixture
def mixed_log(company):
    t = timezone.now()
    record(company, name="alice@contoso.com", at=t - timedelta(minutes=6))
    record(
        company, name="Alicia@contoso.com", operation="deactivate_user", at=t - timedelta(minutes=5)
    )
    record(company, name="bob@contoso.com", outcome=Outcome.FAILED, at=t - timedelta(minutes=4))
    record(company, name="Sales", operation="create_group", at=t - timedelta(minutes=3))
    record(
        company, operation="list_users", outcome=Outcome.REJECTED_KEY, at=t - timedelta(minutes=2)
    )
    record(company, name="Sales", operation="add_members", changes=member_changes(added=3), at=t)


MEMBERS, LIST, SALES = "Added 3 members to Sales", "List people", "Created team Sales"
BOB, ALICIA, ALICE = (
    "Create person bob@contoso.com",
    "Deactivated Alicia@contoso.com",
    "Created person alice@contoso.com",
)
EVERYTHING = [MEMBERS, LIST, SALES, BOB, ALICIA, ALICE]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", EVERYTHING),
        ("outcome=success", [MEMBERS, SALES, ALICIA, ALICE]),
        ("outcome=failed", [BOB]),
        ("outcome=rejected_key", [LIST]),
        ("operation=deactivate_user", [ALICIA]),
        ("resource_type=Group", [MEMBERS, SALES]),
        ("resource_type=User&outcome=success", [ALICIA, ALICE]),
        ("q=ALICE%40Contoso.com", [ALICE]),
        ("q=alicia%40contoso.com&outcome=success", [ALICIA]),
        ("q=sales&operation=add_members", [MEMBERS]),
        # Any part of a name, any case.
        ("q=LIC", [ALICIA, ALICE]),
        ("q=nobody", []),
        # Unknown values are ignored, not an error page.
        ("outcome=bogus&operation=drop_table", EVERYTHING),
    ],
)
def test_filters_and_search(admin_client, mixed_log, query, expected):
    page = text_of(admin_client.get(f"{ACTIVITY_URL}?{query}"))
    assert summaries(page) == expected
    if not expected:
        assert "No request matches these filters." in page


def test_the_filter_form_keeps_its_values_and_the_export_link_carries_them(admin_client, mixed_log):
    page = text_of(admin_client.get(f"{ACTIVITY_URL}?outcome=failed&q=bob"))
    assert re.search(r'<option value="failed" selected>Failed</option>', page)
    assert 'value="bob"' in page
    export = reverse("integrations:provisioning_activity_export", kwargs={"provider": "entra-id"})
    assert f'href="{export}?outcome=failed&amp;q=bob&amp;show=changes"' in page
    assert f'href="{ACTIVITY_URL}">Clear</a>' in page


def test_an_empty_log_explains_where_requests_come_from(admin_client, company):
    page = text_of(admin_client.get(ACTIVITY_URL))
    assert "No change or failure yet." in page
    assert "<table" not in page
    everything = text_of(admin_client.get(ACTIVITY_URL, {"show": "all"}))
    assert "No request from Microsoft Entra ID has arrived yet." in everything


# --- Keyset pagination ------------------------------------------------------------------------


def page_links(page: str) -> dict[str, str]:
    return {
        label: href.replace("&amp;", "&")
        for href, label in re.findall(r'<a class="button[^"]*" href="([^"]+)"[^>]*>(\w+)</a>', page)
        if label in ("Newest", "Newer", "Older")
    }


def test_pages_walk_the_whole_log_newest_first_and_back(admin_client, company):
    bulk_events(company, 120)
    names = [f"Looked up person user{i:05d}@contoso.com" for i in range(120)]

    first = text_of(admin_client.get(ACTIVITY_URL, {"show": "all"}))
    assert summaries(first) == names[:50]
    assert set(page_links(first)) == {"Older"}

    second = text_of(admin_client.get(page_links(first)["Older"]))
    assert summaries(second) == names[50:100]
    assert set(page_links(second)) == {"Newest", "Newer", "Older"}

    third = text_of(admin_client.get(page_links(second)["Older"]))
    assert summaries(third) == names[100:]
    assert set(page_links(third)) == {"Newest", "Newer"}

    back = text_of(admin_client.get(page_links(third)["Newer"]))
    assert summaries(back) == names[50:100]
    back = text_of(admin_client.get(page_links(back)["Newer"]))
    assert summaries(back) == names[:50]
    assert "Newer" not in page_links(back)


def test_rows_with_the_same_time_are_neither_skipped_nor_repeated(company):
    same = timezone.now()
    ProvisioningEvent.objects.bulk_create(
        ProvisioningEvent(
            company=company,
            method="GET",
            path="/x",
            status_code=200,
            outcome=Outcome.SUCCESS,
            created_at=same,
        )
        for _ in range(7)
    )
    seen, before = [], None
    for _ in range(10):  # 7 rows, 3 a page: a cursor that never ends fails, never hangs
        page = provisioning_event_page(company=company, before=before, size=3)
        seen += [event.pk for event in page.events]
        if page.older_cursor is None:
            break
        before = ActivityCursor.decode(page.older_cursor)
    else:
        pytest.fail("the Older links never end")
    assert seen == sorted(ProvisioningEvent.objects.values_list("pk", flat=True), reverse=True)


def test_pagination_keeps_the_filter(admin_client, company):
    bulk_events(company, 60, outcome=Outcome.FAILED, status_code=400)
    bulk_events(company, 60, start=timezone.now() - timedelta(minutes=1))
    first = text_of(admin_client.get(f"{ACTIVITY_URL}?outcome=failed"))
    older = page_links(first)["Older"]
    assert older.startswith(f"{ACTIVITY_URL}?outcome=failed&show=changes&before=")
    second = text_of(admin_client.get(older))
    assert len(summaries(second)) == 10
    assert "Older" not in page_links(second)


@pytest.mark.parametrize(
    "cursor", ["x", "1.", ".5", "-1.2", "9" * 40 + ".1", "1.2.3", "².1", "1.%00", "1 .2"]
)
def test_a_malformed_cursor_shows_the_first_page(admin_client, company, cursor):
    record(company, name="alice@contoso.com")
    for direction in ("before", "after"):
        page = text_of(admin_client.get(f"{ACTIVITY_URL}?{direction}={cursor}"))
        assert summaries(page) == ["Created person alice@contoso.com"]


def test_a_nul_character_in_the_search_is_ignored_not_a_database_error(admin_client, company):
    record(company, name="alice@contoso.com")
    page = text_of(admin_client.get(f"{ACTIVITY_URL}?q=al%00ice"))
    assert summaries(page) == ["Created person alice@contoso.com"]


def test_a_page_costs_the_same_queries_with_many_rows(
    admin_client, company, django_assert_max_num_queries
):
    bulk_events(company, 5000)
    cursor = ActivityCursor.of(ProvisioningEvent.objects.order_by("-created_at", "-id")[4000])
    # session, user, company, integration, one page of events (with their keys); no COUNT.
    for url in (
        f"{ACTIVITY_URL}?show=all",
        f"{ACTIVITY_URL}?show=all&before={cursor.encode()}",
        f"{ACTIVITY_URL}?show=all&after={cursor.encode()}&outcome=success&q=USER00042@contoso.com",
    ):
        with django_assert_max_num_queries(5) as captured:
            assert admin_client.get(url).status_code == 200
        assert not any("COUNT(" in query["sql"] for query in captured.captured_queries)


# --- Tenancy and access -----------------------------------------------------------------------


def test_another_companys_events_never_appear(
    admin_client, company, other_company, other_generated_key
):
    record(company, name="alice@contoso.com")
    other = ScimClient(HTTP_AUTHORIZATION=f"Bearer {other_generated_key.plaintext}")
    other.post_json(f"{BASE}/Users", {"userName": "alice@contoso.com"})
    other.post_json(f"{BASE}/Users", {"userName": "secret@fabrikam.com"})
    assert ProvisioningEvent.objects.filter(company=other_company).count() == 2

    for query in (
        "",
        "q=secret%40fabrikam.com",
        "q=alice%40contoso.com",
        "outcome=success",
        "operation=create_user",
    ):
        rows = summaries(text_of(admin_client.get(f"{ACTIVITY_URL}?{query}")))
        assert rows == ([] if "secret" in query else ["Created person alice@contoso.com"])

    # A cursor taken from the other company's log shows nothing of it either.
    theirs = ProvisioningEvent.objects.filter(company=other_company).latest("created_at")
    cursor = ActivityCursor.of(theirs).encode()
    page = text_of(admin_client.get(f"{ACTIVITY_URL}?after={cursor}"))
    assert "secret@fabrikam.com" not in page


def test_requests_with_an_unknown_key_write_no_row_a_revoked_key_belongs_to_its_company(
    admin_client, company, generated_key, admin_user
):
    # A key that names no company is logged in aggregate, never as a row any company sees.
    ScimClient(HTTP_AUTHORIZATION="Bearer qa_scim_nope").get(f"{BASE}/Users")
    assert not ProvisioningEvent.objects.exists()
    assert summaries(text_of(admin_client.get(ACTIVITY_URL))) == []

    # A revoked key still belongs to its company, which is told about it.
    api_key_revoke(api_key=generated_key.api_key, revoked_by=admin_user)
    ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}").get(f"{BASE}/Users")
    page = text_of(admin_client.get(f"{ACTIVITY_URL}?outcome=rejected_key"))
    assert summaries(page) == ["List people"]
    assert f"Key <code>{generated_key.api_key.masked}</code>" in page
    assert "This API key was revoked." in page
    assert generated_key.plaintext not in page


def test_only_company_admins_see_the_activity(client, company, admin_user):
    response = client.get(ACTIVITY_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    client.force_login(LearnerFactory(company=company))
    assert client.get(ACTIVITY_URL).status_code == 403
    client.force_login(admin_user)
    missing = reverse("integrations:provisioning_activity", kwargs={"provider": "okta"})
    assert client.get(missing).status_code == 404


# --- On the integration page ------------------------------------------------------------------


def test_the_integration_page_summarises_the_latest_activity_and_links_to_it(admin_client, company):
    for i in range(7):
        record(company, name=f"user{i}@contoso.com", at=timezone.now() - timedelta(minutes=i))
    page = text_of(admin_client.get(DETAIL_URL))
    section = page[page.index('aria-labelledby="activity-title"') :]
    assert summaries(section) == [f"Created person user{i}@contoso.com" for i in range(5)]
    assert f'href="{ACTIVITY_URL}">View all activity</a>' in section
    assert f'href="{ACTIVITY_URL}?outcome=failed">Failed requests</a>' in section
    assert reverse("integrations:audit_trail", kwargs={"provider": "entra-id"}) in page


def test_the_integration_page_costs_the_same_queries_with_many_rows(
    admin_client,
    company,
    generated_key,
    entra_integration,
    admin_user,
    django_assert_max_num_queries,
):
    bulk_events(company, 5000, outcome=Outcome.FAILED, status_code=400)
    api_key_generate(integration=entra_integration, created_by=admin_user)  # a grace period
    # session, user, company, integration, keys page (count + rows), usable keys,
    # integrations, the preview of the log, and the health card: last requests, last
    # success, first use of the new key; the Single sign-on section: its connection and the
    # company's verified domains.
    with django_assert_max_num_queries(14):
        page = text_of(admin_client.get(DETAIL_URL))
    assert "Failing" in page
    assert len(summaries(page)) == 5
