"""Celery tasks: ids in, one service call each; safe to run twice.

Authentication refuses a key by the clock whatever these tasks have done; they only record the
state change and write the audit event, so a lost or late task costs nothing but a late record
(the beat sweep catches it within a minute).
"""

from datetime import datetime

from celery import Task, shared_task
from django.utils import timezone

from . import notifications, retention, services

# Slack added to a retried expiry, so the second run is not early by a rounding error too.
EARLY_RUN_SLACK_SECONDS = 0.05


@shared_task(bind=True, name="integrations.tasks.api_key_expire", max_retries=5)
def api_key_expire(self: Task, api_key_id: int) -> bool:
    """Record a superseded key as expired at its deadline (scheduled with eta on rotation).

    The worker converts the eta to its own clock; a run that lands before the deadline (clock
    skew between the web process and the worker) tries again at the eta instead of leaving the
    record to the next sweep.
    """
    recorded = services.api_key_expire(api_key_id=api_key_id)
    if not recorded and self.request.eta:
        eta = self.request.eta
        if isinstance(eta, str):  # ISO 8601 in the message headers
            eta = datetime.fromisoformat(eta)
        early_by = (eta - timezone.now()).total_seconds()
        if early_by > 0:
            raise self.retry(countdown=early_by + EARLY_RUN_SLACK_SECONDS)
    return recorded


@shared_task(name="integrations.tasks.api_keys_expire_due")
def api_keys_expire_due() -> int:
    """Beat sweep, every minute: catches expiries whose scheduled task never ran."""
    return services.api_keys_expire_due()


# --- Key emails and activity retention ---


@shared_task(
    name="integrations.tasks.api_key_grace_notice_send",
    autoretry_for=notifications.MAIL_DELIVERY_ERRORS,
    retry_backoff=True,
    max_retries=5,
)
def api_key_grace_notice_send(api_key_id: int) -> bool:
    """Email the admins that a superseded key entered its grace period (queued on rotation)."""
    return notifications.api_key_grace_notice_send(api_key_id=api_key_id)


@shared_task(name="integrations.tasks.api_key_notices_send_due")
def api_key_notices_send_due() -> int:
    """Beat sweep, every minute: lost grace notices and the "expires within the hour" emails."""
    return notifications.api_key_notices_send_due()


@shared_task(
    name="integrations.tasks.api_key_rejected_use_notice_send",
    autoretry_for=notifications.MAIL_DELIVERY_ERRORS,
    retry_backoff=True,
    max_retries=5,
)
def api_key_rejected_use_notice_send(api_key_id: int, claimed_at: str | None = None) -> bool:
    """Email the admins that Entra still sends a revoked or expired key (at most daily).

    `claimed_at` is the claim (ISO 8601) the refused request made; the service sends once per
    claim, so a redelivered message sends nothing. Messages queued without it still work.
    """
    return notifications.api_key_rejected_use_notice_send(
        api_key_id=api_key_id,
        claimed_at=datetime.fromisoformat(claimed_at) if claimed_at else None,
    )


@shared_task(name="integrations.tasks.provisioning_events_prune")
def provisioning_events_prune() -> int:
    """Beat, nightly: delete activity older than QA_ACTIVITY_RETENTION_DAYS, in batches."""
    return retention.provisioning_events_prune()
