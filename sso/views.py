"""Single sign-on pages: the settings section, "Sign in with Microsoft" and its callback."""

import logging
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.decorators import method_decorator
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
from .forms import SsoLinkSignInForm, SsoSettingsForm, SsoStartForm
from .models import SsoConnection
from .selectors import (
    sso_connection_for_email,
    sso_connection_for_sign_in_link,
    sso_connection_get,
    verified_domain_list,
)
from .services import SsoNotConfigured, sign_in_event_record, sso_connection_save

logger = logging.getLogger(__name__)

SECTION_TEMPLATE = "sso/_integration_section.html"
# The sign-in started in this session and not finished yet (one at most): its state, connection,
# start time and where to go after.
FLOW_SESSION_KEY = "sso_flow"


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
        "sign_in_link": (
            request.build_absolute_uri(
                reverse("sso:link_sign_in", kwargs={"sign_in_id": connection.sign_in_id})
            )
            if connection is not None
            else ""
        ),
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


def _unavailable(request: HttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    """The shared sign-in page's answer when it sends no one to Microsoft.

    The same page for an address with no account, one whose company has SSO off and one
    provisioned in several companies, so it tells nothing about which accounts exist.
    """
    context = {"sign_in_link_example": request.build_absolute_uri("/sso/c/…/"), **context}
    return render(request, "sso/unavailable.html", context, status=status)


class _SignInStartView(OIDCAuthenticationRequestView):
    """mozilla-django-oidc's request view, sending the person to one company's Entra tenant.

    The library makes state, nonce and the PKCE verifier and keeps them in the session
    (OIDC_MAX_STATES: one); this class picks the company's endpoints and client first and
    keeps the one sign-in under way in the session too, replacing any earlier one, so a
    session holds one pending sign-in however often it starts one.
    """

    def __init__(self, **kwargs) -> None:
        # The library reads one global provider from settings here; ours is per company.
        View.__init__(self, **kwargs)

    def start_sign_in(
        self, request: HttpRequest, connection: SsoConnection, *, login_hint: str, next_url: str
    ) -> HttpResponse:
        self.OIDC_OP_AUTH_ENDPOINT = entra_endpoints(tenant_id=connection.tenant_id).authorization
        self.OIDC_RP_CLIENT_ID = connection.client_id
        self.login_hint = login_hint
        request.session.pop("oidc_states", None)  # the earlier sign-in's, if any
        response = OIDCAuthenticationRequestView.get(self, request)
        state = parse_qs(urlsplit(response["Location"]).query)["state"][0]
        request.session[FLOW_SESSION_KEY] = {
            "state": state,
            "connection_id": connection.pk,
            "started_at": time.time(),
            "next": next_url or None,
        }
        return response

    def get_extra_params(self, request: HttpRequest) -> dict:
        # Entra fills in the account and skips its own "pick an account" step.
        return {"login_hint": self.login_hint} if self.login_hint else {}


# The sign-in form posts its password field here too (one form, two buttons); it is ignored,
# and kept out of error reports.
@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class SsoStartView(_SignInStartView):
    """POST from the shared sign-in page: send the person to their company's Entra tenant.

    The company is found from the email (sso_connection_for_email). An address that signs in
    through no connection, or that several companies provisioned, gets the same page pointing
    to the company's own sign-in link, whether or not it has an account anywhere.
    """

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SsoStartForm(request.POST)
        if not form.is_valid():
            return _unavailable(request, {"form": form}, status=400)
        email = form.cleaned_data["username"]
        if not _start_allowed(request):
            return _unavailable(request, {"email": email}, status=429)
        connection = sso_connection_for_email(email=email)
        if connection is None:
            return _unavailable(request, {"email": email})
        return self.start_sign_in(
            request, connection, login_hint=email, next_url=form.cleaned_data["next"]
        )


class SsoLinkSignInView(_SignInStartView):
    """A company's own sign-in link (/sso/c/<id>/), shared by its admin with its learners.

    GET shows the company's "Sign in with Microsoft" page; POST sends the person to that
    company's Entra tenant, and to no other: the link never looks at any account, so nothing
    another company provisions can steer or block it. An unknown id is a 404.
    """

    http_method_names = ["get", "post"]
    template_name = "sso/link_sign_in.html"

    def _connection(self, sign_in_id: str) -> SsoConnection:
        connection = sso_connection_for_sign_in_link(sign_in_id=sign_in_id)
        if connection is None:
            raise Http404("No such sign-in link.")
        return connection

    def _page(
        self, request: HttpRequest, connection: SsoConnection, form: SsoLinkSignInForm, **kwargs
    ) -> HttpResponse:
        context = {"connection": connection, "company": connection.company, "form": form}
        return render(request, self.template_name, context, **kwargs)

    def get(self, request: HttpRequest, sign_in_id: str) -> HttpResponse:
        connection = self._connection(sign_in_id)
        form = SsoLinkSignInForm(initial={"next": request.GET.get("next", "")})
        return self._page(request, connection, form)

    def post(self, request: HttpRequest, sign_in_id: str) -> HttpResponse:
        connection = self._connection(sign_in_id)
        form = SsoLinkSignInForm(request.POST)
        if not connection.is_enabled:
            return self._page(request, connection, form, status=403)
        if not form.is_valid():
            return self._page(request, connection, form, status=400)
        if not _start_allowed(request):
            form.add_error(None, "Too many sign-ins were started from your network. Wait a minute.")
            return self._page(request, connection, form, status=429)
        return self.start_sign_in(
            request,
            connection,
            login_hint=form.cleaned_data["username"],
            next_url=form.cleaned_data["next"],
        )


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
        started = request.session.get(FLOW_SESSION_KEY)
        if not (
            state
            and isinstance(started, dict)
            and constant_time_compare(str(started.get("state", "")), state)
        ):
            # Unknown, already used (a replay), replaced by a newer sign-in, or from another
            # browser's sign-in. The session is left as it was: an anonymous probe creates no
            # session row.
            return self.refused(RefusalReason.STATE_INVALID)
        del request.session[FLOW_SESSION_KEY]  # single use
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
