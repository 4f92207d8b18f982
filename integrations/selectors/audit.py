"""Reads of a company's audit trail: key events and admin account events, newest first."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import CharField, QuerySet, Value

from qaportal.accounts.models import AccountAuditEvent, Company

from ..models import AuditEvent
from .keys import audit_event_list

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
