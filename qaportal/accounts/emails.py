"""Emails about admin accounts, sent by Celery tasks (accounts/tasks.py), never in a request.

- the invitation to become a company admin, with its single-use link;
- "Forgot your password?", with Django's reset link (one hour, dies with the password change);
- the warning that someone is guessing an account's password, with a reset link.

The secrets in these links are made here, in the worker, at the moment of sending: the task
queue carries ids or the address typed, and the database keeps no link in clear. Requests
queue these tasks the same way whether or not an account exists, so the answer (and its
timing) never tells whether an address has an account.
"""

import logging
import smtplib

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.views.decorators.debug import sensitive_variables

from qaportal.enqueue import task_enqueue

from .models import AccountAuditEvent, User
from .selectors import sign_in_account_list
from .services.admins import admin_invitation_link_issue, admin_invitation_link_withdraw
from .services.audit import account_audit_record

logger = logging.getLogger(__name__)

# What a failed delivery raises: the tasks retry on these.
MAIL_DELIVERY_ERRORS = (smtplib.SMTPException, OSError)


def _send(*, template: str, to: str, context: dict) -> None:
    subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
    body = render_to_string(f"emails/{template}.txt", context)
    EmailMessage(subject=subject, body=body, to=[to]).send()


def _password_reset_url(user: User) -> str:
    path = reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return f"{settings.QA_PORTAL_URL}{path}"


def _context_base() -> dict:
    return {
        "portal_url": settings.QA_PORTAL_URL,
        "support_email": settings.QA_SUPPORT_EMAIL,
        "reset_minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
        "forgot_url": f"{settings.QA_PORTAL_URL}{reverse('accounts:password_reset')}",
    }


@sensitive_variables("issued", "url")
def admin_invitation_email_send(*, invitation_id: int, send_count: int) -> bool:
    """Issue the link of one send of an invitation and email it to the invitee. Idempotent.

    Returns False (nothing sent) when that send was issued already or replaced, or the
    invitation was accepted or revoked. On a delivery error the link is withdrawn and the error
    raised, so a retry issues and sends a new one.
    """
    issued = admin_invitation_link_issue(invitation_id=invitation_id, send_count=send_count)
    if issued is None:
        return False
    invitation = issued.invitation
    path = reverse(
        "accounts:invitation_accept",
        kwargs={"public_id": invitation.public_id, "token": issued.token},
    )
    url = f"{settings.QA_PORTAL_URL}{path}"
    context = {
        **_context_base(),
        "company_name": invitation.company.name,
        "invited_by": invitation.invited_by.email if invitation.invited_by else "QA support",
        "expires_at": invitation.expires_at,
        "url": url,
    }
    try:
        _send(template="admin_invitation", to=invitation.email, context=context)
    except BaseException:
        admin_invitation_link_withdraw(invitation_id=invitation_id, token=issued.token)
        raise
    logger.info("Emailed invitation %s (send %s).", invitation_id, send_count)
    return True


def password_reset_email_send(*, email: str) -> int:
    """Email a reset link to each active admin or staff account that signs in with `email`.

    Sends nothing to an address without such an account (learners have no QA password), which
    the person who asked never learns. Returns the number of emails sent.
    """
    sent = 0
    for user in sign_in_account_list(email=email):
        if not user.has_usable_password():
            continue
        context = {**_context_base(), "email": user.email, "url": _password_reset_url(user)}
        _send(template="password_reset", to=user.email, context=context)
        sent += 1
    return sent


def sign_in_guessing_notice_send(*, email: str) -> int:
    """Tell the owner of `email`'s account that its password is being guessed, with a reset
    link; records it in their company's audit trail. Nothing for an address without an active
    admin or staff account. Returns the number of emails sent.
    """
    sent = 0
    now = timezone.now()
    for user in sign_in_account_list(email=email):
        context = {
            **_context_base(),
            "email": user.email,
            "url": _password_reset_url(user),
            "failure_limit": settings.QA_ACCOUNT_GUESS_LIMIT,
            "window_minutes": int(settings.QA_ACCOUNT_GUESS_WINDOW.total_seconds() // 60),
        }
        _send(template="sign_in_guessing", to=user.email, context=context)
        with transaction.atomic():
            account_audit_record(
                company_id=user.company_id,
                action=AccountAuditEvent.Action.SIGN_IN_GUESSING,
                actor=None,
                subject_email=user.email,
                now=now,
                detail={"failures": settings.QA_ACCOUNT_GUESS_LIMIT},
            )
        sent += 1
    return sent


def password_reset_email_enqueue(*, email: str) -> None:
    """Queue the reset email of `email` whether or not it has an account (on commit)."""
    task_enqueue("accounts.tasks.password_reset_email_send", args=[email])


def sign_in_guessing_notice_enqueue(*, email: str) -> None:
    """Queue the guessing warning of `email`'s account, if it has one (on commit)."""
    task_enqueue("accounts.tasks.sign_in_guessing_notice_send", args=[email])
