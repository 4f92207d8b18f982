"""The Dashboard's counts of a company's provisioning: memberships, changes, failures per day."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from qaportal.accounts.models import Company, GroupMembership

from ..models import CHANGE_OPERATIONS, ProvisioningEvent
from .health import SCIM_REQUESTS


@dataclass(frozen=True)
class ActivityDay:
    day: date
    changes: int  # successful creates, updates, deactivations, deletions, member changes
    failures: int  # failed requests and requests refused for their key


@dataclass(frozen=True)
class ProvisioningSummary:
    """What the Dashboard counts besides people and teams, and the activity per day."""

    member_count: int
    changes_24h: int
    changes_7d: int
    failures_24h: int
    days: list[ActivityDay]  # oldest first, today (UTC) last


def provisioning_summary_get(
    *, company: Company, now: datetime, days: int = 14
) -> ProvisioningSummary:
    """Count team memberships and the changes made by SCIM, in total and per UTC day.

    Two queries: a COUNT of memberships, and one aggregate over the last `days` days of the
    log, a range scan of the company's (created_at) index.
    """
    today = now.astimezone(UTC).date()
    start = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), tzinfo=UTC)
    day_ago, week_ago = now - timedelta(hours=24), now - timedelta(days=7)
    is_change = Q(outcome=ProvisioningEvent.Outcome.SUCCESS, operation__in=CHANGE_OPERATIONS)
    is_failure = ~Q(outcome=ProvisioningEvent.Outcome.SUCCESS) & SCIM_REQUESTS
    rows = (
        ProvisioningEvent.objects.filter(company=company, created_at__gte=start)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day")
        .annotate(
            changes=Count("id", filter=is_change),
            failures=Count("id", filter=is_failure),
            changes_24h=Count("id", filter=is_change & Q(created_at__gte=day_ago)),
            changes_7d=Count("id", filter=is_change & Q(created_at__gte=week_ago)),
            failures_24h=Count("id", filter=is_failure & Q(created_at__gte=day_ago)),
        )
        .order_by()
    )
    by_day = {row["day"]: row for row in rows}
    series = [
        ActivityDay(
            day=day,
            changes=by_day.get(day, {}).get("changes", 0),
            failures=by_day.get(day, {}).get("failures", 0),
        )
        for day in (today - timedelta(days=offset) for offset in range(days - 1, -1, -1))
    ]
    return ProvisioningSummary(
        member_count=GroupMembership.objects.filter(group__company=company).count(),
        changes_24h=sum(row["changes_24h"] for row in by_day.values()),
        changes_7d=sum(row["changes_7d"] for row in by_day.values()),
        failures_24h=sum(row["failures_24h"] for row in by_day.values()),
        days=series,
    )
