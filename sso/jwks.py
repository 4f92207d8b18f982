"""The provider's signing keys (JWKS), cached.

Microsoft rotates its keys every few weeks and publishes the next one ahead of use: a key
set is cached for QA_SSO_JWKS_CACHE_SECONDS, and a token signed with a key id the cached set
lacks makes one fresh fetch, at most once per QA_SSO_JWKS_REFETCH_INTERVAL per key set, so
that a provider answering with unknown key ids (misconfigured, or mid-rotation) costs
Microsoft one request per interval, not one per sign-in. With the cache (Redis) down, keys
are fetched for each sign-in instead of failing it.
"""

import hashlib
import logging

import jwt
import requests
from django.conf import settings
from django.core.cache import cache

from .exceptions import RefusalReason, SignInRefused

logger = logging.getLogger(__name__)

SIGNING_ALGORITHM = "RS256"


def _cache_key(kind: str, jwks_url: str) -> str:
    return f"sso:jwks:{kind}:{hashlib.sha256(jwks_url.encode()).hexdigest()}"


def _cached(operation, *args, default=None):
    """A cache call that answers `default` when the cache is unavailable."""
    try:
        return operation(*args)
    except Exception:
        logger.warning("SSO key cache unavailable", exc_info=True)
        return default


def _fetch(jwks_url: str) -> dict:
    try:
        response = requests.get(jwks_url, timeout=settings.QA_SSO_HTTP_TIMEOUT)
        response.raise_for_status()
        key_set = response.json()
    except (requests.RequestException, ValueError) as error:
        raise SignInRefused(RefusalReason.PROVIDER_UNREACHABLE) from error
    if not isinstance(key_set, dict) or not isinstance(key_set.get("keys"), list):
        raise SignInRefused(RefusalReason.PROVIDER_UNREACHABLE)
    _cached(cache.set, _cache_key("set", jwks_url), key_set, settings.QA_SSO_JWKS_CACHE_SECONDS)
    return key_set


def _matching_key(key_set: dict, kid: str) -> jwt.PyJWK | None:
    for jwk in key_set["keys"]:
        if not isinstance(jwk, dict) or jwk.get("kid") != kid or jwk.get("kty") != "RSA":
            continue
        # A key published for another algorithm or for encryption must not verify a signature.
        if jwk.get("alg", SIGNING_ALGORITHM) != SIGNING_ALGORITHM or jwk.get("use", "sig") != "sig":
            continue
        try:
            return jwt.PyJWK(jwk, algorithm=SIGNING_ALGORITHM)
        except jwt.PyJWTError:  # PyJWKError, InvalidKeyError: a malformed key is skipped
            continue
    return None


def signing_key_get(*, jwks_url: str, kid: str) -> jwt.PyJWK:
    """The provider's key `kid`, from the cache or, if it is new, from the provider."""
    key_set = _cached(cache.get, _cache_key("set", jwks_url))
    if key_set is not None:
        key = _matching_key(key_set, kid)
        if key is not None:
            return key
        # cache.add is atomic: one sign-in refetches; within the interval the others read
        # what it fetched and are refused only if the key is still not there.
        refetch_key = _cache_key("refetch", jwks_url)
        interval = settings.QA_SSO_JWKS_REFETCH_INTERVAL
        if not _cached(cache.add, refetch_key, 1, interval, default=True):
            key = _matching_key(_cached(cache.get, _cache_key("set", jwks_url)) or key_set, kid)
            if key is None:
                raise SignInRefused(RefusalReason.BAD_SIGNATURE)
            return key
    key = _matching_key(_fetch(jwks_url), kid)
    if key is None:
        raise SignInRefused(RefusalReason.BAD_SIGNATURE)
    return key
