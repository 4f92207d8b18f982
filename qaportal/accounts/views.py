"""Portal pages of the accounts app: sign-in and sign-out, the Dashboard and the teams."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import LoginView, LogoutView
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from .dashboard import dashboard_sections_build
from .forms import PasswordConfirmForm, SignInForm
from .mixins import REAUTH_ACTIONS, CompanyAdminRequiredMixin, password_confirmed_now
from .selectors import (
    company_admin_list,
    company_summary_get,
    learner_team_list,
    team_list,
    team_member_list,
    team_overview_list,
)
from .sign_in import sign_in_option_templates

TEAMS_PER_PAGE = 20
MEMBERS_PER_PAGE = 50


class SignInView(LoginView):
    """Email and password, plus the other ways to sign in that apps register (sign_in.py)."""

    template_name = "accounts/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs) -> dict:
        return super().get_context_data(sign_in_options=sign_in_option_templates(), **kwargs)


class SignOutView(LogoutView):
    """POST only (Django's LogoutView refuses GET), then back to sign-in."""


def sign_in_locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """django-axes' lockout answer (AXES_LOCKOUT_CALLABLE): a portal page, 429, Retry-After.

    It reads the same for a known and an unknown email, so it tells nothing about accounts.
    """
    cooloff = settings.AXES_COOLOFF_TIME
    minutes = max(1, round(cooloff.total_seconds() / 60))
    response = render(
        request,
        "accounts/locked_out.html",
        {"failure_limit": settings.AXES_FAILURE_LIMIT, "cooloff_minutes": minutes},
        status=429,
    )
    response["Retry-After"] = str(int(cooloff.total_seconds()))
    return response


class PasswordConfirmView(LoginRequiredMixin, View):
    """The "Confirm your password" page before a key is generated or revoked.

    On success the session's password time is renewed and the admin goes back to `next`, a
    local URL only, where they click the button again; the original POST is not replayed.
    """

    template_name = "accounts/password_confirm.html"

    def _context(self, request: HttpRequest, form: PasswordConfirmForm) -> dict:
        action = REAUTH_ACTIONS.get(request.GET.get("action", ""))
        return {
            "form": form,
            "action_text": action[0] if action else "",
            "max_age_minutes": round(settings.QA_REAUTH_MAX_AGE.total_seconds() / 60),
        }

    def _next_url(self, request: HttpRequest) -> str:
        next_url = request.GET.get("next", "")
        if url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return next_url
        return reverse("accounts:dashboard")

    def get(self, request: HttpRequest) -> HttpResponse:
        form = PasswordConfirmForm(request=request)
        return render(request, self.template_name, self._context(request, form))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PasswordConfirmForm(request.POST, request=request)
        if not form.is_valid():
            return render(request, self.template_name, self._context(request, form))
        # A new session key for the confirmed session, as at sign-in.
        request.session.cycle_key()
        password_confirmed_now(request)
        action = REAUTH_ACTIONS.get(request.GET.get("action", ""))
        if action:
            messages.info(request, f"Password confirmed. Click “{action[1]}” again to {action[0]}.")
        else:
            messages.info(request, "Password confirmed.")
        return redirect(self._next_url(request))


class DashboardView(LoginRequiredMixin, TemplateView):
    """The company admin's Dashboard; a learner's own home page; 403 for anyone else."""

    def get_template_names(self) -> list[str]:
        if self.request.user.is_company_admin:
            return ["accounts/dashboard.html"]
        return ["accounts/learner_home.html"]

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not user.is_company_admin and user.company_id is None:
            raise PermissionDenied("The Dashboard is for the users of a company.")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs) -> dict:
        company = self.request.user.company
        if not self.request.user.is_company_admin:
            return super().get_context_data(
                company=company, teams=learner_team_list(user=self.request.user), **kwargs
            )
        return super().get_context_data(
            company=company,
            summary=company_summary_get(company=company),
            admins=company_admin_list(company=company)[:5],
            sections=dashboard_sections_build(request=self.request),
            **kwargs,
        )


class TeamListView(CompanyAdminRequiredMixin, View):
    """Every team of the company with its member count and first members, paginated."""

    def get(self, request: HttpRequest) -> HttpResponse:
        teams = team_overview_list(company=request.user.company)
        page = Paginator(teams, TEAMS_PER_PAGE).get_page(request.GET.get("page"))
        return render(request, "accounts/team_list.html", {"page": page})


class TeamDetailView(CompanyAdminRequiredMixin, View):
    """One team of the company and all its members, paginated."""

    def get(self, request: HttpRequest, team_id: int) -> HttpResponse:
        company = request.user.company
        team = get_object_or_404(team_list(company=company), pk=team_id)
        members = team_member_list(company=company, team=team)
        page = Paginator(members, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
        return render(request, "accounts/team_detail.html", {"team": team, "page": page})
