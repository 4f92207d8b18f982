"""The Django admin site of QA staff: the same sign-in and second factor as the portal."""

from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from .mixins import second_factor_passed


class StaffAdminSite(admin.AdminSite):
    """Django's admin site, entered only through the portal's sign-in page.

    Its own login form would sign a member of staff in with a password alone; sending them to
    the portal's sign-in instead gives them its lockouts, the per-account slow-down and the
    second-factor step. A staff session that has not passed its second factor (one older than
    the staff member's enrolment) is refused like an anonymous one.
    """

    site_header = "QA Portal administration"
    site_title = "QA Portal staff"

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and second_factor_passed(request)

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.user.is_authenticated:
            # Signed in, but not as staff: the portal's sign-in would send them straight back.
            raise PermissionDenied("Django admin is for QA staff.")
        next_url = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = reverse("admin:index")
        return redirect(f"{reverse('accounts:login')}?{urlencode({'next': next_url})}")
