"""Sign-in, sign-out and who may open which portal page."""

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from tests.conftest import ADMIN_PASSWORD
from tests.factories import CompanyAdminFactory, LearnerFactory

pytestmark = pytest.mark.django_db

ADMIN_PAGES = [
    reverse("accounts:dashboard"),
    reverse("accounts:team_list"),
    reverse("integrations:settings"),
    reverse("integrations:integration_list"),
    reverse("integrations:integration_detail", kwargs={"provider": "entra-id"}),
]


@pytest.fixture
def learner(company):
    return LearnerFactory(company=company)


def test_sign_in_page_has_email_and_password_fields_and_a_sign_in_button(client):
    response = client.get(reverse("accounts:login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'<label for="id_username">Email</label>', html)
    assert re.search(r'<label for="id_password">Password</label>', html)
    assert 'type="email"' in html
    assert re.search(r'<button type="submit"[^>]*>Sign in</button>', html)


def test_admin_signs_in_with_email_in_any_case_and_lands_on_the_dashboard(client, admin_user):
    response = client.post(
        reverse("accounts:login"),
        {"username": "Admin@Contoso.com", "password": ADMIN_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:dashboard")
    assert client.session[SESSION_KEY] == str(admin_user.pk)


def test_sign_in_follows_next_to_the_page_asked_for(client, admin_user):
    target = reverse("integrations:integration_list")
    response = client.post(
        f"{reverse('accounts:login')}?next={target}",
        {"username": admin_user.email, "password": ADMIN_PASSWORD, "next": target},
    )
    assert response["Location"] == target


def test_sign_in_never_redirects_to_another_site(client, admin_user):
    response = client.post(
        reverse("accounts:login"),
        {
            "username": admin_user.email,
            "password": ADMIN_PASSWORD,
            "next": "https://evil.example/phish",
        },
    )
    assert response["Location"] == reverse("accounts:dashboard")


def test_wrong_password_is_refused_without_saying_whether_the_account_exists(client, admin_user):
    wrong = client.post(
        reverse("accounts:login"), {"username": admin_user.email, "password": "nope"}
    )
    unknown = client.post(
        reverse("accounts:login"), {"username": "nobody@contoso.com", "password": "nope"}
    )
    assert wrong.status_code == unknown.status_code == 200
    message = "That email and password do not match an active account."
    assert message in wrong.content.decode()
    assert message in unknown.content.decode()
    assert SESSION_KEY not in client.session


def test_deactivated_admin_cannot_sign_in(client, company):
    CompanyAdminFactory(company=company, email="gone@contoso.com", is_active=False)
    response = client.post(
        reverse("accounts:login"), {"username": "gone@contoso.com", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200
    assert "do not match an active account" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_an_admin_deactivated_while_signed_in_is_signed_out(client, admin_user):
    client.force_login(admin_user)
    admin_user.is_active = False
    admin_user.save(update_fields=["is_active"])
    response = client.get(reverse("accounts:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_signed_in_admin_visiting_sign_in_goes_to_the_dashboard(client, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:dashboard")


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_anonymous_users_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={url}"


@pytest.mark.parametrize("url", ADMIN_PAGES[1:])
def test_learners_get_403_on_every_admin_page(client, learner, url):
    client.force_login(learner)
    response = client.get(url)
    assert response.status_code == 403
    assert "You don't have access to this page" in response.content.decode()


def test_learners_get_their_own_home_page_as_their_dashboard(client, learner):
    client.force_login(learner)
    response = client.get(reverse("accounts:dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Welcome, {learner.full_name}" in html
    assert "Settings &amp; Integrations" not in html
    assert ">People<" not in html


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_staff_without_a_company_get_403(client, django_user_model, url):
    staff = django_user_model.objects.create_superuser(email="ops@qa.example", password="x")
    client.force_login(staff)
    response = client.get(url)
    assert response.status_code == 403
    assert reverse("admin:index") in response.content.decode()


def test_sign_out_is_a_post_and_returns_to_sign_in(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert SESSION_KEY in client.session
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert SESSION_KEY not in client.session


def test_header_has_dashboard_link_and_profile_menu_with_settings_and_sign_out(client, admin_user):
    client.force_login(admin_user)
    html = client.get(reverse("accounts:dashboard")).content.decode()
    assert re.search(rf'<a [^>]*href="{reverse("accounts:dashboard")}"[^>]*>Dashboard</a>', html)
    assert re.search(r'<button [^>]*aria-label="[^"]*profile[^"]*"', html)
    assert re.search(
        rf'<a [^>]*href="{reverse("integrations:settings")}">Settings &amp; Integrations</a>',
        html,
    )
    assert re.search(rf'<form [^>]*method="post" action="{reverse("accounts:logout")}">', html)
    assert ">Sign out</button>" in html


@pytest.mark.parametrize("url", [*ADMIN_PAGES, reverse("accounts:login")])
def test_pages_have_no_inline_scripts_styles_or_event_handlers(client, admin_user, url):
    """A strict Content-Security-Policy (no 'unsafe-inline') must not break any page."""
    if url != reverse("accounts:login"):
        client.force_login(admin_user)
    html = client.get(url).content.decode()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert "<style" not in html
    assert re.findall(r"\sstyle=", html) == []
    assert re.findall(r"\son[a-z]+=", html) == []
    assert "javascript:" not in html


# --- Advice that works when someone is stuck -------------------------------------------------


def test_the_lockout_page_offers_a_reset_another_admin_and_qa_support(client, admin_user, settings):
    settings.QA_SUPPORT_EMAIL = "help@qa.example"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(
            reverse("accounts:login"), {"username": admin_user.email, "password": "wrong"}
        )
    html = response.content.decode()
    assert response.status_code == 429
    assert f'href="{reverse("accounts:password_reset")}"' in html
    assert "Ask another admin of your company" in html
    assert 'href="mailto:help@qa.example"' in html


def test_the_403_page_says_who_can_help(client, company, settings):
    settings.QA_SUPPORT_EMAIL = "help@qa.example"
    client.force_login(LearnerFactory(company=company))
    html = client.get(reverse("integrations:settings")).content.decode()
    assert "ask one of your company's admins to invite you" in html
    assert f'href="{reverse("accounts:password_reset")}"' in html
    assert 'href="mailto:help@qa.example"' in html
