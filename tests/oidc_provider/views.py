"""Entra's per-tenant v2.0 endpoints on DOT's views, the sign-in page, and the test control API."""

import json
import secrets
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.views import LoginView
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.models import get_application_model
from oauth2_provider.views import TokenView

from .models import DirectoryProfile
from .validators import FAULT_MODES, KEY_RING, STATE, authority_and_tenant, issuer, public_jwk

SUPPORTED_SCOPES = ["openid", "profile", "email", "offline_access"]


class OpenIdConfigurationView(View):
    """`/{tenant}/v2.0/.well-known/openid-configuration`, shaped like Entra's document."""

    def get(self, request: HttpRequest, tenant: str) -> JsonResponse:
        authority, _ = authority_and_tenant(request)
        base = f"{authority}/{tenant}"
        return JsonResponse(
            {
                "issuer": issuer(authority, tenant),
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "userinfo_endpoint": f"{authority}/oidc/userinfo",
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "client_secret_basic",
                ],
                "response_types_supported": ["code"],
                "response_modes_supported": ["query"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": SUPPORTED_SCOPES,
                "claims_supported": [
                    *("sub", "iss", "aud", "exp", "iat", "nbf", "nonce", "ver"),
                    *("oid", "tid", "preferred_username", "name", "email"),
                ],
                "request_uri_parameter_supported": False,
            }
        )


class SigningKeysListView(View):
    """`/{tenant}/discovery/v2.0/keys`: every published key, the same for all tenants."""

    def get(self, request: HttpRequest, tenant: str) -> JsonResponse:
        STATE.count("jwks_requests")
        return JsonResponse({"keys": [public_jwk(key) for key in KEY_RING.published()]})


class TokenIssueView(TokenView):
    """`/{tenant}/oauth2/v2.0/token`: DOT's token endpoint, counted for the tests."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        STATE.count("token_requests")
        response = super().post(request, *args, **kwargs)
        if STATE.fault == "token_response_not_object" and response.status_code == 200:
            # Valid JSON, but not the object the protocol promises.
            return HttpResponse("[]", content_type="application/json")
        return response


class SignInView(LoginView):
    """The provider's own sign-in page; DOT's authorize view sends anonymous users here."""

    template_name = "oidc_provider/sign_in.html"


class SignOutView(View):
    """`/{tenant}/oauth2/v2.0/logout`: ends the provider session, like Entra's end_session."""

    def get(self, request: HttpRequest, tenant: str) -> HttpResponse:
        logout(request)
        target = request.GET.get("post_logout_redirect_uri", "")
        # Entra only returns to a URI registered for an application, never to any URL.
        registered = {
            uri
            for uris in get_application_model().objects.values_list("redirect_uris", flat=True)
            for uri in uris.split()
        }
        if target and target in registered:
            return HttpResponseRedirect(target)
        return render(request, "oidc_provider/signed_out.html")


class ControlError(Exception):
    """A control request the provider cannot carry out; becomes a 4xx JSON answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@method_decorator(csrf_exempt, name="dispatch")
class ControlView(View):
    """The test control API: JSON in and out, only with the process's X-Control-Token."""

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        expected = settings.CONTROL_TOKEN
        given = request.headers.get("X-Control-Token", "")
        if not expected or not secrets.compare_digest(given.encode(), expected.encode()):
            return JsonResponse({"error": "control token required"}, status=403)
        try:
            return super().dispatch(request, *args, **kwargs)
        except ControlError as error:
            return JsonResponse({"error": str(error)}, status=error.status)

    def json_body(self, request: HttpRequest) -> dict:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError as error:
            raise ControlError("body is not JSON") from error
        if not isinstance(body, dict):
            raise ControlError("body must be a JSON object")
        return body


def _required_str(body: dict, key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ControlError(f"{key} must be a non-empty string")
    return value


@transaction.atomic
def directory_user_upsert(*, username: str, password: str, oid: str | None, name: str) -> str:
    """Create or update a user, keeping its oid unless a new one is given; return the oid."""
    user, _ = get_user_model().objects.update_or_create(
        username=username, defaults={"email": username if "@" in username else ""}
    )
    user.set_password(password)
    user.save(update_fields=["password"])
    profile, _ = DirectoryProfile.objects.get_or_create(user=user)
    if oid is not None:
        profile.oid = uuid.UUID(oid)
    profile.display_name = name or username
    profile.save()
    return str(profile.oid)


class ControlUserCreateView(ControlView):
    def post(self, request: HttpRequest) -> JsonResponse:
        body = self.json_body(request)
        oid = body.get("oid")
        try:
            if oid is not None:
                uuid.UUID(str(oid))
            oid = directory_user_upsert(
                username=_required_str(body, "username"),
                password=_required_str(body, "password"),
                oid=oid,
                name=str(body.get("name") or ""),
            )
        except ValueError as error:
            raise ControlError("oid must be a UUID") from error
        except IntegrityError as error:
            raise ControlError("oid belongs to another user", status=409) from error
        return JsonResponse({"oid": oid}, status=201)


class ControlClientRegisterView(ControlView):
    def post(self, request: HttpRequest) -> JsonResponse:
        body = self.json_body(request)
        client_id = _required_str(body, "client_id")
        client_secret = _required_str(body, "client_secret")
        redirect_uris = body.get("redirect_uris")
        if not isinstance(redirect_uris, list) or not all(
            isinstance(uri, str) and uri for uri in redirect_uris
        ):
            raise ControlError("redirect_uris must be a list of URIs")
        application_model = get_application_model()
        # update_or_create saves the plaintext secret, which DOT hashes on save.
        application_model.objects.update_or_create(
            client_id=client_id,
            defaults={
                "name": client_id,
                "client_secret": client_secret,
                "redirect_uris": " ".join(redirect_uris),
                "client_type": application_model.CLIENT_CONFIDENTIAL,
                "authorization_grant_type": application_model.GRANT_AUTHORIZATION_CODE,
                "skip_authorization": True,
                "algorithm": application_model.RS256_ALGORITHM,
            },
        )
        return JsonResponse({"client_id": client_id}, status=201)


class ControlFaultSetView(ControlView):
    def post(self, request: HttpRequest) -> JsonResponse:
        mode = self.json_body(request).get("mode")
        if mode is not None and mode not in FAULT_MODES:
            raise ControlError(f"mode must be null or one of {sorted(FAULT_MODES)}")
        STATE.set_fault(mode)
        return JsonResponse({"mode": mode})


class ControlKeyRotateView(ControlView):
    def post(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"kid": KEY_RING.rotate().thumbprint()})


class ControlStatsView(ControlView):
    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(STATE.stats())


class ControlResetView(ControlView):
    def post(self, request: HttpRequest) -> JsonResponse:
        STATE.reset()
        return JsonResponse(STATE.stats())
