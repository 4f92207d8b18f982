"""Company admins: invitations, their acceptance, and removal. Atomic and audited.

An invitation's link is issued by the worker that emails it (admin_invitation_link_issue,
called from accounts/emails.py), so its secret exists only in that email: the database keeps a
SHA-256 digest, and the task queue carries ids only.
"""

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from qaportal.enqueue import task_enqueue

from ..exceptions import (
    AdminAlreadyInCompany,
    AdminEmailTaken,
    AdminNotFound,
    CannotRemoveYourself,
    InvitationNotOpen,
    InvitationNotUsable,
    LastAdmin,
)
from ..models import AccountAuditEvent, AdminInvitation, Company, User, invitation_token_digest
from .audit import account_audit_record
from .two_factor import two_factor_devices_delete

logger = logging.getLogger(__name__)


def _email_check(*, company: Company, email: str) -> None:
    existing = User.objects.filter(email=email).first()
    if existing is None:
        return
    if existing.company_id == company.pk and existing.role == User.Role.ADMIN:
        if existing.is_active:
            raise AdminAlreadyInCompany(email)
        return  # a removed admin of this company may be invited back
    raise AdminEmailTaken(email)


def _link_reissue(*, invitation: AdminInvitation, now: datetime) -> None:
    """Kill the current link and queue a new one, valid QA_INVITATION_MAX_AGE from now."""
    invitation.token_hash = ""
    invitation.sent_at = None
    invitation.send_count += 1
    invitation.expires_at = now + settings.QA_INVITATION_MAX_AGE
    if invitation.pk is None:
        invitation.save()
    else:
        invitation.save(update_fields=["token_hash", "sent_at", "send_count", "expires_at"])
    # With the broker down the list shows the link as not sent, and the admin can re-send it.
    task_enqueue(
        "accounts.tasks.admin_invitation_email_send",
        args=[invitation.pk, invitation.send_count],
    )


@transaction.atomic
def admin_invite(
    *,
    company: Company,
    email: str,
    invited_by: User,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> AdminInvitation:
    """Invite `email` to become an admin of `company`: a single-use link, valid for
    QA_INVITATION_MAX_AGE, emailed by a task queued on commit.

    An open invitation of the company to the same address is re-sent instead (a new link,
    the old one dead). The admin account it creates is a new user with this sign-in email,
    whatever learner accounts use the address. Raises AdminAlreadyInCompany for an active admin
    of this company and AdminEmailTaken for an address that signs in as anyone else (another
    company's admin, staff); a removed admin of this company may be invited back. Invitations
    of one company are serialised by a lock on its row. Writes an AccountAuditEvent.
    """
    now = now or timezone.now()
    email = User.objects.normalize_sign_in_email(email)
    Company.objects.select_for_update().filter(pk=company.pk).get()
    _email_check(company=company, email=email)
    open_invitation = (
        AdminInvitation.objects.select_for_update()
        .filter(company=company, email=email, accepted_at__isnull=True, revoked_at__isnull=True)
        .first()
    )
    if open_invitation is not None:
        return admin_invitation_resend(
            invitation=open_invitation, resent_by=invited_by, ip_address=ip_address, now=now
        )
    invitation = AdminInvitation(
        company=company, email=email, invited_by=invited_by, created_at=now, expires_at=now
    )
    _link_reissue(invitation=invitation, now=now)
    account_audit_record(
        company_id=company.pk,
        action=AccountAuditEvent.Action.ADMIN_INVITED,
        actor=invited_by,
        subject_email=email,
        ip_address=ip_address,
        now=now,
    )
    return invitation


def _locked_open(invitation: AdminInvitation) -> AdminInvitation:
    invitation = AdminInvitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise InvitationNotOpen(invitation.status_at(timezone.now()))
    return invitation


@transaction.atomic
def admin_invitation_resend(
    *,
    invitation: AdminInvitation,
    resent_by: User,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> AdminInvitation:
    """Email a new link for an open invitation (pending or expired): the previous link stops
    working at once, and the new one is valid for QA_INVITATION_MAX_AGE. Raises
    InvitationNotOpen if it was accepted or revoked. Writes an AccountAuditEvent."""
    now = now or timezone.now()
    invitation = _locked_open(invitation)
    _link_reissue(invitation=invitation, now=now)
    account_audit_record(
        company_id=invitation.company_id,
        action=AccountAuditEvent.Action.INVITATION_RESENT,
        actor=resent_by,
        subject_email=invitation.email,
        ip_address=ip_address,
        now=now,
    )
    return invitation


@transaction.atomic
def admin_invitation_revoke(
    *,
    invitation: AdminInvitation,
    revoked_by: User,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> AdminInvitation:
    """Withdraw an open invitation: its link stops working at once. Raises InvitationNotOpen
    if it was accepted or revoked already. Writes an AccountAuditEvent."""
    now = now or timezone.now()
    invitation = _locked_open(invitation)
    invitation.revoked_at = now
    invitation.token_hash = ""
    invitation.save(update_fields=["revoked_at", "token_hash"])
    account_audit_record(
        company_id=invitation.company_id,
        action=AccountAuditEvent.Action.INVITATION_REVOKED,
        actor=revoked_by,
        subject_email=invitation.email,
        ip_address=ip_address,
        now=now,
    )
    return invitation


@dataclass(frozen=True)
class IssuedInvitationLink:
    """An invitation and the secret of its new link, for the one email that carries it."""

    invitation: AdminInvitation
    token: str

    def __repr__(self) -> str:  # never let the secret reach a log or a traceback
        return f"IssuedInvitationLink(invitation={self.invitation.pk})"


@sensitive_variables("token")
def admin_invitation_link_issue(
    *, invitation_id: int, send_count: int, now: datetime | None = None
) -> IssuedInvitationLink | None:
    """Make the link of send `send_count` of an open invitation, storing only its digest.

    One conditional UPDATE claims it: nothing is issued (None) when that send was already
    issued, a newer send replaced it, or the invitation was accepted or revoked, so a task
    that runs twice or late sends nothing. `admin_invitation_link_withdraw` gives the claim
    back when the email could not be sent.
    """
    now = now or timezone.now()
    token = secrets.token_urlsafe(32)
    claimed = AdminInvitation.objects.filter(
        pk=invitation_id,
        send_count=send_count,
        token_hash="",
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    ).update(token_hash=invitation_token_digest(token), sent_at=now)
    if not claimed:
        return None
    invitation = AdminInvitation.objects.select_related("company", "invited_by").get(
        pk=invitation_id
    )
    return IssuedInvitationLink(invitation=invitation, token=token)


@sensitive_variables("token")
def admin_invitation_link_withdraw(*, invitation_id: int, token: str) -> None:
    """Undo admin_invitation_link_issue after a failed send, so a retry issues a new link."""
    AdminInvitation.objects.filter(
        pk=invitation_id, token_hash=invitation_token_digest(token)
    ).update(token_hash="", sent_at=None)


@sensitive_variables("token", "password")
@transaction.atomic
def admin_invitation_accept(
    *,
    invitation: AdminInvitation,
    token: str,
    password: str,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> User:
    """Turn a pending invitation into a company admin who signs in with `password`.

    The token is checked again under a row lock (constant-time digest comparison), so a link
    is used once even by two concurrent requests. Creates the admin account, or brings back a
    removed admin of the same company (with the new password and without their old second
    factor). Raises InvitationNotUsable (expired, accepted, revoked, invalid) or
    AdminEmailTaken if the address became another account's meanwhile. The password must
    already have passed AUTH_PASSWORD_VALIDATORS (the form does it). Writes an
    AccountAuditEvent.
    """
    now = now or timezone.now()
    invitation = AdminInvitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.token_hash or not hmac.compare_digest(
        invitation.token_hash, invitation_token_digest(token)
    ):
        raise InvitationNotUsable("invalid")
    status = invitation.status_at(now)
    if status != AdminInvitation.Status.PENDING:
        raise InvitationNotUsable(status)
    existing = User.objects.select_for_update().filter(email=invitation.email).first()
    if existing is None:
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    email=invitation.email,
                    password=password,
                    company_id=invitation.company_id,
                    role=User.Role.ADMIN,
                )
        except IntegrityError as error:  # the address was taken a moment ago
            raise AdminEmailTaken(invitation.email) from error
    elif (
        existing.company_id == invitation.company_id
        and existing.role == User.Role.ADMIN
        and not existing.is_active
    ):
        user = existing
        two_factor_devices_delete(user=user)
        user.set_password(password)
        user.is_active = True
        user.has_two_factor = False
        user.save(update_fields=["password", "is_active", "has_two_factor", "updated_at"])
    else:
        raise AdminEmailTaken(invitation.email)
    invitation.accepted_at = now
    invitation.accepted_user = user
    invitation.token_hash = ""
    invitation.save(update_fields=["accepted_at", "accepted_user", "token_hash"])
    account_audit_record(
        company_id=invitation.company_id,
        action=AccountAuditEvent.Action.INVITATION_ACCEPTED,
        actor=user,
        subject_email=user.email,
        ip_address=ip_address,
        now=now,
        detail={"invited_by": invitation.invited_by.email if invitation.invited_by else ""},
    )
    return user


@transaction.atomic
def admin_remove(
    *,
    company: Company,
    admin_id: int,
    removed_by: User,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> User:
    """Remove an admin from `company`: the account is deactivated, which ends its sessions at
    their next request, and kept (so the audit trail still names who did what).

    Raises AdminNotFound unless `admin_id` is an active admin of `company` (another company's
    admin is not found, like a missing one), CannotRemoveYourself, and LastAdmin when no other
    active admin would be left. The company's active admins are locked, so two admins removing
    each other at once leave one. Writes an AccountAuditEvent.
    """
    now = now or timezone.now()
    admins = list(
        User.objects.select_for_update()
        .filter(company=company, role=User.Role.ADMIN, is_active=True)
        .order_by("pk")
    )
    admin = next((candidate for candidate in admins if candidate.pk == admin_id), None)
    if admin is None:
        raise AdminNotFound()
    if admin.pk == removed_by.pk:
        raise CannotRemoveYourself()
    if len(admins) <= 1:
        raise LastAdmin()
    admin.is_active = False
    admin.save(update_fields=["is_active", "updated_at"])
    account_audit_record(
        company_id=company.pk,
        action=AccountAuditEvent.Action.ADMIN_REMOVED,
        actor=removed_by,
        subject_email=admin.email or "",
        ip_address=ip_address,
        now=now,
    )
    return admin
