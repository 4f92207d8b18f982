"""Generating or revoking a key needs a recent password entry."""

import re
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from integrations.models import ApiKey
from integrations.services import api_key_authenticate, api_key_generate
from qaportal.accounts.mixins import PASSWORD_CONFIRMED_AT_SESSION_KEY
from tests.conftest import ADMIN_PASSWORD
from tests.factories import CompanyAdminFactory, LearnerFactory

pytestmark = pytest.mark.django_db

DETAIL_URL = reverse("integrations:integration_detail", kwargs={"provider": "entra-id"})
GENERATE_URL = reverse("integrations:api_key_generate", kwargs={"provider": "entra-id"})
CONFIRM_URL = reverse("accounts:password_confirm")
KEY_RE = re.compile(r"qa_scim_[0-9A-Za-z]{8}_[0-9A-Za-z]{36}")


def revoke_url(api_key: ApiKey) -> str:
    return reverse(
        "integrations:api_key_revoke", kwargs={"provider": "entra-id", "key_id": api_key.pk}
    )


@pytest.fixture
def learner_user(company):
    return LearnerFactory(company=company)


@pytest.fixture
def signed_in(client, admin_user):
    """A session signed in through the real sign-in form, as the browser does."""
    response = client.post(
        reverse("accounts:login"), {"username": admin_user.email, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 302
    return client


def stale() -> time_machine.travel:
    """The clock moved past QA_REAUTH_MAX_AGE since the sign-in."""
    later = timezone.now() + settings.QA_REAUTH_MAX_AGE + timedelta(seconds=1)
    return time_machine.travel(later, tick=False)


def test_the_reauth_window_defaults_to_15_minutes():
    assert timedelta(minutes=15) == settings.QA_REAUTH_MAX_AGE


def test_sign_in_records_the_time_of_the_password_check(signed_in):
    assert isinstance(signed_in.session[PASSWORD_CONFIRMED_AT_SESSION_KEY], float)


def test_a_fresh_sign_in_generates_without_asking_again(signed_in):
    response = signed_in.post(GENERATE_URL)
    assert response.status_code == 200
    assert KEY_RE.search(response.content.decode())


def test_within_the_window_generating_still_works(signed_in):
    later = timezone.now() + settings.QA_REAUTH_MAX_AGE - timedelta(seconds=5)
    with time_machine.travel(later, tick=False):
        assert signed_in.post(GENERATE_URL).status_code == 200
    assert ApiKey.objects.count() == 1


def test_a_stale_session_is_sent_to_confirm_its_password_and_nothing_is_generated(signed_in):
    with stale():
        response = signed_in.post(GENERATE_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{CONFIRM_URL}?")
    assert "next=%2Fsettings%2Fintegrations%2Fentra-id%2F" in response["Location"]
    assert not ApiKey.objects.exists()


def test_a_session_without_a_password_time_must_confirm(client, admin_user):
    client.force_login(admin_user)
    session = client.session
    del session[PASSWORD_CONFIRMED_AT_SESSION_KEY]
    session.save()
    response = client.post(GENERATE_URL)
    assert response.status_code == 302
    assert not ApiKey.objects.exists()


def test_the_confirm_page_says_what_it_is_for(signed_in, admin_user):
    with stale():
        location = signed_in.post(GENERATE_URL)["Location"]
        response = signed_in.get(location)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Confirm your password</h1>" in html
    assert "To generate a new API key, enter your password again." in html
    assert admin_user.email in html
    assert '<label for="id_password">Password</label>' in html


def test_confirming_returns_to_the_page_with_a_message_to_click_again(signed_in):
    with stale():
        location = signed_in.post(GENERATE_URL)["Location"]
        response = signed_in.post(location, {"password": ADMIN_PASSWORD})
        assert response.status_code == 302
        # Back into the action; with no working key to lose it is the page and its button.
        assert response["Location"] == GENERATE_URL
        assert signed_in.get(GENERATE_URL)["Location"] == DETAIL_URL
        # The POST was not replayed: no key yet, and the page asks for the click.
        assert not ApiKey.objects.exists()
        page = signed_in.get(DETAIL_URL)
        messages = [str(message) for message in get_messages(page.wsgi_request)]
        assert messages == [
            "Password confirmed. Click “Generate a new API Key” again to generate a new API key."
        ]
        # The click after confirming generates the key.
        generated = signed_in.post(GENERATE_URL)
    assert generated.status_code == 200
    assert ApiKey.objects.count() == 1


def test_a_wrong_password_does_not_confirm(signed_in):
    with stale():
        location = signed_in.post(GENERATE_URL)["Location"]
        response = signed_in.post(location, {"password": "not my password"})
        assert response.status_code == 200
        assert "That password is not correct." in response.content.decode()
        assert signed_in.post(GENERATE_URL).status_code == 302
    assert not ApiKey.objects.exists()


def test_another_admins_password_does_not_confirm(signed_in, company):
    colleague = CompanyAdminFactory(company=company, email="colleague@contoso.com")
    colleague.set_password("the colleague's password")
    colleague.save()
    with stale():
        location = signed_in.post(GENERATE_URL)["Location"]
        response = signed_in.post(location, {"password": "the colleague's password"})
        assert "That password is not correct." in response.content.decode()
        assert signed_in.post(GENERATE_URL).status_code == 302


def test_wrong_passwords_on_the_confirm_page_never_count_toward_the_sign_in_lockout(
    signed_in, admin_user
):
    """Typos while signed in are not sign-in attempts: the lockout of (IP, email) stays
    untouched, so an admin cannot lock themselves out from the confirm page."""
    with stale():
        location = signed_in.post(GENERATE_URL)["Location"]
        for _ in range(settings.QA_CONFIRM_FAILURE_LIMIT - 1):
            response = signed_in.post(location, {"password": "guess"}, REMOTE_ADDR="127.0.0.1")
            assert response.status_code == 200
            assert "That password is not correct." in response.content.decode()
        assert not AccessAttempt.objects.exists()
        # The right password still confirms.
        response = signed_in.post(location, {"password": ADMIN_PASSWORD})
        assert response.status_code == 302
        assert signed_in.post(GENERATE_URL).status_code == 200


def test_too_many_wrong_passwords_on_the_confirm_page_sign_the_session_out(
    signed_in, admin_user, client
):
    with stale():
        location = signed_in.post(GENERATE_URL)["Location"]
        for _ in range(settings.QA_CONFIRM_FAILURE_LIMIT):
            response = signed_in.post(location, {"password": "guess"}, REMOTE_ADDR="127.0.0.1")
        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:login")
        assert SESSION_KEY not in signed_in.session
        page = signed_in.get(reverse("accounts:login"))
        assert "You were signed out after 5 wrong passwords or codes" in page.content.decode()
        # Signing in again works at once, from the same address: nothing was locked.
        response = signed_in.post(
            reverse("accounts:login"),
            {"username": admin_user.email, "password": ADMIN_PASSWORD},
            REMOTE_ADDR="127.0.0.1",
        )
        assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/phish", "//evil.example/", "javascript:alert(1)"]
)
def test_confirming_never_redirects_to_another_site(signed_in, next_url):
    response = signed_in.post(f"{CONFIRM_URL}?next={next_url}", {"password": ADMIN_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:dashboard")


def test_an_unknown_action_shows_no_text_from_the_url(signed_in):
    html = signed_in.get(f"{CONFIRM_URL}?action=<b>pwned</b>").content.decode()
    assert "pwned" not in html
    assert "Enter your password again to continue." in html


def test_anonymous_users_are_sent_to_sign_in_from_the_confirm_page(client):
    response = client.get(CONFIRM_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_confirming_renews_the_window_and_the_session_key(signed_in):
    old_session_key = signed_in.session.session_key
    with stale():
        signed_in.post(CONFIRM_URL, {"password": ADMIN_PASSWORD})
        assert signed_in.session.session_key != old_session_key
        assert signed_in.session[SESSION_KEY]
        assert signed_in.post(GENERATE_URL).status_code == 200


def test_a_stale_revoke_is_sent_to_confirm_then_back_to_the_keys_confirmation(
    signed_in, generated_key
):
    url = revoke_url(generated_key.api_key)
    with stale():
        response = signed_in.post(url)
        assert response.status_code == 302
        assert response["Location"].startswith(f"{CONFIRM_URL}?")
        assert api_key_authenticate(raw=generated_key.plaintext).is_accepted

        confirmed = signed_in.post(response["Location"], {"password": ADMIN_PASSWORD})
        assert confirmed["Location"] == url
        page = signed_in.get(url)
        messages = [str(message) for message in get_messages(page.wsgi_request)]
        assert messages == ["Password confirmed. Click “Revoke key” again to revoke the API key."]
        assert api_key_authenticate(raw=generated_key.plaintext).is_accepted

        assert signed_in.post(url).status_code == 302
    assert api_key_authenticate(raw=generated_key.plaintext).rejection == "revoked"


def test_the_revoke_confirmation_page_itself_opens_without_a_password(signed_in, generated_key):
    with stale():
        assert signed_in.get(revoke_url(generated_key.api_key)).status_code == 200


def test_the_reauth_rule_runs_after_the_access_rules(client, learner_user, generated_key):
    """A learner gets 403 and an anonymous user the sign-in page, never the password page."""
    assert client.post(GENERATE_URL)["Location"].startswith(reverse("accounts:login"))
    client.force_login(learner_user)
    with stale():
        assert client.post(GENERATE_URL).status_code == 403
        assert client.post(revoke_url(generated_key.api_key)).status_code == 403


def test_with_a_working_key_confirming_lands_back_on_the_rotation_confirmation(
    signed_in, admin_user, entra_integration
):
    api_key_generate(integration=entra_integration, created_by=admin_user)
    detail = signed_in.get(DETAIL_URL).content.decode()
    # The button asks first: it opens the confirmation instead of generating at once.
    assert f'<a class="button button--primary" href="{GENERATE_URL}"' in detail
    with stale():
        location = signed_in.post(GENERATE_URL)["Location"]
        response = signed_in.post(location, {"password": ADMIN_PASSWORD})
        assert response["Location"] == GENERATE_URL
        confirmation = signed_in.get(GENERATE_URL)
    text = confirmation.content.decode()
    assert confirmation.status_code == 200
    assert "Generate a new API key?" in text
    assert "keeps working for 8\xa0hours after you generate a new one" in text
    assert "Then it stops working." in text
    assert "Click “Generate a new API Key” again to generate a new API key." in text
    assert ApiKey.objects.count() == 1
