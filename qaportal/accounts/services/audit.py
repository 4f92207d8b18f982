"""The accounts side of the audit trail: one row per change to an admin account."""

from datetime import datetime

from ..models import AccountAuditEvent, User


def account_audit_record(
    *,
    company_id: int | None,
    action: str,
    actor: User | None,
    subject_email: str = "",
    ip_address: str | None = None,
    now: datetime,
    detail: dict | None = None,
) -> AccountAuditEvent | None:
    """Append one AccountAuditEvent. Call it inside the service's transaction.

    Staff accounts belong to no company and have no company audit trail: for them
    (`company_id` None) nothing is written and None is returned.
    """
    if company_id is None:
        return None
    return AccountAuditEvent.objects.create(
        company_id=company_id,
        action=action,
        actor=actor,
        subject_email=subject_email,
        ip_address=ip_address,
        detail=detail or {},
        created_at=now,
    )
