"""Reads of the integrations app. Every function takes the company and filters on it in SQL."""

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db.models import CharField, Count, Min, Q, QuerySet, Value
from django.db.models.functions import TruncDate
from django.http import Http404

from qaportal.accounts.models import AccountAuditEvent, Company, GroupMembership

from .models import ApiKey, AuditEvent, Integration, ProvisioningEvent


def integration_list(*, company: Company) -> QuerySet[Integration]:
    return Integration.objects.filter(company=company).order_by("provider")


def integration_get(*, company: Company, provider: str) -> Integration | None:
    return integration_list(company=company).filter(provider=provider).first()


def integration_get_or_404(*, company: Company, provider: str) -> Integration:
    """The company's integration with this provider, or Http404 (the portal's 404 page, DRF's
    JSON 404): another company's integration is the same 404 as a missing one. The one lookup
    of an integration named in a URL, for the portal pages and the API alike.
    """
    integration = integration_get(company=company, provider=provider)
    if integration is None:
        raise Http404("No Integration matches the given query.")
    return integration


def api_key_list(*, company: Company, integration: Integration | None = None) -> QuerySet[ApiKey]:
    keys = ApiKey.objects.filter(integration__company=company).select_related(
        "created_by", "revoked_by", "integration"
    )
    if integration is not None:
        keys = keys.filter(integration=integration)
    return keys.order_by("-created_at", "-id")


def audit_event_list(*, company: Company) -> QuerySet[AuditEvent]:
    return (
        AuditEvent.objects.filter(company=company)
        .select_related("actor")
        .order_by("-created_at", "-id")
    )


# The two kinds of row of the audit trail: key events (AuditEvent) and admin account events
# (accounts' AccountAuditEvent, which accounts writes without knowing this app).
AUDIT_KIND_KEY = "key"
AUDIT_KIND_ACCOUNT = "account"


def audit_trail_list(*, company: Company) -> QuerySet:
    """The company's whole audit trail, newest first, as (kind, id, created_at) rows.

    One UNION ALL of both tables, so a page of it (Paginator's COUNT and LIMIT/OFFSET) is two
    queries whatever the mix; audit_trail_entries then loads that page's rows.
    """
    keys = (
        AuditEvent.objects.filter(company=company)
        .annotate(kind=Value(AUDIT_KIND_KEY, output_field=CharField()))
        .values_list("kind", "id", "created_at")
    )
    accounts = (
        AccountAuditEvent.objects.filter(company=company)
        .annotate(kind=Value(AUDIT_KIND_ACCOUNT, output_field=CharField()))
        .values_list("kind", "id", "created_at")
    )
    return keys.union(accounts, all=True).order_by("-created_at", "-id")


@dataclass(frozen=True)
class AuditTrailEntry:
    """One row of the audit trail: a key event or an admin account event."""

    key_event: AuditEvent | None = None
    account_event: AccountAuditEvent | None = None


def audit_trail_entries(
    *, company: Company, rows: list[tuple[str, int, datetime]]
) -> list[AuditTrailEntry]:
    """The events of `rows` (a page of audit_trail_list), in that order: one query per kind."""
    key_ids = [pk for kind, pk, _ in rows if kind == AUDIT_KIND_KEY]
    account_ids = [pk for kind, pk, _ in rows if kind == AUDIT_KIND_ACCOUNT]
    keys = audit_event_list(company=company).in_bulk(key_ids) if key_ids else {}
    accounts = (
        AccountAuditEvent.objects.filter(company=company)
        .select_related("actor")
        .in_bulk(account_ids)
        if account_ids
        else {}
    )
    entries = []
    for kind, pk, _ in rows:
        if kind == AUDIT_KIND_KEY and pk in keys:
            entries.append(AuditTrailEntry(key_event=keys[pk]))
        elif kind == AUDIT_KIND_ACCOUNT and pk in accounts:
            entries.append(AuditTrailEntry(account_event=accounts[pk]))
    return entries


@dataclass(frozen=True)
class IntegrationOverview:
    """Where an integration stands: its current key and the older keys still in grace."""

    class State:
        NOT_CONNECTED = "not_connected"
        ACTIVE = "active"
        EXPIRING = "expiring"

    integration: Integration
    current_key: ApiKey | None = None
    expiring_keys: list[ApiKey] = field(default_factory=list)
    now: datetime | None = None

    @property
    def state(self) -> str:
        if self.expiring_keys:
            return self.State.EXPIRING
        if self.current_key is not None:
            return self.State.ACTIVE
        return self.State.NOT_CONNECTED

    @property
    def next_deadline(self) -> datetime | None:
        return self.expiring_keys[0].expires_at if self.expiring_keys else None

    @property
    def next_deadline_in(self) -> str:
        """The time the first expiring key has left, as the banner says it: "7 h 12 min"."""
        if self.next_deadline is None or self.now is None:
            return ""
        return duration_short(self.next_deadline - self.now)


def integration_overview_list(*, company: Company, now: datetime) -> list[IntegrationOverview]:
    """The company's integrations with their usable (active or in-grace) keys, by the clock.

    Two queries whatever the number of integrations and of keys ever generated: revoked and
    expired keys are filtered out in SQL.
    """
    usable_keys = (
        api_key_list(company=company)
        .filter(revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    )
    current: dict[int, ApiKey] = {}
    expiring: dict[int, list[ApiKey]] = {}
    for key in usable_keys:  # newest first
        if key.expires_at is None:
            current.setdefault(key.integration_id, key)
        else:
            expiring.setdefault(key.integration_id, []).append(key)
    return [
        IntegrationOverview(
            integration=integration,
            current_key=current.get(integration.pk),
            expiring_keys=sorted(expiring.get(integration.pk, []), key=lambda k: k.expires_at),
            now=now,
        )
        for integration in integration_list(company=company)
    ]


def duration_short(delta: timedelta) -> str:
    """A duration the way a banner says it: "7 h 12 min", "2 d 3 h", "less than a minute"."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "less than a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


# --- Provisioning activity: the words for each operation ------------------------------------
#
# The operation names are the ones scim/activity.py and scim/views.py record. Every page, the
# CSV export and the Dashboard word an event through `activity_summary`, so this table is the
# one place to change a phrase.


@dataclass(frozen=True)
class Operation:
    """One SCIM operation: its filter label and its phrase when it worked or not."""

    code: str
    label: str  # the filter option and CSV column: "Create user"
    done: str  # a success, "{name}" filled in: "Created user {name}"
    resource_type: str  # "User", "Group" or "" (discovery)
    is_change: bool = False  # counted as a change of the directory on the Dashboard
    tried: str = ""  # a failure or a refused key, if not "<label> {name}"
    # A request Entra's provisioning made; False for what sso/ logs (people signing in), which
    # says nothing about whether provisioning works.
    is_scim: bool = True

    @property
    def attempted(self) -> str:
        return self.tried or f"{self.label} {{name}}"


_U, _G = "User", "Group"
OPERATIONS: dict[str, Operation] = {
    op.code: op
    for op in [
        Operation("create_user", "Create user", "Created user {name}", _U, True),
        Operation("update_user", "Update user", "Updated user {name}", _U, True),
        Operation("replace_user", "Replace user", "Replaced user {name}", _U, True),
        Operation("deactivate_user", "Deactivate user", "Deactivated {name}", _U, True),
        Operation("reactivate_user", "Reactivate user", "Reactivated {name}", _U, True),
        Operation("delete_user", "Delete user", "Deleted user {name}", _U, True),
        Operation("get_user", "Read user", "Read user {name}", _U),
        # Written by sso/ (Sign in with Microsoft), not by SCIM; `detail` says why it failed.
        Operation(
            "sso_sign_in", "Microsoft sign-in", "{name} signed in with Microsoft", _U,
            tried="Microsoft sign-in refused for {name}", is_scim=False,
        ),
        Operation("filter_users", "Look up user", "Looked up user {name}", _U),
        Operation("list_users", "List users", "Listed users", _U),
        Operation("create_group", "Create group", "Created group {name}", _G, True),
        Operation("update_group", "Update group", "Updated group {name}", _G, True),
        Operation("replace_group", "Replace group", "Replaced group {name}", _G, True),
        Operation("delete_group", "Delete group", "Deleted group {name}", _G, True),
        Operation(
            "add_members", "Add members", "Added {members} to {name}", _G, True,
            tried="Add members to {name}",
        ),
        Operation(
            "remove_members", "Remove members", "Removed {members} from {name}", _G, True,
            tried="Remove members from {name}",
        ),
        Operation(
            "update_members", "Change members", "Changed the members of {name}", _G, True,
            tried="Change the members of {name}",
        ),
        Operation(
            "replace_members", "Replace members", "Replaced the members of {name}", _G, True,
            tried="Replace the members of {name}",
        ),
        Operation("get_group", "Read group", "Read group {name}", _G),
        Operation("filter_groups", "Look up group", "Looked up group {name}", _G),
        Operation("list_groups", "List groups", "Listed groups", _G),
        Operation(
            "get_service_provider_config", "Read configuration",
            "Read the service provider configuration", "",
            tried="Read the service provider configuration",
        ),
        Operation("get_schemas", "Read schemas", "Read the schemas", ""),
        Operation("get_resource_types", "Read resource types", "Read the resource types", ""),
        Operation(
            "unsupported_endpoint", "Unsupported endpoint", "Called an unsupported endpoint", "",
            tried="Call an unsupported endpoint",
        ),
    ]
}  # fmt: skip

CHANGE_OPERATIONS = frozenset(code for code, op in OPERATIONS.items() if op.is_change)
# Connection health and the Dashboard's failure counts look at Entra's SCIM requests only.
SCIM_REQUESTS = ~Q(operation__in=[code for code, op in OPERATIONS.items() if not op.is_scim])
RESOURCE_TYPES = {"User": "Users", "Group": "Groups"}

# The member counts scim/views.py writes in `detail` on success: "3 members added; 1 members
# removed" or "5 members set".
_MEMBER_COUNT = re.compile(r"(\d+) members? (added|removed|set)\b")


def _members(count: int | None) -> str:
    if count is None:
        return "members"
    return f"{count} member" if count == 1 else f"{count} members"


def activity_summary(event: ProvisioningEvent) -> str:
    """An event in words: "Created user alice@contoso.com", "Added 3 members to Sales".

    Successes read in the past tense; failures and refused keys as what was attempted
    ("Create user alice@contoso.com"). A count that was not recorded is left out.
    """
    name = event.resource_name or event.resource_id
    operation = OPERATIONS.get(event.operation)
    if operation is None:
        words = (event.operation or f"{event.method} request").replace("_", " ")
        return f"{words[:1].upper()}{words[1:]} {name}".strip()
    if event.outcome != ProvisioningEvent.Outcome.SUCCESS:
        return _fill(operation.attempted, name=name)
    counts = {verb: int(n) for n, verb in _MEMBER_COUNT.findall(event.detail)}
    if event.operation == "add_members":
        return _fill(operation.done, name=name, members=_members(counts.get("added")))
    if event.operation == "remove_members":
        return _fill(operation.done, name=name, members=_members(counts.get("removed")))
    if event.operation == "replace_members" and "set" in counts:
        return _fill(f"{operation.done} ({{members}})", name=name, members=_members(counts["set"]))
    if event.operation == "update_members" and counts:
        added, removed = counts.get("added", 0), counts.get("removed", 0)
        return _fill(f"{operation.done}: {added} added, {removed} removed", name=name)
    return _fill(operation.done, name=name)


def _fill(template: str, **values: str) -> str:
    text = template.format(**values)
    # A request without a resource name ("Create user" refused before its body was read).
    return " ".join(text.split()).replace(" :", ":").replace("( ", "(").rstrip(" :")


def operation_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The operations for a filter, grouped as Users, Groups and Other."""
    groups: dict[str, list[tuple[str, str]]] = {"Users": [], "Groups": [], "Other": []}
    for op in OPERATIONS.values():
        groups[RESOURCE_TYPES.get(op.resource_type, "Other")].append((op.code, op.label))
    return list(groups.items())


# --- Provisioning activity: the filtered log, newest first -----------------------------------


@dataclass(frozen=True)
class ActivityFilter:
    """What the activity page, its CSV export and the API filter on; blank means all."""

    outcome: str = ""  # a ProvisioningEvent.Outcome value
    operation: str = ""  # an OPERATIONS code
    resource_type: str = ""  # "User" or "Group"
    search: str = ""  # a whole userName or displayName, any case

    @property
    def is_blank(self) -> bool:
        return not (self.outcome or self.operation or self.resource_type or self.search)


def provisioning_event_list(
    *, company: Company, filters: ActivityFilter | None = None
) -> QuerySet[ProvisioningEvent]:
    """The company's SCIM requests matching `filters`, newest first (created_at, id).

    Filters on the company in SQL: a request refused before its key was found has no company
    and is never shown. Every filter is an equality served, with the order, by an index of
    (company, <column>, created_at, id); the search matches `resource_name` (the userName or
    displayName a request was about) in any case, through the UPPER(resource_name) index.
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
        events = events.filter(resource_name__iexact=filters.search)
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


# --- Connection health ----------------------------------------------------------------------


@dataclass(frozen=True)
class FailureReason:
    """The most frequent error among recent failed requests."""

    status_code: int
    scim_type: str
    detail: str
    count: int


@dataclass(frozen=True)
class ConnectionHealth:
    """Whether provisioning works, judged only by the requests that actually arrived.

    Rules, on the company's last HEALTH_RECENT_REQUESTS requests (newest first):
    - none, and no usable key: NOT_CONNECTED; none, with a key: WAITING;
    - a request refused for a revoked or expired key since the last success: EXPIRED_KEY;
    - at least half of them failed, or the last HEALTH_FAILING_STREAK all failed: FAILING;
    - otherwise CONNECTED (`is_quiet` once nothing has arrived for HEALTH_QUIET_AFTER).
    """

    class State:
        NOT_CONNECTED = "not_connected"
        WAITING = "waiting"
        CONNECTED = "connected"
        FAILING = "failing"
        EXPIRED_KEY = "expired_key"

    state: str
    now: datetime
    current_key: ApiKey | None = None
    expiring_keys: list[ApiKey] = field(default_factory=list)
    last_request_at: datetime | None = None
    last_success_at: datetime | None = None
    recent_count: int = 0
    recent_failed_count: int = 0
    top_reason: FailureReason | None = None
    rejected_key: ApiKey | None = None
    rejected_at: datetime | None = None
    rejected_count: int = 0
    current_key_first_used_at: datetime | None = None

    @property
    def is_quiet(self) -> bool:
        return (
            self.last_request_at is not None
            and self.now - self.last_request_at > HEALTH_QUIET_AFTER
        )

    @property
    def old_keys(self) -> list[tuple[ApiKey, str]]:
        """The keys in their grace period, each with the time it has left ("7 h 12 min")."""
        return [(key, duration_short(key.expires_at - self.now)) for key in self.expiring_keys]

    @property
    def rejected_key_status(self) -> str:
        return self.rejected_key.status_at(self.now) if self.rejected_key else ""

    @property
    def has_usable_key(self) -> bool:
        return self.current_key is not None or bool(self.expiring_keys)

    @property
    def in_grace(self) -> bool:
        return bool(self.expiring_keys) and self.current_key is not None

    @property
    def key_in_use(self) -> str:
        """During a grace period, which key Entra sends: "old", "new", "both" or "none"."""
        if not self.in_grace:
            return ""
        old_used = max(
            (key.last_used_at for key in self.expiring_keys if key.last_used_at), default=None
        )
        new_first = self.current_key_first_used_at
        if new_first is None:
            return "old" if old_used else "none"
        # last_used_at is written at most once per resolution, so allow that much overlap.
        if old_used and old_used > new_first + settings.QA_KEY_LAST_USED_RESOLUTION:
            return "both"
        return "new"


HEALTH_RECENT_REQUESTS = 50
HEALTH_FAILING_STREAK = 5
# Entra syncs about every 40 minutes; three missed cycles is worth a word.
HEALTH_QUIET_AFTER = timedelta(hours=2)


def connection_health_get(
    *,
    company: Company,
    overview: IntegrationOverview,
    now: datetime,
    with_key_usage: bool = True,
) -> ConnectionHealth:
    """The company's connection health (see ConnectionHealth for the rules).

    At most three queries, each bounded by an index whatever the size of the log: the last
    requests (with their keys), the last success when it is older than those, and during a
    grace period (unless `with_key_usage` is False) the first request made with the new key.
    """
    keys = {
        "current_key": overview.current_key,
        "expiring_keys": overview.expiring_keys,
        "now": now,
    }
    recent = list(
        ProvisioningEvent.objects.filter(SCIM_REQUESTS, company=company)
        .select_related("api_key")
        .only(
            "created_at",
            "outcome",
            "status_code",
            "scim_type",
            "detail",
            "api_key__public_id",
            "api_key__last4",
            "api_key__expires_at",
            "api_key__revoked_at",
        )
        .order_by("-created_at", "-id")[:HEALTH_RECENT_REQUESTS]
    )
    first_used = None
    if with_key_usage and overview.current_key is not None and overview.expiring_keys:
        first_used = (
            ProvisioningEvent.objects.filter(
                company=company,
                api_key=overview.current_key,
                created_at__gte=overview.current_key.created_at,
            )
            .exclude(outcome=ProvisioningEvent.Outcome.REJECTED_KEY)
            .aggregate(first=Min("created_at"))["first"]
        )
    keys["current_key_first_used_at"] = first_used
    if not recent:
        state = ConnectionHealth.State.WAITING
        if overview.current_key is None and not overview.expiring_keys:
            state = ConnectionHealth.State.NOT_CONNECTED
        return ConnectionHealth(state=state, **keys)

    success = ProvisioningEvent.Outcome.SUCCESS
    last_success_index = next(
        (i for i, event in enumerate(recent) if event.outcome == success), None
    )
    if last_success_index is not None:
        last_success_at = recent[last_success_index].created_at
    else:
        last_success_at = (
            ProvisioningEvent.objects.filter(SCIM_REQUESTS, company=company, outcome=success)
            .order_by("-created_at", "-id")
            .values_list("created_at", flat=True)
            .first()
        )
    since_success = recent[:last_success_index]
    rejected = [e for e in since_success if e.outcome == ProvisioningEvent.Outcome.REJECTED_KEY]
    failed = [e for e in recent if e.outcome == ProvisioningEvent.Outcome.FAILED]
    reasons = Counter((e.status_code, e.scim_type, e.detail) for e in failed)
    top = reasons.most_common(1)
    facts = {
        "last_request_at": recent[0].created_at,
        "last_success_at": last_success_at,
        "recent_count": len(recent),
        "recent_failed_count": len(failed),
        "top_reason": FailureReason(*top[0][0], count=top[0][1]) if top else None,
        **keys,
    }
    if rejected:
        return ConnectionHealth(
            state=ConnectionHealth.State.EXPIRED_KEY,
            rejected_key=rejected[0].api_key,
            rejected_at=rejected[0].created_at,
            rejected_count=len(rejected),
            **facts,
        )
    streak = recent[:HEALTH_FAILING_STREAK]
    is_failing = 2 * len(failed) >= len(recent) or (
        len(streak) == HEALTH_FAILING_STREAK
        and all(e.outcome == ProvisioningEvent.Outcome.FAILED for e in streak)
    )
    state = ConnectionHealth.State.FAILING if is_failing else ConnectionHealth.State.CONNECTED
    return ConnectionHealth(state=state, **facts)


# --- Dashboard counts -------------------------------------------------------------------------


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
