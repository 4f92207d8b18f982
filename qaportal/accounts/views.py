"""Portal pages of the accounts app: sign-in and sign-out, the Dashboard and the teams."""

from django.contrib.auth.views import LoginView, LogoutView
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views import View
from django.views.generic import TemplateView

from .dashboard import dashboard_sections_build
from .forms import SignInForm
from .mixins import CompanyAdminRequiredMixin
from .selectors import (
    company_admin_list,
    company_summary_get,
    team_list,
    team_member_list,
    team_overview_list,
)

TEAMS_PER_PAGE = 20
MEMBERS_PER_PAGE = 50


class SignInView(LoginView):
    template_name = "accounts/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


class SignOutView(LogoutView):
    """POST only (Django's LogoutView refuses GET), then back to sign-in."""


class DashboardView(CompanyAdminRequiredMixin, TemplateView):
    template_name = "accounts/dashboard.html"

    def get_context_data(self, **kwargs) -> dict:
        company = self.request.user.company
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
