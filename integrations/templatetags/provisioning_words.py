"""Template filters for the words of integrations/wording.py."""

from datetime import datetime

from django import template
from django.utils import timezone

from ..models import ProvisioningEvent
from ..wording import FailureWords, duration_short, failure_words

register = template.Library()


@register.filter
def time_left(deadline: datetime | None, now: datetime | None = None) -> str:
    """The time until `deadline` as a banner says it: "7 h 12 min" (from `now`, else the clock)."""
    if deadline is None:
        return ""
    return duration_short(deadline - (now or timezone.now()))


@register.filter
def reason_words(reason) -> FailureWords | None:
    """A failure reason of connection health (status, scimType, detail) in admin words, by the
    same mapping as every failed request (wording.failure_words); never the error's text."""
    if reason is None:
        return None
    failed = ProvisioningEvent(
        status_code=reason.status_code,
        scim_type=reason.scim_type,
        detail=reason.detail,
        outcome=ProvisioningEvent.Outcome.FAILED,
    )
    return failure_words(failed)
