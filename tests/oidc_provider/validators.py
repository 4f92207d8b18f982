"""Entra-shaped ID tokens on django-oauth-toolkit, with the key ring and the test faults.

DOT signs with one key from settings and derives one issuer from the host. Entra has one issuer
per tenant (`{authority}/{tenant}/v2.0`, tenant from the request path) and publishes several
keys, so this validator signs with the process-wide `KEY_RING` and builds `iss`/`tid` itself.
"""

import base64
import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.db import router, transaction
from django.http import HttpRequest
from django.urls import Resolver404, resolve
from jwcrypto import jwk, jwt
from oauth2_provider.models import get_id_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request as OauthlibRequest

FAULT_MODES = frozenset(
    {
        "wrong_issuer",
        "wrong_tenant_id",
        "wrong_audience",
        "extra_audience",
        "expired",
        "bad_signature",
        "wrong_nonce",
        "unknown_kid",
        "token_response_not_object",
    }
)


def _new_rsa_key() -> jwk.JWK:
    return jwk.JWK.generate(kty="RSA", size=2048)


class KeyRing:
    """Published signing keys; the newest is the active one (Entra keeps old keys published)."""

    def __init__(self, initial: jwk.JWK) -> None:
        self._lock = threading.Lock()
        self._keys = [initial]
        self._unpublished: jwk.JWK | None = None

    def active(self) -> jwk.JWK:
        with self._lock:
            return self._keys[-1]

    def published(self) -> list[jwk.JWK]:
        with self._lock:
            return list(self._keys)

    def rotate(self) -> jwk.JWK:
        key = _new_rsa_key()
        with self._lock:
            self._keys.append(key)
        return key

    def unpublished(self) -> jwk.JWK:
        """A key that is never in the JWKS, for the unknown_kid fault."""
        with self._lock:
            if self._unpublished is None:
                self._unpublished = _new_rsa_key()
            return self._unpublished


@dataclass
class ProviderState:
    """Fault mode and request counters, shared by all of runserver's request threads."""

    fault: str | None = None
    jwks_requests: int = 0
    token_requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, counter: str) -> None:
        with self._lock:
            setattr(self, counter, getattr(self, counter) + 1)

    def set_fault(self, mode: str | None) -> None:
        if mode is not None and mode not in FAULT_MODES:
            raise ValueError(mode)
        with self._lock:
            self.fault = mode

    def reset(self) -> None:
        with self._lock:
            self.fault = None
            self.jwks_requests = 0
            self.token_requests = 0

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"jwks_requests": self.jwks_requests, "token_requests": self.token_requests}


STATE = ProviderState()
KEY_RING = KeyRing(jwk.JWK.from_pem(oauth2_settings.OIDC_RSA_PRIVATE_KEY.encode()))


def public_jwk(key: jwk.JWK) -> dict:
    """A key as Entra's /discovery/v2.0/keys lists it, plus `alg`, which Entra omits."""
    return {
        "kid": key.thumbprint(),
        "use": "sig",
        "alg": "RS256",
        **key.export_public(as_dict=True),
    }


def authority_and_tenant(request: HttpRequest | OauthlibRequest) -> tuple[str, str | None]:
    """`http://host:port` and the tenant segment of the path (None outside tenant URLs)."""
    if isinstance(request, HttpRequest):
        authority = request.build_absolute_uri("/").rstrip("/")
        path = request.path
    else:
        # DOT hands oauthlib only the path and the WSGI environ (as in its oidc_issuer).
        scheme = "https" if request.headers.get("X_DJANGO_OAUTH_TOOLKIT_SECURE") else "http"
        authority = f"{scheme}://{request.headers['HTTP_HOST']}"
        path = urlsplit(request.uri).path
    try:
        tenant = resolve(path).kwargs.get("tenant")
    except Resolver404:
        tenant = None
    return authority, tenant


def issuer(authority: str, tenant: str) -> str:
    return f"{authority}/{tenant}/v2.0"


def _pairwise_sub(oid: str, client_id: str) -> str:
    # Entra's v2 `sub` is pairwise: the same user has a different sub in every application,
    # so relying parties must key accounts on oid + tid, not sub.
    digest = hashlib.sha256(f"{oid}:{client_id}".encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _corrupt_signature(token: str) -> str:
    header, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0xFF
    raw[-1] ^= 0xFF
    return ".".join([header, payload, base64.urlsafe_b64encode(raw).rstrip(b"=").decode()])


class EntraLikeValidator(OAuth2Validator):
    # Entra puts these claims in every v2 ID token of a user who consented to openid profile
    # email; filtering them by scope would only hide a missing scope in the relying party.
    oidc_claim_scope = None

    def get_additional_claims(self, request: OauthlibRequest) -> dict:
        user = request.user
        oid = str(user.directory_profile.oid)
        claims = {
            "sub": _pairwise_sub(oid, request.client.client_id),
            "oid": oid,
            "preferred_username": user.username,
            "name": user.directory_profile.display_name,
            "email": user.email,
            "ver": "2.0",
        }
        _, tenant = authority_and_tenant(request)
        if tenant is not None:
            claims["tid"] = tenant
        return claims

    def get_oidc_issuer_endpoint(self, request: HttpRequest | OauthlibRequest) -> str:
        authority, tenant = authority_and_tenant(request)
        return issuer(authority, tenant or "common")

    def finalize_id_token(self, id_token: dict, token: dict, token_handler, request) -> str:
        """Sign the ID token with the active key, breaking it as the current fault asks."""
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        id_token["nbf"] = id_token["iat"]
        # Entra's v2 ID tokens carry no auth_time (DOT adds it from last_login).
        id_token.pop("auth_time", None)

        fault = STATE.fault
        key = KEY_RING.active()
        authority, _ = authority_and_tenant(request)
        if fault == "wrong_issuer":
            other_tenant = str(uuid.uuid4())
            id_token["iss"] = issuer(authority, other_tenant)
            id_token["tid"] = other_tenant
        elif fault == "wrong_tenant_id":
            # The right issuer, but a tid of another directory.
            id_token["tid"] = str(uuid.uuid4())
        elif fault == "wrong_audience":
            id_token["aud"] = str(uuid.uuid4())
        elif fault == "extra_audience":
            # Issued to two applications, without saying which one asked (no azp).
            id_token["aud"] = [id_token["aud"], str(uuid.uuid4())]
        elif fault == "expired":
            # The whole one-hour lifetime ended an hour ago.
            now = int(time.time())
            id_token["iat"] = id_token["nbf"] = now - 7200
            id_token["exp"] = now - 3600
        elif fault == "wrong_nonce":
            id_token["nonce"] = uuid.uuid4().hex
        elif fault == "unknown_kid":
            key = KEY_RING.unpublished()

        signed = jwt.JWT(
            header={"typ": "JWT", "alg": "RS256", "kid": key.thumbprint()},
            claims=json.dumps(id_token, default=str),
        )
        signed.make_signed_token(key)
        serialized = signed.serialize()
        if fault == "bad_signature":
            serialized = _corrupt_signature(serialized)

        id_token_model = get_id_token_model()
        with transaction.atomic(using=router.db_for_write(id_token_model)):
            stored = self._save_id_token(id_token["jti"], request, expiration_time)
        # DOT and Django REST framework read these back from the request.
        request.access_token = stored
        request.id_token = stored
        return serialized
