"""Limits on guessing that live in the cache (Redis when REDIS_URL is set): the per-account
sign-in slow-down, the "Forgot your password?" request limits, and the signed cookie that
marks a browser an account has signed in from.

Counters are fixed-size cache entries with a timeout, so they are bounded in number and age.
Cache keys and the cookie hold a digest of the email, never the address. If the cache is down
these limits are skipped (logged): refusing every sign-in because a cache is unreachable would
lock out everyone, while django-axes' lockout (in the database) still holds.
"""

import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

_KNOWN_DEVICE_SALT = "qaportal.accounts.known-device"
# A browser remembers this many accounts (the latest ones signed in); more are forgotten.
_KNOWN_DEVICE_ACCOUNTS = 5


def email_digest(email: str) -> str:
    """A stable, non-reversible-at-a-glance name for a sign-in email in keys and cookies."""
    normalized = email.strip().lower()
    return hashlib.sha256(f"qaportal.sign-in:{normalized}".encode()).hexdigest()[:32]


def _seconds(value) -> int:
    return max(1, math.ceil(value.total_seconds() if hasattr(value, "total_seconds") else value))


# --- Per-account slow-down ------------------------------------------------------------------


def _failures_key(digest: str) -> str:
    return f"signin:account:failures:{digest}"


def _slot_key(digest: str) -> str:
    return f"signin:account:slot:{digest}"


def _notice_key(digest: str) -> str:
    return f"signin:account:notice:{digest}"


def account_delay_for(failures: int) -> float:
    """Seconds between attempts after `failures` wrong passwords in the window (0 below the
    limit): QA_ACCOUNT_GUESS_BASE_DELAY, doubling per failure up to QA_ACCOUNT_GUESS_MAX_DELAY."""
    over = failures - settings.QA_ACCOUNT_GUESS_LIMIT
    if over < 0:
        return 0.0
    base = settings.QA_ACCOUNT_GUESS_BASE_DELAY.total_seconds()
    ceiling = settings.QA_ACCOUNT_GUESS_MAX_DELAY.total_seconds()
    return min(ceiling, base * 2 ** min(over, 32))


def account_attempt_wait(*, email: str, known_device: bool) -> int:
    """0 if a sign-in attempt for `email` may check its password now, else seconds to wait.

    Below QA_ACCOUNT_GUESS_LIMIT failures in the window every attempt goes ahead. Beyond it,
    one attempt per delay goes ahead: it claims the account's slot with an atomic cache add
    whose timeout is the delay, and attempts made while the slot is held are refused without
    checking the password (no worker sleeps). A browser the account signed in from before
    (`known_device`) is never delayed. Known and unknown emails are treated the same.
    """
    if known_device:
        return 0
    digest = email_digest(email)
    try:
        failures = cache.get(_failures_key(digest), 0)
        delay = account_delay_for(failures)
        if delay <= 0:
            return 0
        until = time.time() + delay
        if cache.add(_slot_key(digest), until, timeout=math.ceil(delay)):
            return 0
        held_until = cache.get(_slot_key(digest))
    except Exception:
        logger.warning("Per-account sign-in delay skipped: the cache is unavailable", exc_info=True)
        return 0
    if not isinstance(held_until, int | float):
        return 1
    return max(1, math.ceil(held_until - time.time()))


def account_failure_record(*, email: str) -> bool:
    """Count a wrong password for `email`; True when its owner should be told (once per window).

    The window slides: every failure keeps the count for another QA_ACCOUNT_GUESS_WINDOW, so
    guessing that never stops stays slowed down.
    """
    digest = email_digest(email)
    window = _seconds(settings.QA_ACCOUNT_GUESS_WINDOW)
    try:
        cache.add(_failures_key(digest), 0, timeout=window)
        try:
            failures = cache.incr(_failures_key(digest))
        except ValueError:  # expired between add and incr
            cache.add(_failures_key(digest), 1, timeout=window)
            failures = 1
        cache.touch(_failures_key(digest), timeout=window)
        if failures < settings.QA_ACCOUNT_GUESS_LIMIT:
            return False
        return bool(cache.add(_notice_key(digest), 1, timeout=window))
    except Exception:
        logger.warning("Per-account sign-in failure not counted: the cache is unavailable")
        return False


# --- "Forgot your password?" ----------------------------------------------------------------


@dataclass(frozen=True)
class RequestLimit:
    """Why a request was refused and for how long (seconds)."""

    reason: str
    retry_after: int


def _window_count(key: str, *, window: int) -> int:
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:
        cache.add(key, 1, timeout=window)
        return 1


def password_reset_request_allowed(*, email: str, ip_address: str | None) -> RequestLimit | None:
    """Count a reset request; None if it may go ahead, else which limit it hit.

    QA_PASSWORD_RESET_LIMIT_PER_EMAIL requests per address and QA_PASSWORD_RESET_LIMIT_PER_IP
    per client address, per QA_PASSWORD_RESET_WINDOW (fixed windows). Known and unknown
    addresses are counted alike, so the limit says nothing about accounts.
    """
    window = _seconds(settings.QA_PASSWORD_RESET_WINDOW)
    bucket = int(time.time() // window)
    retry_after = max(1, (bucket + 1) * window - int(time.time()))
    try:
        per_ip = _window_count(f"pwreset:ip:{ip_address}:{bucket}", window=window)
        if per_ip > settings.QA_PASSWORD_RESET_LIMIT_PER_IP:
            return RequestLimit("ip", retry_after)
        per_email = _window_count(f"pwreset:email:{email_digest(email)}:{bucket}", window=window)
        if per_email > settings.QA_PASSWORD_RESET_LIMIT_PER_EMAIL:
            return RequestLimit("email", retry_after)
    except Exception:
        logger.warning("Password reset limits skipped: the cache is unavailable", exc_info=True)
    return None


# --- Known devices --------------------------------------------------------------------------


def _known_digests(request: HttpRequest) -> list[str]:
    try:
        raw = request.get_signed_cookie(
            settings.QA_KNOWN_DEVICE_COOKIE,
            salt=_KNOWN_DEVICE_SALT,
            max_age=settings.QA_KNOWN_DEVICE_MAX_AGE,
        )
        digests = json.loads(raw)
    except (KeyError, signing.BadSignature, ValueError):
        return []
    if not isinstance(digests, list):
        return []
    return [value for value in digests if isinstance(value, str)]


def known_device_has(request: HttpRequest, email: str) -> bool:
    """Whether this browser signed in to `email`'s account before (signed cookie)."""
    return email_digest(email) in _known_digests(request)


def known_device_remember(request: HttpRequest, response: HttpResponse, email: str) -> None:
    """Mark this browser as one `email`'s account signed in from, for QA_KNOWN_DEVICE_MAX_AGE.

    Set after a complete sign-in (password and any second factor) or a password reset from
    an emailed link: both prove the person, not just a guess.
    """
    digest = email_digest(email)
    digests = [value for value in _known_digests(request) if value != digest]
    digests = [*digests, digest][-_KNOWN_DEVICE_ACCOUNTS:]
    response.set_signed_cookie(
        settings.QA_KNOWN_DEVICE_COOKIE,
        json.dumps(digests),
        salt=_KNOWN_DEVICE_SALT,
        max_age=int(settings.QA_KNOWN_DEVICE_MAX_AGE.total_seconds()),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
