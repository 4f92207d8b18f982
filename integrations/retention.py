"""Retention of the provisioning activity log (ProvisioningEvent).

A service module of the integrations app, split from services.py by sub-domain (STYLE, App
layout): it writes (DELETEs), one function per use case, each batch in its own short
transaction; the nightly task calls it.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from qaportal.accounts.models import Company

from .models import ProvisioningEvent

logger = logging.getLogger(__name__)


def provisioning_events_prune(
    *,
    now: datetime | None = None,
    retention_days: int | None = None,
    batch_size: int | None = None,
) -> int:
    """Delete activity older than QA_ACTIVITY_RETENTION_DAYS; returns how many rows went.

    Works company by company (rows of unknown keys, with no company, last), in batches of
    QA_ACTIVITY_RETENTION_BATCH_SIZE: each batch is one indexed SELECT of ids, served by the
    (company, -created_at, -id) index, then one `DELETE ... WHERE id IN (...)` in its own
    short transaction. No table lock is taken and only the batch's rows are locked, so SCIM
    requests keep logging while it runs. Idempotent; safe to run concurrently with itself.
    """
    now = now or timezone.now()
    days = settings.QA_ACTIVITY_RETENTION_DAYS if retention_days is None else retention_days
    size = batch_size or settings.QA_ACTIVITY_RETENTION_BATCH_SIZE
    cutoff = now - timedelta(days=days)
    company_ids: list[int | None] = [*Company.objects.order_by("pk").values_list("pk", flat=True)]
    company_ids.append(None)

    deleted = 0
    for company_id in company_ids:
        old = ProvisioningEvent.objects.filter(company_id=company_id, created_at__lt=cutoff)
        while True:
            ids = list(old.order_by("created_at", "id").values_list("pk", flat=True)[:size])
            if not ids:
                break
            # ProvisioningEvent has no signals or dependent rows, so this is a single DELETE.
            count, _ = ProvisioningEvent.objects.filter(pk__in=ids).delete()
            deleted += count
            if len(ids) < size:
                break
    if deleted:
        logger.info("Pruned %s provisioning events older than %s.", deleted, cutoff.isoformat())
    return deleted
