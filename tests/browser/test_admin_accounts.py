"""Admin account journeys in a real Chromium: invite, accept and sign in; forgot and reset the
password; set up two-factor and sign in with a code, then with a recovery code; remove an admin.
Emails are sent by a real Celery worker (in this process, so the test reads them from the
locmem outbox). Each page the journeys open is checked with axe-core at 390 px."""

import re
import shutil
from base64 import b32decode
from contextlib import contextmanager

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from qaportal.accounts.models import User
from tests.browser.accessibility import serious_violations
from tests.browser.chromium import SCREENS, chromium_page, expect
from tests.celery.conftest import (  # noqa: F401 - fixtures
    purge_queue,
    redis_broker,
    start_celery_worker,
    wait_for,
)
from tests.conftest import ADMIN_PASSWORD
from tests.factories import CompanyAdminFactory
from tests.two_factor import totp_next_unused_code

pytestmark = [
    pytest.mark.browser,
    pytest.mark.celery,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is missing"),
]

NEW_PASSWORD = "a long and unusual passphrase 42"


@pytest.fixture
def page():
    with chromium_page() as page:
        yield page


@contextmanager
def another_browser(page):
    """A second person: a fresh context (own cookies) of the same Chromium."""
    context = page.context.browser.new_context(viewport={"width": 1280, "height": 900})
    other = context.new_page()
    other.set_default_timeout(15_000)
    try:
        yield other
    finally:
        context.close()


@pytest.fixture
def worker(start_celery_worker, purge_queue):  # noqa: F811
    purge_queue()
    return start_celery_worker()


def link_in(message, live_server) -> str:
    match = re.search(r"http://localhost:8000(/\S+/)", message.body)
    assert match, message.body
    return f"{live_server.url}{match.group(1)}"


def sign_in(page, live_server, email: str, password: str = ADMIN_PASSWORD) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def sign_out(page) -> None:
    page.get_by_role("button", name=re.compile("profile", re.IGNORECASE)).click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to QA Portal")).to_be_visible()


def open_admins_tab(page) -> None:
    page.get_by_role("button", name=re.compile("profile", re.IGNORECASE)).click()
    page.locator("#profile-menu").get_by_role("link", name="Settings & Integrations").click()
    page.get_by_role("link", name="Admins", exact=True).click()
    expect(page.get_by_role("heading", name="Company admins")).to_be_visible()


def test_an_admin_invites_another_who_accepts_and_signs_in(
    page, live_server, admin_user, worker, mailoutbox
):
    sign_in(page, live_server, admin_user.email)
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    open_admins_tab(page)
    assert serious_violations(page) == []
    page.get_by_label("Email of the new admin").fill("new.admin@contoso.com")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to new.admin@contoso.com")).to_be_visible()
    page.screenshot(path=str(SCREENS / "admins-01-invited.png"), full_page=True)
    assert wait_for(lambda: len(mailoutbox) == 1)
    link = link_in(mailoutbox[0], live_server)

    with another_browser(page) as invitee:
        invitee.goto(link)
        expect(invitee.get_by_role("heading", name="Become an admin of Contoso")).to_be_visible()
        # The secret left the address bar for the session.
        assert invitee.url.endswith("/accept/")
        assert serious_violations(invitee) == []
        invitee.get_by_label("Choose a password").fill("12345678")
        invitee.get_by_label("Type it again").fill("12345678")
        invitee.get_by_role("button", name="Create my admin account").click()
        expect(invitee.get_by_text("This password is too common.")).to_be_visible()
        invitee.get_by_label("Choose a password").fill(NEW_PASSWORD)
        invitee.get_by_label("Type it again").fill(NEW_PASSWORD)
        invitee.get_by_role("button", name="Create my admin account").click()
        expect(invitee.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
        expect(invitee.get_by_text("You are now an admin of Contoso")).to_be_visible()
        sign_out(invitee)
        sign_in(invitee, live_server, "new.admin@contoso.com", NEW_PASSWORD)
        expect(invitee.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
        # The link was used: it does not work a second time.
        invitee.goto(link)
        expect(
            invitee.get_by_role("heading", name="This invitation link is not valid")
        ).to_be_visible()

    page.reload()
    expect(page.get_by_role("cell", name="new.admin@contoso.com", exact=True)).to_be_visible()
    page.goto(f"{live_server.url}/settings/integrations/entra-id/audit/")
    expect(page.get_by_text("Accepted an admin invitation")).to_be_visible()


def test_forgot_password_then_reset_then_sign_in(page, live_server, admin_user, worker, mailoutbox):
    page.goto(f"{live_server.url}/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_label("Email", exact=True).fill(admin_user.email)
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    assert wait_for(lambda: len(mailoutbox) == 1)

    page.goto(link_in(mailoutbox[0], live_server))
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Type it again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save new password").click()
    expect(page.get_by_text("Your password was changed")).to_be_visible()
    sign_in(page, live_server, admin_user.email, NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


def code_for(key_text: str, *, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for the key typed from the page."""
    import time

    key = b32decode(key_text.replace(" ", "") + "=" * (-len(key_text.replace(" ", "")) % 8))
    totp = TOTP(key, 30, 0, 6, 0)
    totp.time = time.time() + steps_ahead * 30
    return f"{totp.token():06d}"


def test_two_factor_set_up_then_sign_in_with_a_code_then_with_a_recovery_code(
    page, live_server, admin_user
):
    sign_in(page, live_server, admin_user.email)
    page.get_by_role("button", name=re.compile("profile", re.IGNORECASE)).click()
    page.get_by_role("link", name="Two-factor authentication").click()
    expect(page.get_by_role("heading", name="Two-factor is off")).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_role("button", name="Set up two-factor").click()
    qr = page.get_by_role("img", name=re.compile("QR code that adds QA Portal"))
    expect(qr).to_be_visible()
    assert qr.evaluate("image => image.naturalWidth") > 0  # the SVG data URI really renders
    assert serious_violations(page) == []
    page.screenshot(path=str(SCREENS / "two-factor-01-set-up.png"), full_page=True)
    key = page.get_by_label("Authenticator key").inner_text()
    page.get_by_label("Code from your app").fill("000000")
    page.get_by_role("button", name="Turn on two-factor").click()
    expect(page.get_by_text("That code is not correct")).to_be_visible()
    # Past the one-second back-off of the wrong code.
    page.wait_for_timeout(1100)
    page.get_by_label("Code from your app").fill(code_for(key))
    page.get_by_role("button", name="Turn on two-factor").click()
    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    recovery_code = codes.nth(0).inner_text()
    page.get_by_role("link", name="I have saved them, continue").click()
    sign_out(page)

    sign_in(page, live_server, admin_user.email)
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    assert serious_violations(page) == []
    device = TOTPDevice.objects.get(user=admin_user, confirmed=True)
    page.get_by_label("Authentication code").fill(totp_next_unused_code(device))
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    sign_out(page)

    sign_in(page, live_server, admin_user.email)
    page.get_by_label("Authentication code").fill(recovery_code)
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    expect(page.get_by_text("You used a recovery code; 9 left.")).to_be_visible()
    sign_out(page)

    # The recovery code worked once.
    sign_in(page, live_server, admin_user.email)
    page.get_by_label("Authentication code").fill(recovery_code)
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page.get_by_text("That code is not correct")).to_be_visible()
    admin_user.refresh_from_db()
    assert admin_user.has_two_factor


def test_an_admin_removes_another_whose_session_ends(page, live_server, admin_user, company):
    colleague = CompanyAdminFactory(company=company, email="colleague@contoso.com")
    with another_browser(page) as theirs:
        sign_in(theirs, live_server, colleague.email)
        expect(theirs.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()

        sign_in(page, live_server, admin_user.email)
        open_admins_tab(page)
        row = page.get_by_role("row").filter(has=page.get_by_text("colleague@contoso.com"))
        row.get_by_role("link", name=re.compile("^Remove")).click()
        expect(page.get_by_role("heading", name="Remove colleague@contoso.com?")).to_be_visible()
        assert serious_violations(page) == []
        page.get_by_role("button", name="Remove admin").click()
        expect(page.get_by_text("Removed colleague@contoso.com")).to_be_visible()
        expect(page.get_by_role("cell", name="colleague@contoso.com", exact=True)).to_have_count(0)

        theirs.goto(f"{live_server.url}{reverse('integrations:settings')}")
        expect(theirs.get_by_role("heading", name="Sign in to QA Portal")).to_be_visible()
    assert not User.objects.get(pk=colleague.pk).is_active
