"""Settings & Integrations pages: the integrations of a company and the keys of each.

Every object is looked up through a selector filtered on `request.user.company`, so another
company's integration or key is a 404 exactly like a missing one.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.views import View
from django.views.generic import TemplateView

from qaportal.accounts.mixins import CompanyAdminRequiredMixin
from qaportal.accounts.selectors import company_admin_list

from .exceptions import ApiKeyNotRevocable
from .models import ApiKey, Integration
from .selectors import api_key_list, integration_list, integration_overview_list
from .services import GeneratedApiKey, api_key_generate, api_key_revoke

KEYS_PER_PAGE = 20


@dataclass(frozen=True)
class ApiKeyRow:
    """A key as the keys table shows it: its status by the clock at render time."""

    api_key: ApiKey
    now: datetime

    @property
    def status(self) -> str:
        return self.api_key.status_at(self.now)

    @property
    def is_revocable(self) -> bool:
        return self.status in (ApiKey.Status.ACTIVE, ApiKey.Status.EXPIRING)

    @property
    def was_used_just_now(self) -> bool:
        last_used_at = self.api_key.last_used_at
        return last_used_at is not None and self.now - last_used_at < timedelta(minutes=1)


def _client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy rewrites it.
    return request.META.get("REMOTE_ADDR") or None


def _integration_page(
    request: HttpRequest,
    integration: Integration,
    *,
    generated: GeneratedApiKey | None = None,
) -> HttpResponse:
    """Render the integration page; with `generated`, reveal that key's plaintext once."""
    company = request.user.company
    now = timezone.now()
    page: Page = Paginator(
        api_key_list(company=company, integration=integration), KEYS_PER_PAGE
    ).get_page(request.GET.get("page"))
    overview = next(
        item
        for item in integration_overview_list(company=company, now=now)
        if item.integration.pk == integration.pk
    )
    context = {
        "integration": integration,
        "overview": overview,
        "key_page": page,
        "key_rows": [ApiKeyRow(api_key=key, now=now) for key in page],
        "tenant_url": request.build_absolute_uri(f"/{settings.SCIM_BASE_PATH}"),
        "grace_period_text": timeuntil(now + settings.QA_KEY_GRACE_PERIOD, now),
        "generated": generated,
        "settings_tab": "integrations",
    }
    return render(request, "integrations/integration_detail.html", context)


class SettingsView(CompanyAdminRequiredMixin, TemplateView):
    """Settings & Integrations, General tab: the company and its admins."""

    template_name = "integrations/settings_general.html"

    def get_context_data(self, **kwargs) -> dict:
        company = self.request.user.company
        return super().get_context_data(
            company=company,
            admins=company_admin_list(company=company),
            settings_tab="general",
            **kwargs,
        )


class IntegrationListView(CompanyAdminRequiredMixin, TemplateView):
    """Settings & Integrations, Integrations tab: each provider with its status badge."""

    template_name = "integrations/integration_list.html"

    def get_context_data(self, **kwargs) -> dict:
        overviews = integration_overview_list(company=self.request.user.company, now=timezone.now())
        return super().get_context_data(overviews=overviews, settings_tab="integrations", **kwargs)


class IntegrationDetailView(CompanyAdminRequiredMixin, View):
    """One integration: Tenant URL, key generation and the keys table."""

    def get(self, request: HttpRequest, provider: str) -> HttpResponse:
        integration = get_object_or_404(
            integration_list(company=request.user.company), provider=provider
        )
        return _integration_page(request, integration)


class ApiKeyGenerateView(CompanyAdminRequiredMixin, View):
    """Generate a key and reveal it once, in this response only.

    The plaintext never reaches a redirect, the session, the messages framework or a log, and
    the response is `no-store` so no cache or back-button keeps it.
    """

    def post(self, request: HttpRequest, provider: str) -> HttpResponse:
        integration = get_object_or_404(
            integration_list(company=request.user.company), provider=provider
        )
        generated = api_key_generate(
            integration=integration, created_by=request.user, ip_address=_client_ip(request)
        )
        response = _integration_page(request, integration, generated=generated)
        response["Cache-Control"] = "no-store"
        return response


class ApiKeyRevokeView(CompanyAdminRequiredMixin, View):
    """Confirm (GET), then revoke (POST) one key of the company."""

    template_name = "integrations/api_key_revoke.html"

    def _get_key(self, request: HttpRequest, provider: str, key_id: int) -> ApiKey:
        integration = get_object_or_404(
            integration_list(company=request.user.company), provider=provider
        )
        keys = api_key_list(company=request.user.company, integration=integration)
        return get_object_or_404(keys, pk=key_id)

    def get(self, request: HttpRequest, provider: str, key_id: int) -> HttpResponse:
        api_key = self._get_key(request, provider, key_id)
        row = ApiKeyRow(api_key=api_key, now=timezone.now())
        return render(
            request,
            self.template_name,
            {"integration": api_key.integration, "row": row, "settings_tab": "integrations"},
        )

    def post(self, request: HttpRequest, provider: str, key_id: int) -> HttpResponse:
        api_key = self._get_key(request, provider, key_id)
        try:
            api_key_revoke(api_key=api_key, revoked_by=request.user, ip_address=_client_ip(request))
        except ApiKeyNotRevocable:
            messages.error(
                request,
                f"{api_key.masked} was not revoked: it is already revoked or expired.",
            )
        else:
            messages.success(
                request,
                f"Revoked {api_key.masked}. Requests that use it are refused from now on.",
            )
        return redirect(reverse("integrations:integration_detail", kwargs={"provider": provider}))
