"""Celery tasks: ids in, one service call each; safe to run twice."""

from celery import shared_task

from . import services


@shared_task(name="integrations.tasks.api_key_expire")
def api_key_expire(api_key_id: int) -> bool:
    """Record a superseded key as expired at its deadline (scheduled with eta on rotation)."""
    return services.api_key_expire(api_key_id=api_key_id)


@shared_task(name="integrations.tasks.api_keys_expire_due")
def api_keys_expire_due() -> int:
    """Beat sweep, every minute: catches expiries whose scheduled task never ran."""
    return services.api_keys_expire_due()
