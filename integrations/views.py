"""Settings & Integrations pages: the integrations of a company, their keys, connection health,
provisioning activity (page and CSV export) and audit trail.

Every object is looked up through a selector filtered on `request.user.company`, so another
company's integration or key is a 404 exactly like a missing one.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
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
from qaportal.accounts.selectors import (
    active_admin_list,
    person_id_by_scim_id,
    team_id_by_scim_id,
)

from .exceptions import ApiKeyNotRevocable
from .exports.activity import (
    ACTIVITY_EXPORT,
    activity_export_params,
)
from .exports.views import export_immediate_or_offer_response, export_job_start_response
from .models import ApiKey, Integration, ProvisioningEvent
from .sections import integration_sections_build
from .selectors.activity import (
    ActivityCursor,
    ActivityFilter,
    provisioning_event_get,
    provisioning_event_page,
)
from .selectors.audit import audit_trail_entries, audit_trail_list
from .selectors.health import connection_health_get
from .selectors.keys import (
    api_key_list,
    integration_get,
    integration_list,
    integration_overview_list,
)
from .services import GeneratedApiKey, api_key_generate, api_key_revoke
from .wording import (
    RESOURCE_TYPES,
    activity_summary,
    event_detail_lines,
    failure_words,
    joined,
    operation_choices,
)

KEYS_PER_PAGE = 20
ACTIVITY_PER_PAGE = 50
ACTIVITY_PREVIEW_SIZE = 5
AUDIT_PER_PAGE = 50


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
    def detail_lines(self) -> list[str]:
        """What changed (a success) or what went wrong (a failure), a line each."""
        return event_detail_lines(self.event)

    @property
    def detail(self) -> str:
        return joined(self.detail_lines)

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
        choices=[("", "People and teams"), *RESOURCE_TYPES.items()],
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
        help_text="Any part of a username or team name, in any case.",
    )
    show = forms.ChoiceField(
        label="Show",
        required=False,
        choices=[("changes", "Changes and failures"), ("all", "Everything, lookups included")],
    )
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, default_show: str = "changes", **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["operation"].choices = [("", "All operations"), *operation_choices()]
        self.default_show = default_show

    def filters(self) -> ActivityFilter:
        self.is_valid()
        data = {name: self.cleaned_data.get(name) or "" for name in self.fields}
        return ActivityFilter(
            outcome=data["outcome"],
            operation=data["operation"],
            resource_type=data["resource_type"],
            search=data["q"],
            # The page shows changes unless asked for everything (lookups are one click away);
            # the export, like the API, everything unless asked for changes.
            show="changes" if (data["show"] or self.default_show) == "changes" else "",
            since=data["since"].isoformat() if data["since"] else "",
            until=data["until"].isoformat() if data["until"] else "",
        )


class CompanyIntegrationMixin:
    """The signed-in admin's company's integration named by the URL's `provider`, as
    `self.integration`; another company's integration is a 404 like a missing one.

    Put it after CompanyAdminRequiredMixin, so anonymous users and learners are handled first.
    """

    integration: Integration

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        integration = integration_get(company=request.user.company, provider=kwargs["provider"])
        if integration is None:
            raise Http404("No such integration.")
        self.integration = integration
        return super().dispatch(request, *args, **kwargs)


def _filter_query(filters: ActivityFilter) -> str:
    """The query string of a filter, for page links and the export link."""
    query = QueryDict(mutable=True)
    for name, value in (
        ("outcome", filters.outcome),
        ("operation", filters.operation),
        ("resource_type", filters.resource_type),
        ("q", filters.search),
        ("show", "changes" if filters.show == "changes" else "all"),
        ("since", filters.since),
        ("until", filters.until),
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


class IntegrationDetailView(CompanyAdminRequiredMixin, CompanyIntegrationMixin, View):
    """One integration: Tenant URL, key generation and the keys table."""

    def get(self, request: HttpRequest, provider: str) -> HttpResponse:
        return integration_page_response(request, self.integration)


class ApiKeyGenerateView(
    CompanyAdminRequiredMixin, RecentSignInRequiredMixin, CompanyIntegrationMixin, View
):
    """Confirm (GET, when a key works today), then generate a key and reveal it once, in this
    response only.

    The plaintext never reaches a redirect, the session, the messages framework or a log, and
    the response is `no-store` so no cache or back-button keeps it. A session whose password
    is older than QA_REAUTH_MAX_AGE confirms it first, then comes back to the confirmation.
    """

    reauth_action = "generate-api-key"

    def reauth_next_url(self, request: HttpRequest, provider: str) -> str:
        # Back into the action: the confirmation, or the page whose button generates a key.
        return reverse("integrations:api_key_generate", kwargs={"provider": provider})

    def get(self, request: HttpRequest, provider: str) -> HttpResponse:
        """With a working key: confirm, saying when the current key stops working. Without
        one there is nothing to lose: back to the page and its button."""
        company = request.user.company
        now = timezone.now()
        overview = next(
            item
            for item in integration_overview_list(company=company, now=now)
            if item.integration.pk == self.integration.pk
        )
        if overview.current_key is None:
            return redirect("integrations:integration_detail", provider=provider)
        context = {
            "integration": self.integration,
            "overview": overview,
            "grace_period_text": timeuntil(now + settings.QA_KEY_GRACE_PERIOD, now),
            "stops_at": now + settings.QA_KEY_GRACE_PERIOD,
            "settings_tab": "integrations",
        }
        return render(request, "integrations/api_key_generate.html", context)

    def post(self, request: HttpRequest, provider: str) -> HttpResponse:
        generated = api_key_generate(
            integration=self.integration,
            created_by=request.user,
            ip_address=client_ip_address(request),
        )
        response = integration_page_response(request, self.integration, generated=generated)
        response["Cache-Control"] = "no-store"
        return response


class ApiKeyRevokeView(
    CompanyAdminRequiredMixin, RecentSignInRequiredMixin, CompanyIntegrationMixin, View
):
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

    def _get_key(self, request: HttpRequest, key_id: int) -> ApiKey:
        keys = api_key_list(company=request.user.company, integration=self.integration)
        return get_object_or_404(keys, pk=key_id)

    def get(self, request: HttpRequest, provider: str, key_id: int) -> HttpResponse:
        api_key = self._get_key(request, key_id)
        row = ApiKeyRow(api_key=api_key, now=timezone.now())
        return render(
            request,
            self.template_name,
            {"integration": api_key.integration, "row": row, "settings_tab": "integrations"},
        )

    def post(self, request: HttpRequest, provider: str, key_id: int) -> HttpResponse:
        api_key = self._get_key(request, key_id)
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


class ActivityRedirectView(CompanyAdminRequiredMixin, View):
    """The main navigation's Activity: the activity page of the company's integration (one
    today, Microsoft Entra ID) with the link's filters, or the integrations list if it has
    none."""

    def get(self, request: HttpRequest) -> HttpResponse:
        integration = integration_list(company=request.user.company).first()
        if integration is None:
            return redirect("integrations:integration_list")
        url = reverse(
            "integrations:provisioning_activity", kwargs={"provider": integration.provider}
        )
        # The filters of a link (a team's activity) go along.
        query = request.GET.urlencode()
        return redirect(f"{url}?{query}" if query else url)


class ProvisioningActivityView(CompanyAdminRequiredMixin, CompanyIntegrationMixin, View):
    """The company's SCIM requests, newest first, filtered, with Newer/Older keyset links."""

    def get(self, request: HttpRequest, provider: str) -> HttpResponse:
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
            "integration": self.integration,
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


class ProvisioningEventDetailView(CompanyAdminRequiredMixin, View):
    """One request of the activity log: what was asked (method, path, key, duration), what it
    did (each attribute old → new, members added or removed) or why it failed and what to do
    in Entra, and links to the person or team it was about."""

    def get(self, request: HttpRequest, event_id: int) -> HttpResponse:
        company = request.user.company
        event = provisioning_event_get(company=company, event_id=event_id)
        if event is None:
            raise Http404("No such request in this company's log.")
        person_id = team_id = None
        if event.resource_id and event.resource_type == "User":
            person_id = person_id_by_scim_id(company=company, scim_id=event.resource_id)
        elif event.resource_id and event.resource_type == "Group":
            team_id = team_id_by_scim_id(company=company, scim_id=event.resource_id)
        integration = integration_list(company=company).first()
        context = {
            "row": ActivityRow(event=event),
            "failure": failure_words(event),
            "person_id": person_id,
            "team_id": team_id,
            "integration": integration,
            "settings_tab": "integrations",
        }
        return render(request, "integrations/provisioning_event_detail.html", context)


class ProvisioningActivityExportView(CompanyAdminRequiredMixin, CompanyIntegrationMixin, View):
    """The activity of the current filter as CSV.

    Up to QA_EXPORT_IMMEDIATE_MAX_ROWS rows, streamed at once: rows are read from a
    server-side cursor in chunks and written as they come. Larger exports would outlast the
    web server's timeout and hold a worker, so GET offers to prepare the file in the
    background and POST starts that job (integrations/exports/).
    """

    def get(self, request: HttpRequest, provider: str) -> HttpResponse:
        params = activity_export_params(
            ActivityFilterForm(request.GET, default_show="all").filters()
        )
        return export_immediate_or_offer_response(
            request,
            kind=ACTIVITY_EXPORT,
            params=params,
            filename_detail=self.integration.provider,
        )

    def post(self, request: HttpRequest, provider: str) -> HttpResponse:
        params = activity_export_params(
            ActivityFilterForm(request.GET, default_show="all").filters()
        )
        return export_job_start_response(request, kind=ACTIVITY_EXPORT, params=params)


class AuditTrailView(CompanyAdminRequiredMixin, CompanyIntegrationMixin, View):
    """Who generated, revoked or let expire which key, and who invited, removed or changed
    which admin account, when and from where. Read-only: the trail is append-only, so this
    page has no form and the view answers GET alone."""

    def get(self, request: HttpRequest, provider: str) -> HttpResponse:
        company = request.user.company
        page = Paginator(audit_trail_list(company=company), AUDIT_PER_PAGE).get_page(
            request.GET.get("page")
        )
        entries = audit_trail_entries(company=company, rows=list(page.object_list))
        return render(
            request,
            "integrations/audit_trail.html",
            {
                "integration": self.integration,
                "page": page,
                "entries": entries,
                "settings_tab": "integrations",
            },
        )
