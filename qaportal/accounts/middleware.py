"""Two-factor rules that hold on every request, whatever the view."""

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse

from .mixins import second_factor_passed

# Pages an admin who must set up two-factor can still open: the set-up itself (and the
# password confirmation it may ask for), signing out, and what a browser fetches on the way.
_ENROLMENT_OPEN_VIEWS = {
    "accounts:two_factor",
    "accounts:two_factor_enrol",
    "accounts:password_confirm",
    "accounts:logout",
}


class TwoFactorMiddleware:
    """Enforce two-factor on every request after authentication.

    - A session of a user who has a second factor but did not give a code in it (a session
      that began before they turned two-factor on) is signed out: every session of such a user
      passed the second factor.
    - An admin of a company that requires two-factor and who has none is sent to set it up
      before any other page (the API answers 403), at their next request.

    Costs no query beyond the user and, for company admins, their company row.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            if not second_factor_passed(request):
                logout(request)
                return self._refuse(
                    request,
                    "Your account now uses two-factor authentication. Sign in again with "
                    "your password and a code.",
                    to=reverse(settings.LOGIN_URL),
                )
            if (
                user.is_company_admin
                and not user.has_two_factor
                and user.company.require_two_factor
                and not self._is_enrolment_page(request)
            ):
                return self._refuse(
                    request,
                    f"{user.company.name} requires two-factor authentication for admins. "
                    "Set it up to continue.",
                    to=reverse("accounts:two_factor"),
                )
        return self.get_response(request)

    @staticmethod
    def _is_enrolment_page(request: HttpRequest) -> bool:
        # Static files never get here: whitenoise answers them earlier in the chain.
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return False
        return match.view_name in _ENROLMENT_OPEN_VIEWS

    @staticmethod
    def _refuse(request: HttpRequest, message: str, *, to: str) -> HttpResponse:
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message, "code": "two_factor_required"}, status=403)
        messages.warning(request, message)
        return redirect(to)
