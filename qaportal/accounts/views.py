"""Portal pages of the accounts app: sign-in (password, then a code for two-factor accounts)
and sign-out, password confirmation, the Dashboard and the teams."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import LoginView, LogoutView
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import TemplateView

from .dashboard import dashboard_sections_build
from .emails import sign_in_guessing_notice_enqueue
from .exceptions import CodeThrottled, InvalidCode
from .forms import PasswordConfirmForm, SignInCodeForm, SignInForm
from .mixins import (
    REAUTH_ACTIONS,
    CompanyAdminRequiredMixin,
    password_confirmed_now,
    second_factor_confirmed_now,
    signed_in_entry_attempts_left,
    signed_in_entry_failed,
    signed_in_entry_succeeded,
)
from .models import User
from .selectors import (
    company_admin_list,
    company_summary_get,
    learner_team_list,
    team_list,
    team_member_list,
    team_overview_list,
)
from .services.two_factor import VerifiedCode, second_factor_verify
from .sign_in import sign_in_option_templates
from .throttles import known_device_remember

TEAMS_PER_PAGE = 20
MEMBERS_PER_PAGE = 50


# A sign-in whose password was right, waiting for the account's second factor:
# {"user_id", "backend", "started_at", "next", "failures"}. Never a signed-in session.
PENDING_SIGN_IN_SESSION_KEY = "qa_pending_sign_in"


def code_error_text(error: Exception) -> str:
    if isinstance(error, CodeThrottled):
        return (
            f"Too many wrong codes in a row. Wait {error.retry_after} seconds, then enter "
            "the code your app shows."
        )
    return (
        "That code is not correct. Enter the code your app shows now (each code works once), "
        "or a recovery code."
    )


def recovery_code_notice(request: HttpRequest, verified: VerifiedCode) -> None:
    if verified.is_recovery_code:
        left = verified.recovery_codes_left
        messages.warning(
            request,
            f"You used a recovery code; {left} left. Each works once: make new ones in "
            "Two-factor authentication if you are running out.",
        )


class SignInView(LoginView):
    """Email and password, plus the other ways to sign in that apps register (sign_in.py).

    An account with two-factor is not signed in here: the right password leads to the code
    page (SignInCodeView). An attempt the per-account slow-down refuses is answered 429 with
    Retry-After; the wrong password that crosses its limit queues the owner's warning email.
    """

    template_name = "accounts/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs) -> dict:
        return super().get_context_data(sign_in_options=sign_in_option_templates(), **kwargs)

    def form_invalid(self, form: SignInForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.retry_after:
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)
        if form.owner_warning_due:
            sign_in_guessing_notice_enqueue(email=form.cleaned_data["username"])
        return response

    def form_valid(self, form: SignInForm) -> HttpResponse:
        user = form.get_user()
        if user.has_two_factor:
            self.request.session[PENDING_SIGN_IN_SESSION_KEY] = {
                "user_id": user.pk,
                "backend": user.backend,
                "started_at": time.time(),
                "next": self.get_success_url(),
                "failures": 0,
            }
            return redirect("accounts:sign_in_code")
        response = super().form_valid(form)
        known_device_remember(self.request, response, user.email)
        return response


@method_decorator(sensitive_post_parameters("code"), name="dispatch")
class SignInCodeView(View):
    """The second step of signing in, for accounts with two-factor: a code, then signed in.

    The pending sign-in lasts QA_SIGN_IN_CODE_MAX_AGE and allows QA_SIGN_IN_CODE_ATTEMPTS
    wrong codes; then the password is asked again. Each device also throttles wrong codes
    (django-otp), whichever sign-in they come from.
    """

    template_name = "accounts/sign_in_code.html"

    def _pending(self, request: HttpRequest) -> tuple[User, dict] | None:
        data = request.session.get(PENDING_SIGN_IN_SESSION_KEY)
        if not isinstance(data, dict):
            return None
        age = time.time() - float(data.get("started_at", 0))
        user = None
        if 0 <= age <= settings.QA_SIGN_IN_CODE_MAX_AGE.total_seconds():
            user = User.objects.filter(pk=data.get("user_id"), is_active=True).first()
        if user is None or not user.has_two_factor:
            del request.session[PENDING_SIGN_IN_SESSION_KEY]
            return None
        return user, data

    def _start_again(self, request: HttpRequest, text: str) -> HttpResponse:
        request.session.pop(PENDING_SIGN_IN_SESSION_KEY, None)
        messages.info(request, text)
        return redirect("accounts:login")

    def get(self, request: HttpRequest) -> HttpResponse:
        if self._pending(request) is None:
            return self._start_again(request, "Sign in with your email and password first.")
        return render(request, self.template_name, {"form": SignInCodeForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        pending = self._pending(request)
        if pending is None:
            return self._start_again(
                request, "That sign-in took too long. Sign in with your email and password again."
            )
        user, data = pending
        form = SignInCodeForm(request.POST)
        status = 200
        if form.is_valid():
            try:
                verified = second_factor_verify(user=user, code=form.cleaned_data["code"])
            except (CodeThrottled, InvalidCode) as error:
                form.add_error("code", code_error_text(error))
                status = 429 if isinstance(error, CodeThrottled) else 200
                data["failures"] = int(data.get("failures", 0)) + 1
                request.session[PENDING_SIGN_IN_SESSION_KEY] = data
                if data["failures"] >= settings.QA_SIGN_IN_CODE_ATTEMPTS:
                    return self._start_again(
                        request,
                        "Too many wrong codes. Sign in with your email and password again.",
                    )
            else:
                del request.session[PENDING_SIGN_IN_SESSION_KEY]
                login(request, user, backend=data["backend"])
                second_factor_confirmed_now(request, verified.device)
                recovery_code_notice(request, verified)
                response = redirect(data.get("next") or settings.LOGIN_REDIRECT_URL)
                known_device_remember(request, response, user.email)
                return response
        return render(request, self.template_name, {"form": form}, status=status)


class SignOutView(LogoutView):
    """POST only (Django's LogoutView refuses GET), then back to sign-in."""


def sign_in_locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """django-axes' lockout answer (AXES_LOCKOUT_CALLABLE): a portal page, 429, Retry-After.

    It reads the same for a known and an unknown email, so it tells nothing about accounts,
    and says what works meanwhile: resetting the password, another admin, QA support.
    """
    cooloff = settings.AXES_COOLOFF_TIME
    minutes = max(1, round(cooloff.total_seconds() / 60))
    response = render(
        request,
        "accounts/locked_out.html",
        {
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "cooloff_minutes": minutes,
            "support_email": settings.QA_SUPPORT_EMAIL,
        },
        status=429,
    )
    response["Retry-After"] = str(int(cooloff.total_seconds()))
    return response


@method_decorator(sensitive_post_parameters("password", "code"), name="dispatch")
class PasswordConfirmView(LoginRequiredMixin, View):
    """The "Confirm your password" page before a sensitive action (keys, single sign-on,
    admins, two-factor); for an account with two-factor it asks for a code too.

    On success the session's password (and code) time is renewed and the admin goes back to
    `next`, a local URL only, where they click the button again; the original POST is not
    replayed. Wrong entries never count toward the sign-in lockout: after
    QA_CONFIRM_FAILURE_LIMIT of them in a session, the session is signed out, and signing in
    again works as usual.
    """

    template_name = "accounts/password_confirm.html"

    def _context(self, request: HttpRequest, form: PasswordConfirmForm) -> dict:
        action = REAUTH_ACTIONS.get(request.GET.get("action", ""))
        return {
            "form": form,
            "action_text": action[0] if action else "",
            "max_age_minutes": round(settings.QA_REAUTH_MAX_AGE.total_seconds() / 60),
            "attempts_left": signed_in_entry_attempts_left(request),
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
        verified = None
        status = 200
        if form.is_valid() and form.asks_for_code:
            try:
                verified = second_factor_verify(user=request.user, code=form.cleaned_data["code"])
            except (CodeThrottled, InvalidCode) as error:
                form.add_error("code", code_error_text(error))
                status = 429 if isinstance(error, CodeThrottled) else 200
        if form.errors:
            signed_out = signed_in_entry_failed(request)
            if signed_out is not None:
                return signed_out
            return render(request, self.template_name, self._context(request, form), status=status)
        # A new session key for the confirmed session, as at sign-in.
        request.session.cycle_key()
        signed_in_entry_succeeded(request)
        password_confirmed_now(request)
        if verified is not None:
            second_factor_confirmed_now(request, verified.device)
            recovery_code_notice(request, verified)
        what = "Password and code" if verified is not None else "Password"
        action = REAUTH_ACTIONS.get(request.GET.get("action", ""))
        if action:
            messages.info(request, f"{what} confirmed. Click “{action[1]}” again to {action[0]}.")
        else:
            messages.info(request, f"{what} confirmed.")
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
    """Every team of the company (or those whose name contains the search) with its member
    count and first members, paginated."""

    def get(self, request: HttpRequest) -> HttpResponse:
        search = request.GET.get("q", "").replace("\x00", "").strip()[:256]
        teams = team_overview_list(company=request.user.company, search=search)
        page = Paginator(teams, TEAMS_PER_PAGE).get_page(request.GET.get("page"))
        context = {
            "page": page,
            "search": search,
            "search_query": urlencode({"q": search}) if search else "",
        }
        return render(request, "accounts/team_list.html", context)


class TeamDetailView(CompanyAdminRequiredMixin, View):
    """One team of the company and all its members, paginated."""

    def get(self, request: HttpRequest, team_id: int) -> HttpResponse:
        company = request.user.company
        team = get_object_or_404(team_list(company=company), pk=team_id)
        members = team_member_list(company=company, team=team)
        page = Paginator(members, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
        return render(request, "accounts/team_detail.html", {"team": team, "page": page})
