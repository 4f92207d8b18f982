"""Access rules of the portal pages: who may open them, and when a password (and, for admins
with two-factor, a code) must be re-entered."""

import ipaddress
import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp.models import Device

# Epoch seconds of the session's last successful password check (sign-in or confirmation).
PASSWORD_CONFIRMED_AT_SESSION_KEY = "qa_password_confirmed_at"  # noqa: S105 - a key name
# Epoch seconds of the session's last accepted second-factor code (sign-in or confirmation).
SECOND_FACTOR_AT_SESSION_KEY = "qa_second_factor_at"


class CompanyAdminRequiredMixin(AccessMixin):
    """Let company admins in; send anonymous users to sign-in and refuse everyone else (403).

    Learners and staff are signed-in users too, so a redirect to sign-in would loop; they get
    403. Views behind this mixin read `request.user.company` and look every object up through a
    selector filtered on it, so another company's object is a 404 like a missing one.
    """

    permission_denied_message = "Only company admins can open this page."

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not request.user.is_company_admin:
            raise PermissionDenied(self.get_permission_denied_message())
        return super().dispatch(request, *args, **kwargs)


# --- Recent sign-in ------------------------------------------------------------------------

# What the "Confirm your password" page says it is for, by the `action` of its URL. The page
# only ever shows these fixed words, never text taken from the URL.
REAUTH_ACTIONS: dict[str, tuple[str, str]] = {
    # action: (what it does, the button to click again)
    "generate-api-key": ("generate a new API key", "Generate a new API Key"),
    "revoke-api-key": ("revoke the API key", "Revoke key"),
    "configure-sso": ("change the single sign-on settings", "Save single sign-on"),
    "invite-admin": ("invite an admin", "Send invitation"),
    "remove-admin": ("remove an admin", "Remove admin"),
    "two-factor-requirement": ("change the two-factor requirement", "Save"),
    "set-up-two-factor": ("set up two-factor authentication", "Set up two-factor"),
}


def password_confirmed_now(request: HttpRequest) -> None:
    """Record in the session that its user has just proved they know the password."""
    request.session[PASSWORD_CONFIRMED_AT_SESSION_KEY] = time.time()


def password_confirmed_on_sign_in(sender: type, request: HttpRequest | None, **kwargs) -> None:
    """`user_logged_in` receiver: a sign-in is a fresh password check.

    Connected in AccountsConfig.ready(), so every way of signing in (the portal's form, Django
    admin's, a future SSO) starts its session with a recent sign-in.
    """
    if request is not None and hasattr(request, "session"):
        password_confirmed_now(request)


def second_factor_confirmed_now(request: HttpRequest, device: Device) -> None:
    """Record that the session's user has just given a valid code of `device`.

    django-otp's login() marks the session as verified with that device (what
    second_factor_passed checks); the time is for the recent-sign-in rule.
    """
    otp_login(request, device)
    request.session[SECOND_FACTOR_AT_SESSION_KEY] = time.time()


def second_factor_passed(request: HttpRequest) -> bool:
    """Whether the session's user has no second factor, or gave a code in this session.

    Reads the user row and the session only (no device query): `has_two_factor` is kept with
    the devices by the two-factor services.
    """
    user = request.user
    return not getattr(user, "has_two_factor", False) or DEVICE_ID_SESSION_KEY in request.session


def _is_recent(timestamp: object) -> bool:
    if not isinstance(timestamp, int | float):
        return False
    age = time.time() - timestamp
    # A timestamp in the future (a clock set back) is not trusted either.
    return 0 <= age <= settings.QA_REAUTH_MAX_AGE.total_seconds()


def sign_in_is_recent(request: HttpRequest) -> bool:
    """Whether the session's last password check is within QA_REAUTH_MAX_AGE, and, for a user
    with two-factor, its last accepted code too."""
    if not _is_recent(request.session.get(PASSWORD_CONFIRMED_AT_SESSION_KEY)):
        return False
    if getattr(request.user, "has_two_factor", False):
        return _is_recent(request.session.get(SECOND_FACTOR_AT_SESSION_KEY))
    return True


def reauth_url(*, next_url: str, action: str) -> str:
    query = urlencode({"next": next_url, "action": action})
    return f"{reverse('accounts:password_confirm')}?{query}"


class RecentSignInRequiredMixin:
    """Refuse a POST from a session whose password was last entered too long ago.

    The admin is sent to "Confirm your password" and from there back to `reauth_next_url()`:
    a page where they click the button again. The POST itself is not replayed: keeping its
    body across the redirect, or re-submitting it from script, would turn one password entry
    into an action the admin did not see being confirmed (and an auto-submitting page needs
    inline script, which the Content-Security-Policy forbids). Put it after
    CompanyAdminRequiredMixin so anonymous users and learners are handled first.
    """

    reauth_action: str = ""

    def reauth_next_url(self, request: HttpRequest, *args, **kwargs) -> str:
        # Like Django's get_success_url(): each view using the mixin must say where to return.
        raise ImproperlyConfigured(f"{type(self).__name__} must define reauth_next_url().")

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if request.method == "POST" and not sign_in_is_recent(request):
            next_url = self.reauth_next_url(request, *args, **kwargs)
            return redirect(reauth_url(next_url=next_url, action=self.reauth_action))
        return super().dispatch(request, *args, **kwargs)


# Wrong passwords or codes typed by a signed-in user ("Confirm your password", the two-factor
# settings) in this session: at QA_CONFIRM_FAILURE_LIMIT the session is signed out.
CONFIRM_FAILURES_SESSION_KEY = "qa_confirm_failures"


def signed_in_entry_failed(request: HttpRequest) -> HttpResponse | None:
    """Count a wrong password or code of a signed-in user; at QA_CONFIRM_FAILURE_LIMIT sign the
    session out and return the redirect to sign-in, else None.

    A limit of its own, apart from the sign-in lockout: typos here never lock anyone's sign-in,
    and a stolen session gets a few guesses at the password before it is ended.
    """
    failures = int(request.session.get(CONFIRM_FAILURES_SESSION_KEY, 0)) + 1
    if failures < settings.QA_CONFIRM_FAILURE_LIMIT:
        request.session[CONFIRM_FAILURES_SESSION_KEY] = failures
        return None
    logout(request)
    messages.warning(
        request,
        f"You were signed out after {failures} wrong passwords or codes. Sign in again (your "
        "sign-in is not locked), or reset your password if you have forgotten it.",
    )
    return redirect("accounts:login")


def signed_in_entry_attempts_left(request: HttpRequest) -> int:
    return settings.QA_CONFIRM_FAILURE_LIMIT - int(
        request.session.get(CONFIRM_FAILURES_SESSION_KEY, 0)
    )


def signed_in_entry_succeeded(request: HttpRequest) -> None:
    request.session.pop(CONFIRM_FAILURES_SESSION_KEY, None)


# --- django-axes hooks (named in settings) -------------------------------------------------


# The longest text form of an IP address ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255").
MAX_IP_ADDRESS_LENGTH = 45


def _ip_address_or_none(value: str) -> str | None:
    """`value` as a plain IPv4 or IPv6 address in canonical form, or None.

    The address goes into `inet` columns (lockout attempts, the audit trail): a proxy's value
    with a port ("1.2.3.4:5678"), brackets ("[::1]"), a zone ("fe80::1%eth0") or no address at
    all would make PostgreSQL refuse the INSERT, and the sign-in or key change with it.
    """
    value = value.strip()
    if not value or len(value) > MAX_IP_ADDRESS_LENGTH:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if getattr(address, "scope_id", None):
        return None
    return str(address)


def client_ip_address(request: HttpRequest) -> str | None:
    """The client address for the sign-in lockout, the SCIM per-IP throttle and the audit trail.

    REMOTE_ADDR, unless QA_TRUSTED_PROXY_HOPS says how many reverse proxies of ours append to
    X-Forwarded-For: then the address the outermost of them saw, counted from the right.
    Entries further left are client-controlled; trusting them would let an attacker start
    every guess from a "new" address. A forwarded value that is not a plain IP address is
    ignored (REMOTE_ADDR is used), and None is returned when neither is one.
    """
    hops = settings.QA_TRUSTED_PROXY_HOPS
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops > 0 and forwarded:
        addresses = forwarded.split(",")
        if len(addresses) >= hops:
            address = _ip_address_or_none(addresses[-hops])
            if address is not None:
                return address
    return _ip_address_or_none(request.META.get("REMOTE_ADDR") or "")


def sign_in_email_from_credentials(request: HttpRequest, credentials: dict | None) -> str | None:
    """The email of a sign-in attempt, lower-cased as sign-in compares it.

    Without this, "Admin@Contoso.com" and "admin@contoso.com" would be two lockout counters.
    """
    email = (credentials or {}).get("username")
    if email is None and request is not None:
        email = request.POST.get("username")
    if not isinstance(email, str):
        return None
    return email.strip().lower()
