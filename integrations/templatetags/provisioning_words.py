"""Template filters for the words of integrations/wording.py."""

from datetime import datetime

from django import template
from django.utils import timezone

from ..wording import duration_short

register = template.Library()


@register.filter
def time_left(deadline: datetime | None, now: datetime | None = None) -> str:
    """The time until `deadline` as a banner says it: "7 h 12 min" (from `now`, else the clock)."""
    if deadline is None:
        return ""
    return duration_short(deadline - (now or timezone.now()))
