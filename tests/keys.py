"""Key helpers for tests: what Entra's bearer value authenticates as, through the real service."""

from datetime import datetime

from integrations.models import ApiKey
from integrations.services import api_key_authenticate


def authenticate_api_key(raw: str, *, now: datetime | None = None) -> ApiKey | None:
    """The accepted key for a bearer value, or None (api_key_authenticate, minus the reason)."""
    result = api_key_authenticate(raw=raw, now=now)
    return result.api_key if result.is_accepted else None
