"""The two-factor pages of admins and staff: set up an authenticator app, see the state, make
new recovery codes, turn two-factor off. Split from views.py by sub-domain.

Secrets (the authenticator key and QR code, recovery codes) appear only in the response to the
POST that made them, with Cache-Control: no-store, never in a redirect, the session or a log.
"""

from base64 import b32encode

import segno
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters
from django_otp.plugins.otp_totp.models import TOTPDevice

from .exceptions import CodeThrottled, InvalidCode, TwoFactorAlreadyEnabled
from .forms import TwoFactorChangeForm, TwoFactorCodeForm
from .mixins import (
    RecentSignInRequiredMixin,
    client_ip_address,
    second_factor_confirmed_now,
    signed_in_entry_attempts_left,
    signed_in_entry_failed,
    signed_in_entry_succeeded,
)
from .models import RecoveryCodeDevice
from .services.two_factor import (
    RecoveryCodes,
    recovery_codes_regenerate,
    second_factor_verify,
    two_factor_disable,
    two_factor_enrolment_confirm,
    two_factor_enrolment_start,
)
from .views import code_error_text


class SignInAccountRequiredMixin(LoginRequiredMixin):
    """Company admins and staff, the people who sign in with a password; learners get 403."""

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        user = request.user
        if user.is_authenticated and not (user.is_company_admin or user.is_staff):
            raise PermissionDenied("Two-factor authentication is for admins and QA staff.")
        return super().dispatch(request, *args, **kwargs)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def _grouped(text: str, size: int = 4) -> str:
    return " ".join(text[index : index + size] for index in range(0, len(text), size))


def _enrolment_response(
    request: HttpRequest, device: TOTPDevice, form: TwoFactorCodeForm, status: int = 200
) -> HttpResponse:
    qr = segno.make(device.config_url, error="m")
    context = {
        "device": device,
        "form": form,
        # An <img> with a data: URI (img-src allows data:), drawn on the server: no script.
        "qr_data_uri": qr.svg_data_uri(scale=5, border=2),
        "manual_key": _grouped(b32encode(device.bin_key).decode().rstrip("=")),
    }
    return _no_store(render(request, "accounts/two_factor_enrol.html", context, status=status))


def _recovery_codes_response(
    request: HttpRequest, recovery: RecoveryCodes, *, new: bool
) -> HttpResponse:
    return _no_store(
        render(
            request,
            "accounts/two_factor_recovery_codes.html",
            {"codes": recovery.codes, "first_time": new},
        )
    )


class TwoFactorView(SignInAccountRequiredMixin, View):
    """Two-factor authentication: whether it is on, and the buttons to change it."""

    template_name = "accounts/two_factor.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_page(request, TwoFactorChangeForm(user=request.user))

    @staticmethod
    def render_page(
        request: HttpRequest, form: TwoFactorChangeForm, status: int = 200
    ) -> HttpResponse:
        user = request.user
        authenticator = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        recovery = RecoveryCodeDevice.objects.filter(user=user, confirmed=True).first()
        context = {
            "authenticator": authenticator,
            "recovery": recovery,
            "form": form,
            "required": user.is_company_admin and user.company.require_two_factor,
            "attempts_left": signed_in_entry_attempts_left(request),
        }
        return render(request, "accounts/two_factor.html", context, status=status)


@method_decorator(sensitive_post_parameters("code"), name="dispatch")
class TwoFactorEnrolView(SignInAccountRequiredMixin, RecentSignInRequiredMixin, View):
    """Set up an authenticator: POST without a code shows a new key (QR code and text), POST
    with a code from it turns two-factor on and shows the recovery codes once.

    Needs a recent password, so a stolen session cannot tie the account to the thief's phone.
    """

    reauth_action = "set-up-two-factor"

    def reauth_next_url(self, request: HttpRequest) -> str:
        return reverse("accounts:two_factor")

    def get(self, request: HttpRequest) -> HttpResponse:
        return redirect("accounts:two_factor")

    def post(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if "device_id" not in request.POST:
            try:
                device = two_factor_enrolment_start(user=user)
            except TwoFactorAlreadyEnabled:
                messages.info(request, "Two-factor authentication is already on.")
                return redirect("accounts:two_factor")
            return _enrolment_response(request, device, TwoFactorCodeForm())
        device_id = request.POST.get("device_id", "")
        device = (
            TOTPDevice.objects.filter(pk=int(device_id), user=user, confirmed=False).first()
            if device_id.isdigit()
            else None
        )
        if device is None:
            messages.error(request, "That set-up has ended. Start again.")
            return redirect("accounts:two_factor")
        form = TwoFactorCodeForm(request.POST)
        if not form.is_valid():
            return _enrolment_response(request, device, form, status=400)
        try:
            enabled = two_factor_enrolment_confirm(
                user=user,
                device_id=device.pk,
                code=form.cleaned_data["code"],
                ip_address=client_ip_address(request),
            )
        except (InvalidCode, CodeThrottled) as error:
            form.add_error("code", code_error_text(error))
            device.refresh_from_db()
            return _enrolment_response(request, device, form, status=400)
        except TwoFactorAlreadyEnabled:
            messages.info(request, "Two-factor authentication is already on.")
            return redirect("accounts:two_factor")
        user.has_two_factor = True
        # This session passed the new factor; the user's other sessions are signed out at
        # their next request (TwoFactorMiddleware).
        second_factor_confirmed_now(request, enabled.authenticator)
        return _recovery_codes_response(request, enabled.recovery, new=True)


@method_decorator(sensitive_post_parameters("password", "code"), name="dispatch")
class TwoFactorChangeView(SignInAccountRequiredMixin, View):
    """Turn two-factor off, or replace the recovery codes: both need the password and a code.

    Wrong entries count toward the session's limit (QA_CONFIRM_FAILURE_LIMIT), as on
    "Confirm your password".
    """

    def post(self, request: HttpRequest, change: str) -> HttpResponse:
        user = request.user
        if change not in ("disable", "recovery-codes") or not user.has_two_factor:
            return redirect("accounts:two_factor")
        form = TwoFactorChangeForm(request.POST, user=user)
        status = 400
        if form.is_valid():
            try:
                second_factor_verify(user=user, code=form.cleaned_data["code"])
            except (InvalidCode, CodeThrottled) as error:
                form.add_error("code", code_error_text(error))
                status = 429 if isinstance(error, CodeThrottled) else 400
        if form.errors:
            signed_out = signed_in_entry_failed(request)
            if signed_out is not None:
                return signed_out
            return TwoFactorView.render_page(request, form, status=status)
        signed_in_entry_succeeded(request)
        ip_address = client_ip_address(request)
        if change == "recovery-codes":
            recovery = recovery_codes_regenerate(user=user, ip_address=ip_address)
            return _recovery_codes_response(request, recovery, new=False)
        two_factor_disable(user=user, ip_address=ip_address)
        messages.success(
            request,
            "Two-factor authentication is off. Your sign-in now asks for your password only.",
        )
        return redirect("accounts:two_factor")
