"""Forgot password: the same answer for every address, a link by email (sent by a worker),
single use and short-lived, every session ended, limits per address and per IP; admins and
staff only."""

import re
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from qaportal.accounts.emails import password_reset_email_send
from qaportal.accounts.models import AccountAuditEvent
from tests.conftest import ADMIN_PASSWORD
from tests.factories import LearnerFactory

pytestmark = pytest.mark.django_db

RESET_URL = reverse("accounts:password_reset")
NEW_PASSWORD = "another long passphrase 7"


def ask(client: Client, email: str, ip: str = "198.51.100.20"):
    return client.post(RESET_URL, {"email": email}, REMOTE_ADDR=ip)


def emailed_link() -> str:
    """The path of the reset link in the last email."""
    match = re.search(r"http://localhost:8000(/password-reset/\S+/)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def reset(client: Client, link: str, password: str = NEW_PASSWORD, ip: str = "198.51.100.20"):
    form_page = client.get(link, REMOTE_ADDR=ip)
    assert form_page.status_code == 302  # the token moves to the session
    return client.post(
        form_page["Location"],
        {"new_password1": password, "new_password2": password},
        REMOTE_ADDR=ip,
    )


def test_known_and_unknown_addresses_get_the_same_answer(client, admin_user):
    known = ask(client, admin_user.email)
    unknown = ask(Client(), "nobody@contoso.com")
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("accounts:password_reset_done")
    page = client.get(known["Location"]).content.decode()
    assert "If that address belongs to a QA Portal admin or staff account" in page
    # Nothing is sent in the request itself: a worker sends it.
    assert mail.outbox == []


def test_the_email_goes_to_admins_and_staff_only(company, admin_user, django_user_model):
    staff = django_user_model.objects.create_superuser(email="ops@qa.example", password="x")
    learner = LearnerFactory(company=company, user_name="lee@contoso.com")
    assert password_reset_email_send(email=admin_user.email.upper()) == 1
    assert password_reset_email_send(email=staff.email) == 1
    assert password_reset_email_send(email=learner.user_name) == 0
    assert password_reset_email_send(email="nobody@contoso.com") == 0
    assert [message.to for message in mail.outbox] == [[admin_user.email], [staff.email]]
    assert "expires in 60 minutes" in mail.outbox[0].body


def test_the_link_sets_a_new_password_and_ends_every_session(client, admin_user):
    elsewhere = Client()
    elsewhere.post(
        reverse("accounts:login"), {"username": admin_user.email, "password": ADMIN_PASSWORD}
    )
    assert elsewhere.get(reverse("integrations:settings")).status_code == 200

    password_reset_email_send(email=admin_user.email)
    response = reset(client, emailed_link())
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    admin_user.refresh_from_db()
    assert admin_user.check_password(NEW_PASSWORD)
    # The other browser's session is over; this one was never signed in.
    assert elsewhere.get(reverse("integrations:settings")).status_code == 302
    assert SESSION_KEY not in client.session
    page = client.get(reverse("accounts:login")).content.decode()
    assert "Your password was changed and your account was signed out everywhere" in page
    assert AccountAuditEvent.objects.get().action == AccountAuditEvent.Action.PASSWORD_RESET


def test_a_link_works_once(client, admin_user):
    password_reset_email_send(email=admin_user.email)
    link = emailed_link()
    reset(client, link)
    again = Client().get(link, follow=True)
    assert "This reset link is not valid" in again.content.decode()


def test_a_link_expires_after_an_hour(client, admin_user):
    password_reset_email_send(email=admin_user.email)
    link = emailed_link()
    later = timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 1)
    with time_machine.travel(later, tick=False):
        page = client.get(link, follow=True)
    assert "This reset link is not valid" in page.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.check_password(ADMIN_PASSWORD)


def test_a_weak_password_gets_field_errors(client, admin_user):
    password_reset_email_send(email=admin_user.email)
    response = reset(client, emailed_link(), password="password")
    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()


def test_a_learner_link_is_refused(client, company):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    learner = LearnerFactory(company=company)
    link = reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(learner.pk)),
            "token": default_token_generator.make_token(learner),
        },
    )
    assert "This reset link is not valid" in client.get(link, follow=True).content.decode()


def test_requests_are_limited_per_address(client, admin_user):
    for _ in range(settings.QA_PASSWORD_RESET_LIMIT_PER_EMAIL):
        assert ask(Client(), admin_user.email, ip="198.51.100.1").status_code == 302
    response = ask(Client(), admin_user.email, ip="198.51.100.2")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many reset requests" in response.content.decode()
    # Unknown addresses are limited the same way, so the limit reveals nothing.
    for _ in range(settings.QA_PASSWORD_RESET_LIMIT_PER_EMAIL):
        ask(Client(), "nobody@contoso.com", ip="198.51.100.3")
    assert ask(Client(), "nobody@contoso.com", ip="198.51.100.4").status_code == 429


def test_requests_are_limited_per_ip(client):
    for number in range(settings.QA_PASSWORD_RESET_LIMIT_PER_IP):
        assert ask(client, f"person{number}@contoso.com", ip="203.0.113.9").status_code == 302
    assert ask(client, "one.more@contoso.com", ip="203.0.113.9").status_code == 429
    assert ask(client, "one.more@contoso.com", ip="203.0.113.10").status_code == 302


def test_the_limit_window_ends(client, admin_user):
    for _ in range(settings.QA_PASSWORD_RESET_LIMIT_PER_EMAIL + 1):
        ask(client, admin_user.email)
    later = timezone.now() + settings.QA_PASSWORD_RESET_WINDOW
    with time_machine.travel(later, tick=False):
        assert ask(client, admin_user.email).status_code == 302


def test_a_bad_address_gets_a_field_error(client):
    response = client.post(RESET_URL, {"email": "not-an-address"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()


def test_a_reset_lifts_the_lockout_of_this_network_only(client, admin_user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("accounts:login"),
            {"username": admin_user.email, "password": "wrong"},
            REMOTE_ADDR="198.51.100.20",
        )
    Client().post(
        reverse("accounts:login"),
        {"username": admin_user.email, "password": "wrong"},
        REMOTE_ADDR="192.0.2.66",
    )
    password_reset_email_send(email=admin_user.email)
    reset(client, emailed_link(), ip="198.51.100.20")
    response = client.post(
        reverse("accounts:login"),
        {"username": admin_user.email, "password": NEW_PASSWORD},
        REMOTE_ADDR="198.51.100.20",
    )
    assert response.status_code == 302
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["192.0.2.66"]


def test_sign_in_and_lockout_pages_offer_the_reset(client):
    assert RESET_URL in client.get(reverse("accounts:login")).content.decode()
