"""Reads of the provisioning activity log: the filtered log, newest first, and keyset pages.

Every function takes the company and filters on it in SQL.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q, QuerySet

from qaportal.accounts.models import Company

from ..models import CHANGE_OPERATIONS, NON_SCIM_OPERATIONS, ProvisioningEvent


@dataclass(frozen=True)
class ActivityFilter:
    """What the activity page, its CSV export and the API filter on; blank means all.

    Plain strings, so that an export job can keep a filter as JSON.
    """

    outcome: str = ""  # a ProvisioningEvent.Outcome value
    operation: str = ""  # a ProvisioningEvent.Operation value
    resource_type: str = ""  # "User" or "Group"
    search: str = ""  # any part of a userName or displayName, any case
    show: str = ""  # "changes": changes, sign-ins and failures (no successful reads); "": all
    since: str = ""  # an ISO date: from its start (UTC)
    until: str = ""  # an ISO date: up to its end (UTC)

    @property
    def is_blank(self) -> bool:
        """No filter beyond `show` (which the page always sets)."""
        return not (
            self.outcome
            or self.operation
            or self.resource_type
            or self.search
            or self.since
            or self.until
        )


def _day_start(value: str, *, days_later: int = 0) -> datetime | None:
    """The start (UTC) of the ISO date `value`, `days_later` days on; None if not a date."""
    try:
        day = date.fromisoformat(value) + timedelta(days=days_later)
    except (ValueError, OverflowError):
        return None
    return datetime.combine(day, time.min, tzinfo=UTC)


def provisioning_event_list(
    *, company: Company, filters: ActivityFilter | None = None
) -> QuerySet[ProvisioningEvent]:
    """The company's SCIM requests matching `filters`, newest first (created_at, id).

    Filters on the company in SQL: a request refused before its key was found has no company
    and is never shown. The equality filters and the date range are served, with the order,
    by an index of (company, <column>, created_at, id); the search matches any part of
    `resource_name` (the userName or displayName a request was about) in any case, through a
    trigram index of UPPER(resource_name) on PostgreSQL (integrations.0010).
    """
    filters = filters or ActivityFilter()
    events = ProvisioningEvent.objects.filter(company=company)
    if filters.outcome:
        events = events.filter(outcome=filters.outcome)
    if filters.operation:
        events = events.filter(operation=filters.operation)
    if filters.resource_type:
        events = events.filter(resource_type=filters.resource_type)
    if filters.search:
        events = events.filter(resource_name__icontains=filters.search)
    if filters.show == "changes":
        # Changes, Microsoft sign-ins and every failure: all but Entra's successful reads.
        events = events.filter(
            Q(operation__in=CHANGE_OPERATIONS | NON_SCIM_OPERATIONS)
            | ~Q(outcome=ProvisioningEvent.Outcome.SUCCESS)
        )
    since = _day_start(filters.since)
    until = _day_start(filters.until, days_later=1)
    if since is not None:
        events = events.filter(created_at__gte=since)
    if until is not None:
        events = events.filter(created_at__lt=until)
    return events.select_related("api_key").order_by("-created_at", "-id")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Microseconds since the epoch (up to year ~5100) and a row id, in ASCII digits only.
_CURSOR = re.compile(r"([0-9]{1,17})\.([0-9]{1,18})")


@dataclass(frozen=True)
class ActivityCursor:
    """A position in the log, (created_at, id) of a row: the keyset of the page links."""

    created_at: datetime
    id: int

    @classmethod
    def of(cls, event: ProvisioningEvent) -> "ActivityCursor":
        return cls(created_at=event.created_at, id=event.pk)

    def encode(self) -> str:
        return f"{(self.created_at - _EPOCH) // timedelta(microseconds=1)}.{self.id}"

    @classmethod
    def decode(cls, value: str | None) -> "ActivityCursor | None":
        """The cursor in a page link, or None for anything malformed (then: the first page)."""
        match = _CURSOR.fullmatch(value or "")
        if match is None:
            return None
        micros, pk = match.groups()
        return cls(created_at=_EPOCH + timedelta(microseconds=int(micros)), id=int(pk))


@dataclass(frozen=True)
class ActivityPage:
    """One page of the log with the cursors of its Newer and Older links (None: no link)."""

    events: list[ProvisioningEvent]
    newer_cursor: str | None = None
    older_cursor: str | None = None


def provisioning_event_page(
    *,
    company: Company,
    filters: ActivityFilter | None = None,
    before: ActivityCursor | None = None,
    after: ActivityCursor | None = None,
    size: int = 50,
) -> ActivityPage:
    """A page of `provisioning_event_list`: the newest, or the `size` rows older than
    `before`, or the `size` rows newer than `after`.

    Keyset pagination on (created_at, id): one query of `size + 1` rows served by the
    company's (created_at, id) indexes however deep the page, and no COUNT of the log.
    """
    events = provisioning_event_list(company=company, filters=filters)
    if after is not None:
        # Newer rows: walk the index upwards from the cursor, then show them newest first.
        newer = events.filter(
            Q(created_at__gt=after.created_at) | Q(created_at=after.created_at, id__gt=after.id),
            created_at__gte=after.created_at,  # a range bound the index can seek to
        ).order_by("created_at", "id")
        rows = list(newer[: size + 1])
        has_newer = len(rows) > size
        rows = rows[:size][::-1]
        if not rows:
            return provisioning_event_page(company=company, filters=filters, size=size)
        return ActivityPage(
            events=rows,
            newer_cursor=ActivityCursor.of(rows[0]).encode() if has_newer else None,
            older_cursor=ActivityCursor.of(rows[-1]).encode(),
        )
    if before is not None:
        events = events.filter(
            Q(created_at__lt=before.created_at) | Q(created_at=before.created_at, id__lt=before.id),
            created_at__lte=before.created_at,
        )
    rows = list(events[: size + 1])
    has_older = len(rows) > size
    rows = rows[:size]
    newer_cursor = None
    if before is not None:
        newer_cursor = (ActivityCursor.of(rows[0]) if rows else before).encode()
    return ActivityPage(
        events=rows,
        newer_cursor=newer_cursor,
        older_cursor=ActivityCursor.of(rows[-1]).encode() if has_older else None,
    )


def provisioning_event_get(*, company: Company, event_id: int) -> ProvisioningEvent | None:
    """One row of the company's log with its key, or None (another company's row too)."""
    return (
        ProvisioningEvent.objects.filter(company=company, pk=event_id)
        .select_related("api_key")
        .first()
    )
