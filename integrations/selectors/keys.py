"""Reads of a company's integrations, their API keys and the key audit trail.

Every function takes the company and filters on it in SQL; none raises Http404 (a view or a
mixin turns None into its own 404).
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import models
from django.db.models import Q, QuerySet

from qaportal.accounts.models import Company

from ..models import ApiKey, AuditEvent, Integration


def integration_list(*, company: Company) -> QuerySet[Integration]:
    return Integration.objects.filter(company=company).order_by("provider")


def integration_get(*, company: Company, provider: str) -> Integration | None:
    return integration_list(company=company).filter(provider=provider).first()


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


@dataclass(frozen=True)
class IntegrationOverview:
    """Where an integration stands: its current key and the older keys still in grace."""

    class State(models.TextChoices):
        NOT_CONNECTED = "not_connected", "Not connected"
        ACTIVE = "active", "Active"
        EXPIRING = "expiring", "Key expiring"

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
