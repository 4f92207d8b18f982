"""Getting into an admin account without being signed in: accepting an invitation, and
"Forgot your password?". Split from views.py by sub-domain."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.module_loading import import_string
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters

from .emails import password_reset_email_enqueue
from .exceptions import AdminEmailTaken, InvitationNotUsable
from .forms import InvitationAcceptForm, NewPasswordForm, PasswordResetRequestForm
from .mixins import client_ip_address
from .models import AdminInvitation, User
from .selectors import admin_invitation_for_link, sign_in_account_list
from .services.admins import admin_invitation_accept
from .services.passwords import password_reset_complete
from .throttles import known_device_remember, password_reset_request_allowed


def password_backend_path() -> str:
    """The configured backend that checks passwords (for login() after a new password)."""
    for path in settings.AUTHENTICATION_BACKENDS:
        if issubclass(import_string(path), ModelBackend):
            return path
    raise LookupError("No password backend in AUTHENTICATION_BACKENDS.")


# --- Invitations ----------------------------------------------------------------------------


def _invitation_unusable(
    request: HttpRequest, status: str, *, company_name: str = ""
) -> HttpResponse:
    return render(
        request,
        "accounts/invitation_unusable.html",
        {
            "status": status,
            "company_name": company_name,
            "max_age_hours": round(settings.QA_INVITATION_MAX_AGE.total_seconds() / 3600),
        },
        status=410 if status in ("expired", "accepted", "revoked") else 404,
    )


# The link's secret moves to the session on the first visit and the browser is sent on to the
# same URL with this word in its place (as Django's password reset does), so the secret is not
# in the address bar, the pages' Referer or the request logged when the account is created.
INVITATION_URL_TOKEN = "accept"  # noqa: S105 - a URL word, not a secret
INVITATION_TOKEN_SESSION_KEY = "qa_invitation_token"  # noqa: S105 - a key name


@method_decorator(sensitive_post_parameters("new_password1", "new_password2"), name="dispatch")
class InvitationAcceptView(View):
    """The invitee's page: choose a password, become an admin, land on the Dashboard signed in.

    A link that was replaced by a re-send, revoked, used or never existed is "not valid"; an
    expired one says so and who to ask. The page asks for nothing but the password: the email
    is the one the invitation was sent to.
    """

    template_name = "accounts/invitation_accept.html"

    def _token(self, request: HttpRequest, public_id, token: str) -> str:
        if token != INVITATION_URL_TOKEN:
            return token
        stored = request.session.get(INVITATION_TOKEN_SESSION_KEY) or {}
        return stored.get(str(public_id), "") if isinstance(stored, dict) else ""

    def get(self, request: HttpRequest, public_id, token: str) -> HttpResponse:
        secret = self._token(request, public_id, token)
        invitation = admin_invitation_for_link(public_id=public_id, token=secret)
        if invitation is None:
            return _invitation_unusable(request, "invalid")
        status = invitation.status_at(timezone.now())
        if status != AdminInvitation.Status.PENDING:
            return _invitation_unusable(request, status, company_name=invitation.company.name)
        if token != INVITATION_URL_TOKEN:
            request.session[INVITATION_TOKEN_SESSION_KEY] = {str(public_id): secret}
            return redirect(
                "accounts:invitation_accept", public_id=public_id, token=INVITATION_URL_TOKEN
            )
        form = InvitationAcceptForm(email=invitation.email)
        return render(request, self.template_name, {"invitation": invitation, "form": form})

    def post(self, request: HttpRequest, public_id, token: str) -> HttpResponse:
        secret = self._token(request, public_id, token)
        invitation = admin_invitation_for_link(public_id=public_id, token=secret)
        if invitation is None:
            return _invitation_unusable(request, "invalid")
        form = InvitationAcceptForm(data=request.POST, email=invitation.email)
        if not form.is_valid():
            return render(
                request,
                self.template_name,
                {"invitation": invitation, "form": form},
                status=400,
            )
        try:
            user = admin_invitation_accept(
                invitation=invitation,
                token=secret,
                password=form.cleaned_data["new_password1"],
                ip_address=client_ip_address(request),
            )
        except InvitationNotUsable as error:
            return _invitation_unusable(request, error.status, company_name=invitation.company.name)
        except AdminEmailTaken:
            return _invitation_unusable(request, "taken")
        request.session.pop(INVITATION_TOKEN_SESSION_KEY, None)
        login(request, user, backend=password_backend_path())
        messages.success(
            request, f"Welcome to QA Portal. You are now an admin of {invitation.company.name}."
        )
        response = redirect("accounts:dashboard")
        known_device_remember(request, response, user.email)
        return response


# --- Forgot your password? ------------------------------------------------------------------


class PasswordResetRequestView(View):
    """Ask for a reset link. The answer is the same page for every address, known or not
    (the email is queued for Celery either way, and the task finds the account), so the page
    tells nothing about accounts. Requests are limited per address and per client IP."""

    template_name = "accounts/password_reset_form.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": PasswordResetRequestForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PasswordResetRequestForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form}, status=400)
        email = User.objects.normalize_sign_in_email(form.cleaned_data["email"])
        limited = password_reset_request_allowed(email=email, ip_address=client_ip_address(request))
        if limited is not None:
            minutes = max(1, round(limited.retry_after / 60))
            response = render(
                request,
                self.template_name,
                {"form": form, "limited_minutes": minutes},
                status=429,
            )
            response["Retry-After"] = str(limited.retry_after)
            return response
        password_reset_email_enqueue(email=email)
        return redirect("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    """ "Check your email", whatever the address was."""

    template_name = "accounts/password_reset_done.html"

    def get_context_data(self, **kwargs) -> dict:
        return super().get_context_data(
            reset_minutes=settings.PASSWORD_RESET_TIMEOUT // 60,
            support_email=settings.QA_SUPPORT_EMAIL,
            **kwargs,
        )


@method_decorator(sensitive_post_parameters("new_password1", "new_password2"), name="dispatch")
class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Choose a new password from an emailed link (Django's token: one hour, single use).

    Only active admins and staff can reset; learners sign in with Microsoft. Every session of
    the account ends; this browser is remembered as the owner's (the link proves the mailbox),
    so the per-account slow-down never delays its next sign-in.
    """

    template_name = "accounts/password_reset_confirm.html"
    form_class = NewPasswordForm
    success_url = reverse_lazy("accounts:login")
    post_reset_login = False

    def get_user(self, uidb64: str) -> User | None:
        user = super().get_user(uidb64)
        if user is None or not user.email:
            return None
        if not sign_in_account_list(email=user.email).filter(pk=user.pk).exists():
            return None
        return user

    def form_valid(self, form: NewPasswordForm) -> HttpResponse:
        user = password_reset_complete(
            user=self.user,
            password=form.cleaned_data["new_password1"],
            ip_address=client_ip_address(self.request),
        )
        del self.request.session[INTERNAL_RESET_SESSION_TOKEN]
        messages.success(
            self.request,
            "Your password was changed and your account was signed out everywhere. Sign in "
            "with the new password.",
        )
        response = redirect(self.success_url)
        known_device_remember(self.request, response, user.email)
        return response
