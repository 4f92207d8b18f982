"""Celery tasks of the accounts app: ids or an address in, one call to accounts/emails.py."""

from celery import shared_task

from . import emails


@shared_task(
    name="accounts.tasks.admin_invitation_email_send",
    autoretry_for=emails.MAIL_DELIVERY_ERRORS,
    retry_backoff=True,
    max_retries=5,
)
def admin_invitation_email_send(invitation_id: int, send_count: int) -> bool:
    """Issue and email the link of one send of an invitation (queued on commit)."""
    return emails.admin_invitation_email_send(invitation_id=invitation_id, send_count=send_count)


@shared_task(
    name="accounts.tasks.password_reset_email_send",
    autoretry_for=emails.MAIL_DELIVERY_ERRORS,
    retry_backoff=True,
    max_retries=3,
)
def password_reset_email_send(email: str) -> int:
    """Email a password reset link to the admin or staff account of `email`, if there is one."""
    return emails.password_reset_email_send(email=email)


@shared_task(
    name="accounts.tasks.sign_in_guessing_notice_send",
    autoretry_for=emails.MAIL_DELIVERY_ERRORS,
    retry_backoff=True,
    max_retries=3,
)
def sign_in_guessing_notice_send(email: str) -> int:
    """Warn the owner of `email`'s account that its password is being guessed."""
    return emails.sign_in_guessing_notice_send(email=email)
