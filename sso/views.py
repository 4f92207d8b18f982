"""Single sign-on pages: the settings section, "Sign in with Microsoft" and its callback."""

import logging
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from integrations.models import Integration
from integrations.views import CompanyIntegrationMixin, integration_page_response
from qaportal.accounts.mixins import (
    CompanyAdminRequiredMixin,
    RecentSignInRequiredMixin,
    client_ip_address,
)

from .entra import entra_endpoints
from .exceptions import RefusalReason, SignInRefused
from .forms import SsoSettingsForm, SsoStartForm
from .models import SsoConnection
from .selectors import sso_connection_for_email, sso_connection_get, verified_domain_list
from .services import SsoNotConfigured, sign_in_event_record, sso_connection_save

logger = logging.getLogger(__name__)

SECTION_TEMPLATE = "sso/_integration_section.html"
# Sign-ins started in this session and not finished: state -> connection and start time.
FLOWS_SESSION_KEY = "sso_flows"


# --- Settings: the Single sign-on section of the Microsoft Entra ID page --------------------


def sso_section_context(
    request: HttpRequest, integration: Integration, form: SsoSettingsForm | None = None
) -> dict:
    connection = sso_connection_get(integration=integration)
    if form is None:
        initial = {}
        if connection is not None:
            initial = {
                "tenant_id": connection.tenant_id,
                "client_id": connection.client_id,
                "is_enabled": connection.is_enabled,
                "require_sso": connection.require_sso,
            }
        form = SsoSettingsForm(initial=initial, connection=connection)
    return {
        "integration": integration,
        "connection": connection,
        "form": form,
        "redirect_uri": request.build_absolute_uri(reverse("sso:callback")),
        # The signed-in admin's company is the integration's, and already loaded.
        "company": request.user.company,
        "verified_domains": list(verified_domain_list(company=request.user.company)),
    }


@method_decorator(sensitive_post_parameters("client_secret"), name="dispatch")
class SsoSettingsView(
    CompanyAdminRequiredMixin, RecentSignInRequiredMixin, CompanyIntegrationMixin, View
):
    """Save the Single sign-on section; a password older than QA_REAUTH_MAX_AGE is asked first."""

    reauth_action = "configure-sso"

    def reauth_next_url(self, request: HttpRequest, provider: str) -> str:
        url = reverse("integrations:integration_detail", kwargs={"provider": provider})
        return f"{url}#sso-title"

    def post(self, request: HttpRequest, provider: str) -> HttpResponse:
        integration = self.integration
        if integration.provider != Integration.Provider.ENTRA_ID:
            return redirect("integrations:integration_detail", provider=provider)
        connection = sso_connection_get(integration=integration)
        form = SsoSettingsForm(request.POST, connection=connection)
        if form.is_valid():
            try:
                sso_connection_save(
                    integration=integration,
                    tenant_id=form.cleaned_data["tenant_id"],
                    client_id=form.cleaned_data["client_id"],
                    client_secret=form.cleaned_data["client_secret"],
                    is_enabled=form.cleaned_data["is_enabled"],
                    require_sso=form.cleaned_data["require_sso"],
                    updated_by=request.user,
                    ip_address=client_ip_address(request),
                )
            except SsoNotConfigured:
                form.add_error("client_secret", "Paste the client secret's Value from Entra.")
            else:
                messages.success(request, "Single sign-on settings saved.")
                url = reverse("integrations:integration_detail", kwargs={"provider": provider})
                return redirect(f"{url}#sso-title")
        context = sso_section_context(request, integration, form=form)
        return integration_page_response(
            request, integration, section_overrides={SECTION_TEMPLATE: context}, status=400
        )


# --- Sign in with Microsoft -----------------------------------------------------------------


def _start_allowed(request: HttpRequest) -> bool:
    """At most QA_SSO_START_LIMIT Microsoft sign-ins started per client IP per minute.

    With the cache (Redis) down, sign-in stays open: the limit only slows probing.
    """
    limit = settings.QA_SSO_START_LIMIT
    if not limit:
        return True
    key = f"sso:start:{client_ip_address(request)}:{int(time.time() // 60)}"
    try:
        cache.add(key, 0, 90)
        return cache.incr(key) <= limit
    except ValueError:  # evicted between add and incr
        return True
    except Exception:
        logger.warning("SSO start limit skipped: the cache is unavailable", exc_info=True)
        return True


# The sign-in form posts its password field here too (one form, two buttons); it is ignored,
# and kept out of error reports.
@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class SsoStartView(OIDCAuthenticationRequestView):
    """POST from the sign-in page: send the person to their company's Entra tenant.

    mozilla-django-oidc's request view makes state, nonce and the PKCE verifier and keeps them
    in the session; this view picks the company's endpoints and client first. An address that
    signs in through no connection gets the same page whether or not it has an account.
    """

    http_method_names = ["post"]

    def __init__(self, **kwargs) -> None:
        # The library reads one global provider from settings here; ours is per company.
        View.__init__(self, **kwargs)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SsoStartForm(request.POST)
        if not form.is_valid():
            return render(request, "sso/unavailable.html", {"form": form}, status=400)
        if not _start_allowed(request):
            return render(
                request,
                "sso/unavailable.html",
                {"email": form.cleaned_data["username"]},
                status=429,
            )
        email = form.cleaned_data["username"]
        connection = sso_connection_for_email(email=email)
        if connection is None:
            return render(request, "sso/unavailable.html", {"email": email})
        self.OIDC_OP_AUTH_ENDPOINT = entra_endpoints(tenant_id=connection.tenant_id).authorization
        self.OIDC_RP_CLIENT_ID = connection.client_id
        self.login_hint = email
        response = self.get(request)
        state = parse_qs(urlsplit(response["Location"]).query)["state"][0]
        next_url = form.cleaned_data["next"]
        safe = url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        flows = request.session.get(FLOWS_SESSION_KEY, {})
        flows[state] = {
            "connection_id": connection.pk,
            "started_at": time.time(),
            # Per sign-in, so that two tabs each land where they started.
            "next": next_url if next_url and safe else None,
        }
        # As many unfinished sign-ins as the library keeps states for, newest kept.
        newest = sorted(flows.items(), key=lambda item: item[1]["started_at"])
        request.session[FLOWS_SESSION_KEY] = dict(newest[-settings.OIDC_MAX_STATES :])
        return response

    def get_extra_params(self, request: HttpRequest) -> dict:
        # Entra fills in the account and skips its own "pick an account" step.
        return {"login_hint": self.login_hint}


@dataclass(frozen=True)
class SsoFlow:
    """A sign-in being finished: the backend reads the connection from `request.sso_flow`."""

    connection: SsoConnection

    @property
    def company_id(self) -> int:
        return self.connection.integration.company_id


class SsoCallbackView(OIDCAuthenticationCallbackView):
    """Entra's redirect back: the library checks and spends the state, then authenticates.

    Every way it can end without a sign-in gives a page saying why (sso/refused.html, 403)
    and, when the company is known, a line in its activity log.
    """

    def get(self, request: HttpRequest) -> HttpResponse:
        self.connection = None
        state = request.GET.get("state", "")
        flows = request.session.get(FLOWS_SESSION_KEY)
        started = flows.pop(state, None) if isinstance(flows, dict) and state else None
        if started is None:
            # Unknown, already used (a replay), or from another browser's sign-in. The session
            # is left as it was: an anonymous probe creates no session row.
            return self.refused(RefusalReason.STATE_INVALID)
        request.session[FLOWS_SESSION_KEY] = flows
        request.session["oidc_login_next"] = started.get("next")
        self.connection = (
            SsoConnection.objects.select_related("integration__company")
            .filter(pk=started["connection_id"])
            .first()
        )
        if self.connection is None or not self.connection.is_enabled:
            return self.refused(RefusalReason.SSO_OFF)
        if time.time() - started["started_at"] > settings.QA_SSO_FLOW_MAX_AGE_SECONDS:
            return self.refused(RefusalReason.STATE_INVALID)
        if not request.GET.get("code") and not request.GET.get("error"):
            return self.refused(RefusalReason.PROVIDER_ERROR)
        request.sso_flow = SsoFlow(self.connection)
        try:
            return super().get(request)
        except SuspiciousOperation:
            return self.refused(RefusalReason.STATE_INVALID)
        except SignInRefused as refusal:
            return self.refused(refusal.reason, claims=refusal.claims)

    def login_success(self) -> HttpResponse:
        sign_in_event_record(
            company=self.connection.company,
            path=self.request.path,
            user=self.user,
            claims={},
            reason=None,
        )
        return super().login_success()

    def login_failure(self) -> HttpResponse:
        # Entra answered with an error (the person cancelled, or the app is misregistered).
        return self.refused(RefusalReason.PROVIDER_ERROR)

    def refused(self, reason: RefusalReason, *, claims: dict | None = None) -> HttpResponse:
        claims = claims or {}
        if self.connection is not None:
            sign_in_event_record(
                company=self.connection.company,
                path=self.request.path,
                user=None,
                claims=claims,
                reason=reason,
            )
        context = {
            "message": reason.message,
            "code": reason.code,
            "username": str(claims.get("preferred_username") or ""),
        }
        return render(self.request, "sso/refused.html", context, status=403)
