"""Celery tasks of single sign-on."""

from celery import shared_task
from django.core.management import call_command


@shared_task(name="sso.tasks.sessions_clear_expired")
def sessions_clear_expired() -> None:
    """Beat, daily: delete expired sessions (`manage.py clearsessions`).

    Each "Sign in with Microsoft" started from a new browser keeps a session row for its
    state, and many are never finished; Django deletes expired rows only when asked.
    Idempotent.
    """
    call_command("clearsessions")
