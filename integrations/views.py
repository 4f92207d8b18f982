"""Settings & Integrations pages: the integrations of a company, their keys, connection health,
provisioning activity (page and CSV export) and audit trail.

Every object is looked up through a selector filtered on `request.user.company`, so another
company's integration or key is a 404 exactly like a missing one.
"""

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.views import View
from django.views.generic import TemplateView

from qaportal.accounts.mixins import (
    CompanyAdminRequiredMixin,
    RecentSignInRequiredMixin,
    client_ip_address,
)
from qaportal.accounts.selectors import active_admin_list

from .exceptions import ApiKeyNotRevocable
from .models import ApiKey, Integration, ProvisioningEvent
from .sections import integration_sections_build
from .selectors import (
    RESOURCE_TYPES,
    ActivityCursor,
    ActivityFilter,
    activity_summary,
    api_key_list,
    audit_trail_entries,
    audit_trail_list,
    connection_health_get,
    integration_get_or_404,
    integration_overview_list,
    operation_choices,
    provisioning_event_list,
    provisioning_event_page,
)
from .services import GeneratedApiKey, api_key_generate, api_key_revoke

KEYS_PER_PAGE = 20
ACTIVITY_PER_PAGE = 50
ACTIVITY_PREVIEW_SIZE = 5
AUDIT_PER_PAGE = 50
EXPORT_CHUNK_SIZE = 2000


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


@dataclass(frozen=True)
class ActivityRow:
    """A ProvisioningEvent as the activity table and the CSV export show it."""

    event: ProvisioningEvent

    @property
    def summary(self) -> str:
        return activity_summary(self.event)

    @property
    def outcome_label(self) -> str:
        return self.event.get_outcome_display()

    @property
    def key_masked(self) -> str:
        return self.event.api_key.masked if self.event.api_key else ""

    @property
    def key_prefix(self) -> str:
        return self.event.api_key.prefix if self.event.api_key else ""


class ActivityFilterForm(forms.Form):
    """The filters of the activity page and its export, from the query string.

    An unknown value is dropped (that filter shows all) instead of failing the page: links
    are shared and the operation list grows.
    """

    outcome = forms.ChoiceField(
        label="Outcome",
        required=False,
        choices=[("", "All outcomes"), *ProvisioningEvent.Outcome.choices],
    )
    operation = forms.ChoiceField(label="Operation", required=False)
    resource_type = forms.ChoiceField(
        label="Resource",
        required=False,
        choices=[("", "Users and groups"), *RESOURCE_TYPES.items()],
    )
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=ProvisioningEvent._meta.get_field("resource_name").max_length,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "alice@contoso.com",
                "aria-describedby": "search-help",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
        help_text="A whole userName or displayName, in any case.",
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["operation"].choices = [("", "All operations"), *operation_choices()]

    def filters(self) -> ActivityFilter:
        self.is_valid()
        data = {name: self.cleaned_data.get(name) or "" for name in self.fields}
        return ActivityFilter(
            outcome=data["outcome"],
            operation=data["operation"],
            resource_type=data["resource_type"],
            search=data["q"],
        )


def _filter_query(filters: ActivityFilter) -> str:
    """The query string of a filter, for page links and the export link."""
    query = QueryDict(mutable=True)
    for name, value in (
        ("outcome", filters.outcome),
        ("operation", filters.operation),
        ("resource_type", filters.resource_type),
        ("q", filters.search),
    ):
        if value:
            query[name] = value
    return query.urlencode()


def integration_page_response(
    request: HttpRequest,
    integration: Integration,
    *,
    generated: GeneratedApiKey | None = None,
    section_overrides: dict[str, dict] | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render the integration page; with `generated`, reveal that key's plaintext once.

    `section_overrides` lets a registered section (integrations/sections.py) show its own
    bound form with its errors.
    """
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
    recent = provisioning_event_page(company=company, size=ACTIVITY_PREVIEW_SIZE)
    context = {
        "integration": integration,
        "overview": overview,
        "health": connection_health_get(company=company, overview=overview, now=now),
        "recent_rows": [ActivityRow(event=event) for event in recent.events],
        "has_more_activity": recent.older_cursor is not None,
        "key_page": page,
        "key_rows": [ApiKeyRow(api_key=key, now=now) for key in page],
        "tenant_url": request.build_absolute_uri(f"/{settings.SCIM_BASE_PATH}"),
        "grace_period_text": timeuntil(now + settings.QA_KEY_GRACE_PERIOD, now),
        "generated": generated,
        "settings_tab": "integrations",
        "sections": integration_sections_build(
            request=request, integration=integration, overrides=section_overrides
        ),
    }
    return render(request, "integrations/integration_detail.html", context, status=status)


class SettingsView(CompanyAdminRequiredMixin, TemplateView):
    """Settings & Integrations, General tab: the company, its admins and its two-factor rule."""

    template_name = "integrations/settings_general.html"

    def get_context_data(self, **kwargs) -> dict:
        company = self.request.user.company
        return super().get_context_data(
            company=company,
            admins=active_admin_list(company=company),
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
        integration = integration_get_or_404(company=request.user.company, provider=provider)
        return integration_page_response(request, integration)


class ApiKeyGenerateView(CompanyAdminRequiredMixin, RecentSignInRequiredMixin, View):
    """Generate a key and reveal it once, in this response only.

    The plaintext never reaches a redirect, the session, the messages framework or a log, and
    the response is `no-store` so no cache or back-button keeps it. A session whose password
    is older than QA_REAUTH_MAX_AGE confirms it first, then clicks again on this page.
    """

    reauth_action = "generate-api-key"

    def reauth_next_url(self, request: HttpRequest, provider: str) -> str:
        return reverse("integrations:integration_detail", kwargs={"provider": provider})

    def post(self, request: HttpRequest, provider: str) -> HttpResponse:
        integration = integration_get_or_404(company=request.user.company, provider=provider)
        generated = api_key_generate(
            integration=integration, created_by=request.user, ip_address=client_ip_address(request)
        )
        response = integration_page_response(request, integration, generated=generated)
        response["Cache-Control"] = "no-store"
        return response


class ApiKeyRevokeView(CompanyAdminRequiredMixin, RecentSignInRequiredMixin, View):
    """Confirm (GET), then revoke (POST) one key of the company.

    A POST from a session whose password is older than QA_REAUTH_MAX_AGE confirms the password
    first and comes back to this key's confirmation page.
    """

    template_name = "integrations/api_key_revoke.html"
    reauth_action = "revoke-api-key"

    def reauth_next_url(self, request: HttpRequest, provider: str, key_id: int) -> str:
        return reverse(
            "integrations:api_key_revoke", kwargs={"provider": provider, "key_id": key_id}
        )

    def _get_key(self, request: HttpRequest, provider: str, key_id: int) -> ApiKey:
        integration = integration_get_or_404(company=request.user.company, provider=provider)
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
            api_key_revoke(
                api_key=api_key, revoked_by=request.user, ip_address=client_ip_address(request)
            )
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


class ProvisioningActivityView(CompanyAdminRequiredMixin, View):
    """The company's SCIM requests, newest first, filtered, with Newer/Older keyset links."""

    def get(self, request: HttpRequest, provider: str) -> HttpResponse:
        integration = integration_get_or_404(company=request.user.company, provider=provider)
        form = ActivityFilterForm(request.GET)
        filters = form.filters()
        page = provisioning_event_page(
            company=request.user.company,
            filters=filters,
            before=ActivityCursor.decode(request.GET.get("before")),
            after=ActivityCursor.decode(request.GET.get("after")),
            size=ACTIVITY_PER_PAGE,
        )
        context = {
            "integration": integration,
            "form": form,
            "filters": filters,
            "filter_query": _filter_query(filters),
            "page": page,
            "rows": [ActivityRow(event=event) for event in page.events],
            "is_first_page": not (request.GET.get("before") or request.GET.get("after")),
            "retention_days": settings.QA_ACTIVITY_RETENTION_DAYS,
            "settings_tab": "integrations",
        }
        return render(request, "integrations/activity.html", context)


class _Echo:
    """A file-like object whose write() returns the line, for csv.writer in a stream."""

    def write(self, value: str) -> str:
        return value


_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> object:
    """A cell a spreadsheet shows as text: one starting like a formula gets a quote first.

    A userName or an error detail comes from the identity provider, so "=HYPERLINK(...)"
    must not run when an admin opens the export (OWASP, CSV injection).
    """
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


EXPORT_HEADER = [
    "Time (UTC)",
    "Activity",
    "Operation",
    "Resource type",
    "Resource name",
    "Resource id",
    "Outcome",
    "Status",
    "SCIM error type",
    "Detail",
    "Method",
    "Path",
    "Key",
    "Duration (ms)",
]


def _export_lines(events: Iterable[ProvisioningEvent], *, rows_per_chunk: int) -> Iterator[str]:
    writer = csv.writer(_Echo())
    # A BOM, so that Excel reads the UTF-8 of names such as "Zoë" correctly.
    yield "\ufeff" + writer.writerow(EXPORT_HEADER)
    chunk: list[str] = []
    for event in events:
        row = ActivityRow(event=event)
        cells = [
            event.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            row.summary,
            event.operation,
            event.resource_type,
            event.resource_name,
            event.resource_id,
            row.outcome_label,
            event.status_code,
            event.scim_type,
            event.detail,
            event.method,
            event.path,
            row.key_prefix,
            event.duration_ms,
        ]
        chunk.append(writer.writerow([csv_safe(cell) for cell in cells]))
        if len(chunk) >= rows_per_chunk:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


class ProvisioningActivityExportView(CompanyAdminRequiredMixin, View):
    """The activity of the current filter as CSV, streamed: rows are read from a server-side
    cursor in chunks and written as they come, so a million rows never sit in memory."""

    def get(self, request: HttpRequest, provider: str) -> StreamingHttpResponse:
        integration = integration_get_or_404(company=request.user.company, provider=provider)
        filters = ActivityFilterForm(request.GET).filters()
        events = provisioning_event_list(company=request.user.company, filters=filters)
        response = StreamingHttpResponse(
            _export_lines(
                events.iterator(chunk_size=EXPORT_CHUNK_SIZE), rows_per_chunk=EXPORT_CHUNK_SIZE
            ),
            content_type="text/csv; charset=utf-8",
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        filename = f"provisioning-activity-{integration.provider}-{stamp}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response


class AuditTrailView(CompanyAdminRequiredMixin, View):
    """Who generated, revoked or let expire which key, and who invited, removed or changed
    which admin account, when and from where. Read-only: the trail is append-only, so this
    page has no form and the view answers GET alone."""

    def get(self, request: HttpRequest, provider: str) -> HttpResponse:
        company = request.user.company
        integration = integration_get_or_404(company=company, provider=provider)
        page = Paginator(audit_trail_list(company=company), AUDIT_PER_PAGE).get_page(
            request.GET.get("page")
        )
        entries = audit_trail_entries(company=company, rows=list(page.object_list))
        return render(
            request,
            "integrations/audit_trail.html",
            {
                "integration": integration,
                "page": page,
                "entries": entries,
                "settings_tab": "integrations",
            },
        )
