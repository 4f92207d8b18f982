"""Authentication backends: sign-in with Microsoft Entra ID, and the password rule it adds."""

import logging

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.utils.crypto import constant_time_compare
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from .crypto import SecretUnreadable, secret_decrypt
from .entra import entra_endpoints
from .exceptions import RefusalReason, SignInRefused
from .jwks import SIGNING_ALGORITHM, signing_key_get
from .selectors import password_sign_in_blocked, provisioned_user_for_claims

logger = logging.getLogger(__name__)

# Claims an Entra v2.0 ID token always carries; a token without one of them is refused.
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "nonce", "tid"]


class EntraOidcBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's code-flow backend, made per company and strict.

    The library does the token request (with the PKCE verifier) and the flow around it; this
    class supplies each company's endpoints and client from its SsoConnection, validates the ID
    token fully (the library checks only the signature and nonce: here also issuer, audience,
    expiry and tenant, with the keys cached), skips the userinfo call (the ID token has all
    we need) and never creates a user: it finds the company's SCIM user or refuses.

    It only acts for the callback view, which sets `request.sso_flow`; a password sign-in
    passes through it untouched.
    """

    def __init__(self, *args, **kwargs) -> None:
        # The library reads one global provider from settings here; ours is per company.
        self.UserModel = get_user_model()

    def authenticate(self, request, nonce=None, code_verifier=None, **kwargs):
        flow = getattr(request, "sso_flow", None) if request is not None else None
        if flow is None or nonce is None:
            return None
        connection = flow.connection
        self.connection = connection
        self.endpoints = entra_endpoints(tenant_id=connection.tenant_id)
        self.OIDC_OP_TOKEN_ENDPOINT = self.endpoints.token
        self.OIDC_OP_JWKS_ENDPOINT = self.endpoints.jwks
        self.OIDC_RP_CLIENT_ID = connection.client_id
        try:
            self.OIDC_RP_CLIENT_SECRET = secret_decrypt(connection.client_secret_encrypted)
        except SecretUnreadable as error:
            raise SignInRefused(RefusalReason.MISCONFIGURED) from error
        try:
            user = super().authenticate(request, nonce=nonce, code_verifier=code_verifier)
        except requests.RequestException as error:
            # The token endpoint refused the code (reused, or a wrong secret) or was down. Its
            # body may echo what we sent, so only the status is logged.
            status = getattr(error.response, "status_code", None)
            logger.warning("SSO token request failed for company %s: %s", flow.company_id, status)
            if status is not None and 400 <= status < 500:
                raise SignInRefused(RefusalReason.PROVIDER_ERROR) from error
            raise SignInRefused(RefusalReason.PROVIDER_UNREACHABLE) from error
        if user is None:
            # The library gives up quietly (no code in the callback); a refusal, not a failed
            # password, so django-axes never counts it against the person's IP address.
            raise SignInRefused(RefusalReason.PROVIDER_ERROR)
        return user

    def get_token(self, payload) -> dict:
        token_info = super().get_token(payload)
        if not isinstance(token_info, dict):
            raise SignInRefused(RefusalReason.TOKEN_INVALID)
        return token_info

    def verify_token(self, token, **kwargs) -> dict:
        """The ID token's claims, if Entra signed it for this company's tenant and app."""
        if not isinstance(token, str) or not token:
            raise SignInRefused(RefusalReason.TOKEN_INVALID)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as error:
            raise SignInRefused(RefusalReason.TOKEN_INVALID) from error
        # Only RS256: never "none", never an HMAC keyed with a public key.
        if header.get("alg") != SIGNING_ALGORITHM or not isinstance(header.get("kid"), str):
            raise SignInRefused(RefusalReason.TOKEN_INVALID)
        key = signing_key_get(jwks_url=self.OIDC_OP_JWKS_ENDPOINT, kid=header["kid"])
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[SIGNING_ALGORITHM],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=self.endpoints.issuer,
                leeway=settings.QA_SSO_CLOCK_SKEW_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.InvalidSignatureError as error:
            raise SignInRefused(RefusalReason.BAD_SIGNATURE) from error
        except jwt.ExpiredSignatureError as error:
            raise SignInRefused(RefusalReason.EXPIRED) from error
        except (jwt.InvalidIssuerError, jwt.ImmatureSignatureError) as error:
            reason = (
                RefusalReason.WRONG_ISSUER
                if isinstance(error, jwt.InvalidIssuerError)
                else RefusalReason.TOKEN_INVALID
            )
            raise SignInRefused(reason) from error
        except jwt.InvalidAudienceError as error:
            raise SignInRefused(RefusalReason.WRONG_AUDIENCE) from error
        except jwt.InvalidTokenError as error:
            raise SignInRefused(RefusalReason.TOKEN_INVALID) from error
        # Several audiences: the token must also say it was issued to us (OIDC Core 3.1.3.7).
        if isinstance(claims["aud"], list) and (
            len(claims["aud"]) > 1 and claims.get("azp") != self.OIDC_RP_CLIENT_ID
        ):
            raise SignInRefused(RefusalReason.WRONG_AUDIENCE)
        if not constant_time_compare(str(claims["tid"]), self.connection.tenant_id):
            raise SignInRefused(RefusalReason.WRONG_ISSUER, claims=claims)
        if not constant_time_compare(str(claims["nonce"]), kwargs.get("nonce") or ""):
            raise SignInRefused(RefusalReason.TOKEN_INVALID, claims=claims)
        return claims

    def store_tokens(self, access_token, id_token) -> None:
        """Keep no token: QA Portal calls no Microsoft API for the user."""

    def get_or_create_user(self, access_token, id_token, payload):
        """The company's active SCIM user the token is about; never a new account."""
        user = provisioned_user_for_claims(
            company=self.connection.company,
            object_id=str(payload.get("oid") or ""),
            preferred_username=str(payload.get("preferred_username") or ""),
        )
        if user is None:
            raise SignInRefused(RefusalReason.UNKNOWN_USER, claims=payload)
        if not user.is_active:
            raise SignInRefused(RefusalReason.DEACTIVATED_USER, claims=payload)
        return user

    def get_user(self, user_id):
        """The session's user, only while active: SCIM deactivation ends their sessions."""
        user = self.UserModel._default_manager.filter(pk=user_id, is_active=True).first()
        return user


class PasswordBackend(ModelBackend):
    """Django's email + password sign-in, except for learners whose company requires SSO."""

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and not password_sign_in_blocked(user=user)
