"""Content-Security-Policy on every page, markup that needs no 'unsafe-inline', and secure
cookies in production."""

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from integrations.models import ExportJob, Integration
from integrations.services import provisioning_event_record
from qaportal.accounts.services.admins import admin_invitation_link_issue, admin_invite
from sso.services import sso_connection_save
from tests.conftest import ADMIN_PASSWORD
from tests.factories import CompanyAdminFactory, LearnerFactory, TeamFactory
from tests.two_factor import force_login_with_second_factor, two_factor_enable

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]

# Pages that render no HTML of their own, with the reason; every other named URL of the
# portal's namespaces must be rendered by test_every_portal_page_is_covered.
NOT_HTML_PAGES = {
    "accounts:logout": "POST only, answers with a redirect",
    "integrations:two_factor_requirement": "POST only, answers with a redirect",
    "integrations:admin_invitation_resend": "POST only, answers with a redirect",
    "integrations:admin_invitation_revoke": "POST only, answers with a redirect",
    "integrations:provisioning_activity_export": "CSV download (header checked separately)",
    "integrations:export_job_progress": "JSON polled by the export status page",
    "integrations:export_job_download": "CSV download of a prepared export",
    "integrations:activity": "a redirect to the integration's activity page",
    "people:person_export": "CSV download of the People list",
}


def _named_urls(namespace: str) -> set[str]:
    resolver = get_resolver().namespace_dict[namespace][1]
    names = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}:{pattern.name}")
        elif isinstance(pattern, URLResolver):  # pragma: no cover - no nesting today
            names.add(f"{namespace}:<nested {pattern.pattern}>")
    return names


@pytest.fixture
def portal(client, admin_user, company, generated_key):
    """Every HTML page of the portal, as (name, response), for a company with some data."""
    team = TeamFactory(company=company, display_name="Sales")
    event = provisioning_event_record(
        company_id=company.pk,
        api_key_id=generated_key.api_key.pk,
        method="POST",
        path="/webhooks/ad/v1/scim/Users",
        operation="create",
        status_code=201,
        outcome="success",
        resource_type="User",
        resource_name="alice@contoso.com",
    )
    person = LearnerFactory(company=company, display_name="Alice Adams")
    entra = {"provider": "entra-id"}
    connection = sso_connection_save(
        integration=Integration.objects.get(company=company, provider="entra-id"),
        tenant_id="72f988bf-86f1-41af-91ab-2d7cd011db47",
        client_id="3c3a7d3e-5a0f-4b8e-9a0b-6f1f0d9a1c11",
        client_secret="client-secret-value",
        is_enabled=True,
        require_sso=False,
        updated_by=admin_user,
    )
    export_job = ExportJob.objects.create(
        company=company,
        kind="provisioning_activity",
        params={"outcome": "failed"},
        requested_by=admin_user,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    pages = {
        "accounts:login": client.get(reverse("accounts:login")),
        "sso:link_sign_in": client.get(
            reverse("sso:link_sign_in", kwargs={"sign_in_id": connection.sign_in_id})
        ),
    }
    client.post(
        reverse("accounts:login"), {"username": admin_user.email, "password": ADMIN_PASSWORD}
    )
    pages.update(
        {
            "accounts:dashboard": client.get(reverse("accounts:dashboard")),
            "accounts:password_confirm": client.get(
                reverse("accounts:password_confirm") + "?action=generate-api-key"
            ),
            "accounts:team_list": client.get(reverse("accounts:team_list")),
            "accounts:team_detail": client.get(
                reverse("accounts:team_detail", kwargs={"team_id": team.pk})
            ),
            "integrations:settings": client.get(reverse("integrations:settings")),
            "integrations:provisioning_event_detail": client.get(
                reverse("integrations:provisioning_event_detail", kwargs={"event_id": event.pk})
            ),
            "people:person_list": client.get(reverse("people:person_list")),
            "people:person_detail": client.get(
                reverse("people:person_detail", kwargs={"person_id": person.pk})
            ),
            "integrations:integration_list": client.get(reverse("integrations:integration_list")),
            "integrations:integration_detail": client.get(
                reverse("integrations:integration_detail", kwargs=entra)
            ),
            "integrations:api_key_revoke": client.get(
                reverse(
                    "integrations:api_key_revoke",
                    kwargs={**entra, "key_id": generated_key.api_key.pk},
                )
            ),
            "integrations:provisioning_activity": client.get(
                reverse("integrations:provisioning_activity", kwargs=entra)
            ),
            "integrations:audit_trail": client.get(
                reverse("integrations:audit_trail", kwargs=entra)
            ),
            "integrations:export_job_detail": client.get(
                reverse("integrations:export_job_detail", kwargs={"job_id": export_job.pk})
            ),
            # The page that reveals a new key, last: it rotates the key shown above.
            "integrations:api_key_generate": client.post(
                reverse("integrations:api_key_generate", kwargs=entra)
            ),
            # A form with errors re-renders the whole integration page (400).
            "sso:settings": client.post(
                reverse("sso:settings", kwargs=entra), {"tenant_id": "not-a-guid"}
            ),
            "sso:start": client.post(reverse("sso:start"), {"username": "x@nowhere.example"}),
            "sso:callback": client.get(reverse("sso:callback"), {"state": "unknown"}),
            "404": client.get("/settings/integrations/no-such-provider/"),
            "api:docs": client.get(reverse("api:docs")),
        }
    )
    # A large export is offered as a background job instead of streamed (one row is "large").
    with override_settings(QA_EXPORT_IMMEDIATE_MAX_ROWS=0):
        pages["export_offer"] = client.get(
            reverse("integrations:provisioning_activity_export", kwargs=entra)
        )
    colleague = CompanyAdminFactory(company=company, email="colleague@contoso.com")
    pages.update(
        {
            "integrations:admin_list": client.get(reverse("integrations:admin_list")),
            # An invalid address re-renders the Admins tab with the field error (400).
            "integrations:admin_invite": client.post(
                reverse("integrations:admin_invite"), {"email": "not an address"}
            ),
            "integrations:admin_remove": client.get(
                reverse("integrations:admin_remove", kwargs={"admin_id": colleague.pk})
            ),
            "accounts:two_factor": client.get(reverse("accounts:two_factor")),
            # Starting the set-up shows the QR code (an <img> with a data: URI) and the key.
            "accounts:two_factor_enrol": client.post(reverse("accounts:two_factor_enrol")),
        }
    )
    enabled = two_factor_enable(admin_user)
    force_login_with_second_factor(client, admin_user, enabled.authenticator)
    # A wrong password re-renders the two-factor page with the error (400).
    pages["accounts:two_factor_change"] = client.post(
        reverse("accounts:two_factor_change", kwargs={"change": "disable"}),
        {"password": "wrong", "code": "123456"},
    )
    client.logout()
    client.post(
        reverse("accounts:login"), {"username": admin_user.email, "password": ADMIN_PASSWORD}
    )
    pages["accounts:sign_in_code"] = client.get(reverse("accounts:sign_in_code"))
    client.logout()

    invitation = admin_invite(company=company, email="new@contoso.com", invited_by=admin_user)
    issued = admin_invitation_link_issue(
        invitation_id=invitation.pk, send_count=invitation.send_count
    )
    reset_link = reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(admin_user.pk)),
            "token": default_token_generator.make_token(admin_user),
        },
    )
    pages.update(
        {
            "accounts:invitation_accept": client.get(
                reverse(
                    "accounts:invitation_accept",
                    kwargs={"public_id": invitation.public_id, "token": issued.token},
                ),
                follow=True,
            ),
            "accounts:password_reset": client.get(reverse("accounts:password_reset")),
            "accounts:password_reset_done": client.get(reverse("accounts:password_reset_done")),
            # The link moves its token into the session, then shows the form.
            "accounts:password_reset_confirm": client.get(reset_link, follow=True),
        }
    )
    learner = LearnerFactory(company=company)
    client.force_login(learner)
    pages["learner_home"] = client.get(reverse("accounts:dashboard"))
    pages["403"] = client.get(reverse("accounts:team_list"))
    return pages


def assert_strict_policy(header: str) -> None:
    directives = {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in header
    assert "'unsafe-eval'" not in header


def test_every_portal_page_is_covered(portal):
    named = (
        _named_urls("accounts")
        | _named_urls("integrations")
        | _named_urls("sso")
        | _named_urls("people")
    )
    missing = named - set(portal) - set(NOT_HTML_PAGES)
    assert missing == set(), f"render these new pages in the `portal` fixture: {missing}"


def test_every_page_sends_the_strict_policy_and_renders(portal):
    expected = {
        "404": 404,
        "403": 403,
        "sso:settings": 400,
        "sso:callback": 403,
        "integrations:admin_invite": 400,
        "accounts:two_factor_change": 400,
    }
    for name, response in portal.items():
        assert response.status_code == expected.get(name, 200), name
        assert_strict_policy(response["Content-Security-Policy"])


def test_no_page_has_inline_script_style_or_event_handler(portal):
    for name, response in portal.items():
        html = response.content.decode()
        # A script without src would need 'unsafe-inline' (JSON data blocks are not run).
        inline_scripts = [
            tag
            for tag in re.findall(r"<script\b[^>]*>", html)
            if "src=" not in tag and 'type="application/json"' not in tag
        ]
        assert inline_scripts == [], name
        # drf-spectacular's Swagger page included: templates/drf_spectacular/ moves its style out.
        assert re.findall(r"<style\b", html) == [], name
        assert re.findall(r"\sstyle\s*=", html) == [], name
        assert re.findall(r"\son[a-z]+\s*=", html, flags=re.IGNORECASE) == [], name
        assert "javascript:" not in html, name


def test_the_csv_export_and_scim_answers_carry_the_policy_too(client, admin_user):
    client.force_login(admin_user)
    export = client.get(
        reverse("integrations:provisioning_activity_export", kwargs={"provider": "entra-id"})
    )
    assert_strict_policy(export["Content-Security-Policy"])
    scim = client.get("/webhooks/ad/v1/scim/Users")
    assert scim.status_code == 401
    # An API loads nothing: the strictest policy, fixed.
    assert scim["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert scim["X-Frame-Options"] == "DENY"


def test_pages_cannot_be_framed(client):
    response = client.get(reverse("accounts:login"))
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


# --- Cookies -------------------------------------------------------------------------------

_PRODUCTION_SETTINGS_SCRIPT = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({name: getattr(settings, name) for name in [
    "DEBUG", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE", "CSRF_COOKIE_HTTPONLY", "CSRF_COOKIE_SAMESITE", "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
]}))
"""


def production_env(**overrides: str) -> dict[str, str]:
    """The environment of a production process: none of the test run's DJANGO_* values."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="qaportal.settings.production",
        DJANGO_SECRET_KEY="x7!Kq2-production-like-secret-" + "r8#Lw4Zp0Vn6Ty1Bc3Md5Fg9Hj" * 2,
        DJANGO_ALLOWED_HOSTS="portal.qa.example",
        QA_SSO_ENCRYPTION_KEYS="tDqvFFxgkFzXHhE3OWxq3nFFA0p5-CdKMyvsH2VLCvk=",
        DATABASE_URL=os.environ.get("DATABASE_URL", "sqlite:////tmp/qaportal-deploy-check.db"),
    )
    env.update(overrides)
    return env


@pytest.fixture(scope="module")
def production_settings() -> dict:
    result = subprocess.run(  # noqa: S603 - fixed arguments, this interpreter
        [sys.executable, "-c", _PRODUCTION_SETTINGS_SCRIPT],
        cwd=REPO,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_settings_make_session_and_csrf_cookies_secure_and_http_only(
    production_settings,
):
    assert production_settings["DEBUG"] is False
    assert production_settings["SESSION_COOKIE_SECURE"] is True
    assert production_settings["SESSION_COOKIE_HTTPONLY"] is True
    assert production_settings["CSRF_COOKIE_SECURE"] is True
    assert production_settings["CSRF_COOKIE_HTTPONLY"] is True
    assert production_settings["SECURE_SSL_REDIRECT"] is True
    assert production_settings["SECURE_HSTS_SECONDS"] >= 31536000


def test_with_production_values_the_sign_in_sets_secure_http_only_cookies(
    client, admin_user, production_settings
):
    values = {
        name: production_settings[name]
        for name in (
            "SESSION_COOKIE_SECURE",
            "SESSION_COOKIE_HTTPONLY",
            "CSRF_COOKIE_SECURE",
            "CSRF_COOKIE_HTTPONLY",
        )
    }
    with override_settings(**values):
        client.get(reverse("accounts:login"), secure=True)
        csrf_cookie = client.cookies[settings.CSRF_COOKIE_NAME]
        response = client.post(
            reverse("accounts:login"),
            {"username": admin_user.email, "password": ADMIN_PASSWORD},
            secure=True,
        )
    assert response.status_code == 302
    session_cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    for cookie in (session_cookie, csrf_cookie):
        assert cookie["secure"] is True, cookie.key
        assert cookie["httponly"] is True, cookie.key
        assert cookie["samesite"] == "Lax", cookie.key
