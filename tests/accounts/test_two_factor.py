"""Two-factor for admins and staff: set-up with a server-drawn QR code, sign-in with a code or
a single-use recovery code, throttled guesses, changes that need the password and a code, the
company rule that requires it, and fresh codes for sensitive actions."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from integrations.models import ApiKey
from qaportal.accounts.exceptions import CodeThrottled, InvalidCode
from qaportal.accounts.models import AccountAuditEvent, RecoveryCodeDevice, recovery_code_digest
from qaportal.accounts.services.two_factor import (
    company_two_factor_requirement_set,
    second_factor_verify,
)
from tests.conftest import ADMIN_PASSWORD
from tests.two_factor import force_login_with_second_factor, totp_code, two_factor_enable

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")
CODE_URL = reverse("accounts:sign_in_code")
TWO_FACTOR_URL = reverse("accounts:two_factor")
ENROL_URL = reverse("accounts:two_factor_enrol")
GENERATE_URL = reverse("integrations:api_key_generate", kwargs={"provider": "entra-id"})


def sign_in_password(client: Client, email: str, password: str = ADMIN_PASSWORD):
    return client.post(LOGIN_URL, {"username": email, "password": password})


@pytest.fixture
def enabled(admin_user):
    return two_factor_enable(admin_user)


# --- Set-up ---------------------------------------------------------------------------------


def test_set_up_shows_a_qr_code_drawn_on_the_server_and_the_key(admin_client, admin_user):
    response = admin_client.post(ENROL_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert '<img class="qr-code" src="data:image/svg+xml;charset=utf-8,%3Csvg' in html
    device = TOTPDevice.objects.get(user=admin_user)
    assert not device.confirmed
    key = re.search(r'aria-label="Authenticator key">([A-Z2-7 ]+)<', html).group(1)
    assert len(key.replace(" ", "")) == 32  # 20 bytes in base32
    admin_user.refresh_from_db()
    assert not admin_user.has_two_factor


def test_a_wrong_code_does_not_turn_it_on(admin_client, admin_user):
    admin_client.post(ENROL_URL)
    device = TOTPDevice.objects.get(user=admin_user)
    response = admin_client.post(ENROL_URL, {"device_id": device.pk, "code": "000000"})
    assert response.status_code == 400
    assert "That code is not correct" in response.content.decode()
    admin_user.refresh_from_db()
    assert not admin_user.has_two_factor


def test_the_right_code_turns_it_on_and_shows_ten_recovery_codes_once(admin_client, admin_user):
    admin_client.post(ENROL_URL)
    device = TOTPDevice.objects.get(user=admin_user)
    response = admin_client.post(ENROL_URL, {"device_id": device.pk, "code": totp_code(device)})
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    codes = re.findall(r"<code class=\"mono\">([a-z2-7]{4}(?:-[a-z2-7]{4}){3})</code>", html)
    assert len(codes) == settings.QA_RECOVERY_CODE_COUNT == 10
    admin_user.refresh_from_db()
    assert admin_user.has_two_factor
    # Only digests are stored.
    stored = RecoveryCodeDevice.objects.get(user=admin_user).code_hashes
    assert stored == [recovery_code_digest(code) for code in codes]
    assert not any(code in str(stored) for code in codes)
    # This session passed its second factor and goes on.
    assert admin_client.get(reverse("accounts:dashboard")).status_code == 200
    assert AccountAuditEvent.objects.filter(action="two_factor_enabled").count() == 1


def test_setting_up_needs_a_recent_password(admin_client, admin_user):
    later = timezone.now() + settings.QA_REAUTH_MAX_AGE + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        response = admin_client.post(ENROL_URL)
    assert response["Location"].startswith(reverse("accounts:password_confirm"))
    assert not TOTPDevice.objects.exists()


def test_learners_cannot_open_two_factor(client, company):
    from tests.factories import LearnerFactory

    client.force_login(LearnerFactory(company=company))
    assert client.get(TWO_FACTOR_URL).status_code == 403


# --- Sign-in --------------------------------------------------------------------------------


def test_sign_in_asks_for_the_code_after_the_password(client, admin_user, enabled):
    response = sign_in_password(client, admin_user.email)
    assert response.status_code == 302
    assert response["Location"] == CODE_URL
    assert SESSION_KEY not in client.session  # not signed in yet
    assert client.get(reverse("accounts:dashboard")).status_code == 302
    page = client.get(CODE_URL)
    assert "Your password was right" in page.content.decode()
    response = client.post(CODE_URL, {"code": totp_code(enabled.authenticator)})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:dashboard")
    assert client.session[SESSION_KEY] == str(admin_user.pk)
    assert client.get(reverse("accounts:dashboard")).status_code == 200


def test_a_wrong_password_never_reaches_the_code_step(client, admin_user, enabled):
    response = sign_in_password(client, admin_user.email, "wrong")
    assert response.status_code == 200
    assert client.get(CODE_URL)["Location"] == LOGIN_URL


def test_a_code_is_accepted_once(client, admin_user, enabled):
    code = totp_code(enabled.authenticator)
    sign_in_password(client, admin_user.email)
    client.post(CODE_URL, {"code": code})
    other = Client()
    sign_in_password(other, admin_user.email)
    response = other.post(CODE_URL, {"code": code})
    assert "That code is not correct" in response.content.decode()
    assert SESSION_KEY not in other.session


def test_a_recovery_code_signs_in_once(client, admin_user, enabled):
    code = enabled.recovery.codes[3]
    sign_in_password(client, admin_user.email)
    response = client.post(CODE_URL, {"code": code.upper().replace("-", " ")}, follow=True)
    assert "You used a recovery code; 9 left." in response.content.decode()
    assert client.session[SESSION_KEY] == str(admin_user.pk)
    other = Client()
    sign_in_password(other, admin_user.email)
    response = other.post(CODE_URL, {"code": code})
    assert "That code is not correct" in response.content.decode()
    assert RecoveryCodeDevice.objects.get(user=admin_user).remaining == 9


def test_wrong_codes_are_throttled_by_the_device(admin_user, enabled):
    with pytest.raises(InvalidCode):
        second_factor_verify(user=admin_user, code="000000")
    # The next try within the back-off is refused without being checked, even a right code.
    with pytest.raises(CodeThrottled) as throttled:
        second_factor_verify(user=admin_user, code=totp_code(enabled.authenticator))
    assert throttled.value.retry_after >= 1
    device = TOTPDevice.objects.get(user=admin_user)
    assert device.throttling_failure_count == 1
    with time_machine.travel(timezone.now() + timedelta(seconds=2), tick=False):
        second_factor_verify(user=admin_user, code=totp_code(enabled.authenticator))


def test_too_many_wrong_codes_send_the_sign_in_back_to_the_password(client, admin_user, enabled):
    sign_in_password(client, admin_user.email)
    now = timezone.now()
    for attempt in range(settings.QA_SIGN_IN_CODE_ATTEMPTS):
        # Past each back-off, so every code is really checked.
        with time_machine.travel(now + timedelta(seconds=2**attempt * 2), tick=False):
            response = client.post(CODE_URL, {"code": "000000"})
        now += timedelta(seconds=2**attempt * 2)
    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL
    assert client.get(CODE_URL)["Location"] == LOGIN_URL


def test_the_code_step_expires(client, admin_user, enabled):
    sign_in_password(client, admin_user.email)
    later = timezone.now() + settings.QA_SIGN_IN_CODE_MAX_AGE + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        response = client.post(CODE_URL, {"code": totp_code(enabled.authenticator)})
    assert response["Location"] == LOGIN_URL
    assert SESSION_KEY not in client.session


def test_a_session_from_before_two_factor_was_turned_on_is_signed_out(client, admin_user):
    sign_in_password(client, admin_user.email)
    assert client.get(reverse("accounts:dashboard")).status_code == 200
    two_factor_enable(admin_user)
    response = client.get(reverse("accounts:dashboard"))
    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL
    assert SESSION_KEY not in client.session


# --- Changing it ----------------------------------------------------------------------------


def change(client: Client, what: str, password: str, code: str):
    return client.post(
        reverse("accounts:two_factor_change", kwargs={"change": what}),
        {"password": password, "code": code},
    )


def test_turning_it_off_needs_the_password_and_a_code(client, admin_user, enabled):
    force_login_with_second_factor(client, admin_user, enabled.authenticator)
    response = change(client, "disable", "wrong password", totp_code(enabled.authenticator))
    assert response.status_code == 400
    assert "That password is not correct." in response.content.decode()
    response = change(client, "disable", ADMIN_PASSWORD, "000000")
    assert "That code is not correct" in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.has_two_factor
    with time_machine.travel(timezone.now() + timedelta(seconds=3), tick=False):
        response = change(client, "disable", ADMIN_PASSWORD, totp_code(enabled.authenticator))
    assert response.status_code == 302
    admin_user.refresh_from_db()
    assert not admin_user.has_two_factor
    assert not TOTPDevice.objects.filter(user=admin_user).exists()
    assert not RecoveryCodeDevice.objects.filter(user=admin_user).exists()
    assert AccountAuditEvent.objects.filter(action="two_factor_disabled").count() == 1


def test_new_recovery_codes_replace_the_old_ones(client, admin_user, enabled):
    force_login_with_second_factor(client, admin_user, enabled.authenticator)
    response = change(client, "recovery-codes", ADMIN_PASSWORD, enabled.recovery.codes[0])
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert "Your previous codes no longer work." in response.content.decode()
    with pytest.raises(InvalidCode):
        second_factor_verify(user=admin_user, code=enabled.recovery.codes[1])


def test_wrong_entries_on_the_two_factor_page_end_the_session(client, admin_user, enabled):
    force_login_with_second_factor(client, admin_user, enabled.authenticator)
    for _ in range(settings.QA_CONFIRM_FAILURE_LIMIT):
        response = change(client, "disable", "guess", "123456")
    assert response["Location"] == LOGIN_URL
    assert SESSION_KEY not in client.session


# --- Company rule ---------------------------------------------------------------------------


def test_a_company_that_requires_it_sends_admins_to_set_it_up(client, company, admin_user):
    company_two_factor_requirement_set(company=company, required=True, changed_by=admin_user)
    sign_in_password(client, admin_user.email)
    response = client.get(reverse("accounts:dashboard"))
    assert response.status_code == 302
    assert response["Location"] == TWO_FACTOR_URL
    page = client.get(TWO_FACTOR_URL).content.decode()
    assert "Contoso requires two-factor authentication for its admins" in page
    api = client.get(reverse("api:integration_list"))
    assert api.status_code == 403
    assert api.json()["code"] == "two_factor_required"
    # Setting it up lets them through.
    client.post(ENROL_URL)
    device = TOTPDevice.objects.get(user=admin_user)
    client.post(ENROL_URL, {"device_id": device.pk, "code": totp_code(device)})
    assert client.get(reverse("accounts:dashboard")).status_code == 200


def test_the_general_tab_switches_the_rule_and_audits_it(client, company, admin_user, enabled):
    admin_client = client
    force_login_with_second_factor(admin_client, admin_user, enabled.authenticator)
    response = admin_client.post(
        reverse("integrations:two_factor_requirement"), {"require_two_factor": "on"}
    )
    assert response.status_code == 302
    company.refresh_from_db()
    assert company.require_two_factor
    admin_client.post(reverse("integrations:two_factor_requirement"), {})
    company.refresh_from_db()
    assert not company.require_two_factor
    assert list(
        AccountAuditEvent.objects.exclude(action="two_factor_enabled")
        .order_by("id")
        .values_list("action", flat=True)
    ) == [
        "two_factor_required",
        "two_factor_not_required",
    ]


def test_the_rule_of_one_company_does_not_touch_another(
    client, company, admin_user, other_admin_user
):
    company_two_factor_requirement_set(company=company, required=True, changed_by=admin_user)
    sign_in_password(client, other_admin_user.email)
    assert client.get(reverse("accounts:dashboard")).status_code == 200


# --- Fresh codes for sensitive actions ------------------------------------------------------


def stale():
    later = timezone.now() + settings.QA_REAUTH_MAX_AGE + timedelta(seconds=1)
    return time_machine.travel(later, tick=False)


def test_key_changes_ask_for_a_fresh_code_with_the_password(client, admin_user, enabled):
    force_login_with_second_factor(client, admin_user, enabled.authenticator)
    with stale():
        location = client.post(GENERATE_URL)["Location"]
        page = client.get(location).content.decode()
        assert "enter your password again and a code from your authenticator app" in page
        assert 'name="code"' in page
        # The password alone does not do.
        response = client.post(location, {"password": ADMIN_PASSWORD})
        assert "Enter a code from your authenticator app" in response.content.decode()
        response = client.post(
            location,
            {"password": ADMIN_PASSWORD, "code": totp_code(enabled.authenticator)},
        )
        assert response.status_code == 302
        assert client.post(GENERATE_URL).status_code == 200
    assert ApiKey.objects.count() == 1


def test_a_recent_password_without_a_recent_code_is_not_enough(client, admin_user, enabled):
    force_login_with_second_factor(client, admin_user, enabled.authenticator)
    session = client.session
    session["qa_second_factor_at"] = 0
    session.save()
    assert client.post(GENERATE_URL).status_code == 302
    assert not ApiKey.objects.exists()


# --- Django admin ---------------------------------------------------------------------------


def test_staff_with_two_factor_pass_it_to_enter_django_admin(client, django_user_model):
    staff = django_user_model.objects.create_superuser(email="ops@qa.example", password="right")
    enabled = two_factor_enable(staff)
    response = client.post(
        f"{LOGIN_URL}?next=/admin/", {"username": "ops@qa.example", "password": "right"}
    )
    assert response["Location"] == CODE_URL
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    response = client.post(CODE_URL, {"code": totp_code(enabled.authenticator)})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_staff_reset_a_lost_second_factor_from_django_admin(
    client, admin_user, enabled, django_user_model
):
    staff = django_user_model.objects.create_superuser(email="ops@qa.example", password="right")
    client.force_login(staff)
    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "two_factor_turn_off", "_selected_action": [admin_user.pk]},
    )
    assert response.status_code == 302
    admin_user.refresh_from_db()
    assert not admin_user.has_two_factor
    event = AccountAuditEvent.objects.get(action="two_factor_reset")
    assert event.actor == staff


def test_saving_single_sign_on_asks_for_a_fresh_code_too(client, admin_user, enabled):
    force_login_with_second_factor(client, admin_user, enabled.authenticator)
    with stale():
        response = client.post(
            reverse("sso:settings", kwargs={"provider": "entra-id"}), {"tenant_id": "x"}
        )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:password_confirm"))
    assert "action=configure-sso" in response["Location"]


def test_code_guessing_is_throttled_by_configuration():
    assert settings.OTP_TOTP_THROTTLE_FACTOR >= 1
