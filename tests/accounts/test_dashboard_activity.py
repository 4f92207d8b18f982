"""The Dashboard's provisioning counts and its chart of activity per day."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from integrations.dashboard import activity_chart_build
from integrations.models import ProvisioningEvent
from integrations.selectors.dashboard import ActivityDay, provisioning_summary_get
from integrations.services import provisioning_event_record
from tests.factories import LearnerFactory, TeamFactory
from tests.pages import text_of
from tests.scim.conftest import BASE, GROUP, ScimClient

pytestmark = pytest.mark.django_db

DASHBOARD_URL = reverse("accounts:dashboard")
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
Outcome = ProvisioningEvent.Outcome


def activity_card(page: str) -> str:
    start = page.index('aria-labelledby="activity-title"')
    return page[start : page.index("</section>", start)]


def mini_stat(card: str, label: str) -> int:
    return int(re.search(rf"<dt>{label}</dt><dd>(\d+)</dd>", card).group(1))


def record(company, operation="create_user", outcome=Outcome.SUCCESS, *, ago: timedelta):
    return provisioning_event_record(
        company_id=company.pk,
        api_key_id=None,
        method="POST",
        path=f"{BASE}/Users",
        operation=operation,
        status_code=201 if outcome == Outcome.SUCCESS else 400,
        outcome=outcome,
        now=NOW - ago,
    )


@pytest.fixture
def week_of_activity(company):
    record(company, ago=timedelta(hours=1))
    record(company, "deactivate_user", ago=timedelta(hours=5))
    record(company, "add_members", ago=timedelta(hours=23))
    record(company, "filter_users", ago=timedelta(hours=2))  # a read, not a change
    record(company, outcome=Outcome.FAILED, ago=timedelta(hours=3))
    record(company, outcome=Outcome.REJECTED_KEY, ago=timedelta(hours=4))
    record(company, "delete_user", ago=timedelta(days=2))
    record(company, "update_group", ago=timedelta(days=6, hours=23))
    record(company, outcome=Outcome.FAILED, ago=timedelta(days=3))
    record(company, ago=timedelta(days=8))  # in the chart, not in the 7 days
    record(company, ago=timedelta(days=20))  # in neither


def test_the_dashboard_counts_members_and_changes_of_the_last_day_and_week(
    admin_client, company, week_of_activity
):
    team = TeamFactory(company=company, display_name="Sales")
    team.members.add(*LearnerFactory.create_batch(3, company=company))
    TeamFactory(company=company).members.add(LearnerFactory(company=company))

    with time_machine.travel(NOW, tick=False):
        card = activity_card(text_of(admin_client.get(DASHBOARD_URL)))
    assert mini_stat(card, "Team members") == 4
    assert mini_stat(card, "Changes, last 24 hours") == 3
    assert mini_stat(card, "Changes, last 7 days") == 5
    assert mini_stat(card, "Failed requests, last 24 hours") == 2
    assert "mini-stats__item--danger" in card


def test_real_scim_requests_are_counted(admin_client, company, generated_key):
    entra = ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")
    ids = [
        entra.post_json(f"{BASE}/Users", {"userName": f"u{i}@contoso.com"}).json()["id"]
        for i in range(2)
    ]
    sales = entra.post_json(f"{BASE}/Groups", {"schemas": [GROUP], "displayName": "Sales"}).json()
    entra.patch_ops(
        f"{BASE}/Groups/{sales['id']}",
        {"op": "Add", "path": "members", "value": [{"value": i} for i in ids]},
    )
    entra.get(f'{BASE}/Users?filter=userName eq "u0@contoso.com"')
    entra.post_json(f"{BASE}/Users", {"userName": "u0@contoso.com"})  # 409

    card = activity_card(text_of(admin_client.get(DASHBOARD_URL)))
    assert mini_stat(card, "Team members") == 2
    assert mini_stat(card, "Changes, last 24 hours") == 4
    assert mini_stat(card, "Failed requests, last 24 hours") == 1
    page = text_of(admin_client.get(DASHBOARD_URL))
    assert "2 active" in page


def test_the_chart_draws_one_bar_per_day_server_side(admin_client, company, week_of_activity):
    with time_machine.travel(NOW, tick=False):
        card = activity_card(text_of(admin_client.get(DASHBOARD_URL)))
    svg = card[card.index("<svg") : card.index("</svg>")]
    assert 'role="img"' in svg
    assert '<desc id="chart-desc">6 changes and 3 failed requests in 14 days.</desc>' in svg
    assert svg.count('class="chart__day"') == 14
    assert "<title>26 Nov: 2 changes, 2 failed requests</title>" in svg
    assert "<title>25 Nov: 1 change, 0 failed requests</title>" in svg
    assert "<title>23 Nov: 0 changes, 1 failed request</title>" in svg
    assert "<title>18 Nov: 1 change, 0 failed requests</title>" in svg
    assert "<title>13 Nov: 0 changes, 0 failed requests</title>" in svg
    assert svg.count("chart__bar--changes") == 5  # days 26, 25 (23 h ago), 24, 19, 18 Nov
    assert svg.count("chart__bar--failures") == 2
    # No script, no inline style, no external asset: a strict CSP allows it.
    assert "style=" not in card
    assert "<script" not in card
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    # Screen readers get the numbers as a table.
    assert '<th scope="row">26 Nov 2026</th><td>2</td><td>2</td>' in card


def test_the_busiest_day_fills_the_chart_and_the_others_scale(company):
    days = [
        ActivityDay(day=NOW.date() - timedelta(days=2), changes=10, failures=0),
        ActivityDay(day=NOW.date() - timedelta(days=1), changes=3, failures=2),
        ActivityDay(day=NOW.date(), changes=0, failures=0),
    ]
    chart = activity_chart_build(days, width=300, height=122)
    busiest, mixed, empty = chart.bars
    plot_height = chart.plot_bottom - 8
    assert busiest.changes_height == plot_height  # 10 is the top gridline
    assert mixed.changes_height == pytest.approx(plot_height * 0.3)
    assert mixed.failures_height == pytest.approx(plot_height * 0.2)
    assert mixed.failures_y + mixed.failures_height == pytest.approx(mixed.changes_y)
    assert (empty.changes_height, empty.failures_height) == (0, 0)
    assert [line.value for line in chart.grid] == [0, 5, 10]
    assert [bar.show_label for bar in chart.bars] == [True, False, True]


def test_a_company_without_activity_sees_zeros_and_an_empty_chart(admin_client, company):
    card = activity_card(text_of(admin_client.get(DASHBOARD_URL)))
    assert mini_stat(card, "Changes, last 7 days") == 0
    assert "chart__bar" not in card.replace("chart__bar--", "")  # no bars drawn
    assert "0 changes and 0 failed requests in 14 days." in card


def test_another_companys_activity_is_not_counted(
    admin_client, company, other_company, week_of_activity
):
    for _ in range(5):
        record(other_company, ago=timedelta(hours=1))
    TeamFactory(company=other_company).members.add(LearnerFactory(company=other_company))
    summary = provisioning_summary_get(company=company, now=NOW)
    assert (summary.changes_24h, summary.member_count) == (3, 0)
    assert provisioning_summary_get(company=other_company, now=NOW).changes_24h == 5


def test_the_counts_cost_two_queries_whatever_the_volume(company, django_assert_num_queries):
    ProvisioningEvent.objects.bulk_create(
        ProvisioningEvent(
            company=company,
            method="POST",
            path=f"{BASE}/Users",
            operation="create_user",
            status_code=201,
            outcome=Outcome.SUCCESS,
            created_at=NOW - timedelta(minutes=7 * i),
        )
        for i in range(3000)
    )
    with django_assert_num_queries(2):
        summary = provisioning_summary_get(company=company, now=NOW)
    assert summary.changes_24h == 206  # one every 7 minutes: 0, 7, ... 1435
    # From 13 Nov 00:00 to 26 Nov 15:00 UTC: 19,620 minutes, one row every 7.
    assert sum(day.changes for day in summary.days) == 19620 // 7 + 1
