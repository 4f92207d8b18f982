"""Connection health: whether provisioning works, judged by the requests that arrived.

Every function takes the company and filters on it in SQL.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Min, Q

from qaportal.accounts.models import Company

from ..models import NON_SCIM_OPERATIONS, ApiKey, ProvisioningEvent
from .keys import IntegrationOverview

# Connection health and the Dashboard's failure counts look at Entra's SCIM requests only.
SCIM_REQUESTS = ~Q(operation__in=NON_SCIM_OPERATIONS)


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

    class State(models.TextChoices):
        NOT_CONNECTED = "not_connected", "Not connected"
        WAITING = "waiting", "Waiting for Microsoft Entra ID"
        CONNECTED = "connected", "Connected"
        FAILING = "failing", "Failing"
        EXPIRED_KEY = "expired_key", "Using an expired key"

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
