"""Passwords chosen through an emailed reset link. Atomic and audited."""

from datetime import datetime

from axes.utils import reset as axes_reset
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from ..models import AccountAuditEvent, User
from .audit import account_audit_record


@sensitive_variables("password")
@transaction.atomic
def password_reset_complete(
    *,
    user: User,
    password: str,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> User:
    """Give `user` the new `password` after they opened a valid reset link.

    Changing the password ends every session of the account (Django ties sessions to the
    password hash) and makes the link, and any other reset link, useless. The sign-in lockout
    of this address and email is lifted, so the owner can sign in with the new password at
    once; other addresses stay locked. The password must already have passed
    AUTH_PASSWORD_VALIDATORS (the form does it). Writes an AccountAuditEvent (company admins).
    """
    now = now or timezone.now()
    user.set_password(password)
    user.save(update_fields=["password", "updated_at"])
    if ip_address and user.email:
        axes_reset(ip=ip_address, username=user.email)
    account_audit_record(
        company_id=user.company_id,
        action=AccountAuditEvent.Action.PASSWORD_RESET,
        actor=user,
        subject_email=user.email or "",
        ip_address=ip_address,
        now=now,
    )
    return user
