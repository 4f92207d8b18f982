"""The Single sign-on section of the Microsoft Entra ID page."""

import re

import pytest
from django.urls import reverse

from sso.crypto import secret_decrypt
from sso.models import SsoConnection
from tests.pages import text_of
from tests.sso.conftest import CLIENT_ID, CLIENT_SECRET, TENANT_ID

pytestmark = pytest.mark.django_db

PAGE = reverse("integrations:integration_detail", kwargs={"provider": "entra-id"})
SAVE = reverse("sso:settings", kwargs={"provider": "entra-id"})


def _form(**overrides) -> dict:
    data = {
        "tenant_id": TENANT_ID,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "is_enabled": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_section_shows_the_absolute_redirect_uri_with_a_copy_button(admin_client):
    html = admin_client.get(PAGE).content.decode()
    assert re.search(r'<h3 id="sso-title" class="card__title">Single sign-on</h3>', html)
    assert 'id="sso-redirect-uri"' in html
    assert 'value="http://testserver/sso/callback/"' in html
    assert 'data-copy-target="sso-redirect-uri"' in html


def test_redirect_uri_follows_the_host_and_scheme_of_the_request(admin_client, settings):
    settings.ALLOWED_HOSTS = ["qa.example.com"]
    html = admin_client.get(PAGE, HTTP_HOST="qa.example.com", secure=True).content.decode()
    assert 'value="https://qa.example.com/sso/callback/"' in html


def test_saving_stores_the_secret_encrypted_and_never_shows_it_again(admin_client, company):
    response = admin_client.post(SAVE, _form())
    assert response.status_code == 302
    assert response["Location"] == f"{PAGE}#sso-title"

    connection = SsoConnection.objects.get(integration__company=company)
    assert connection.tenant_id == TENANT_ID
    assert connection.client_id == CLIENT_ID
    assert connection.is_enabled is True
    assert CLIENT_SECRET not in connection.client_secret_encrypted
    assert secret_decrypt(connection.client_secret_encrypted) == CLIENT_SECRET

    page = admin_client.get(PAGE)
    html = page.content.decode()
    assert CLIENT_SECRET not in html
    assert connection.client_secret_encrypted not in html
    assert f"starts with {CLIENT_SECRET[:3]}…" in text_of(page)
    assert "Single sign-on settings saved." in html


def test_a_blank_secret_keeps_the_stored_one(admin_client, sso_connection):
    stored = sso_connection.client_secret_encrypted
    response = admin_client.post(SAVE, _form(client_secret="", is_enabled=None))
    assert response.status_code == 302
    sso_connection.refresh_from_db()
    assert sso_connection.client_secret_encrypted == stored
    assert sso_connection.is_enabled is False


def test_a_new_secret_replaces_the_stored_one(admin_client, sso_connection):
    admin_client.post(SAVE, _form(client_secret="the-next-secret-value"))
    sso_connection.refresh_from_db()
    assert secret_decrypt(sso_connection.client_secret_encrypted) == "the-next-secret-value"
    assert sso_connection.client_secret_hint == "the"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"tenant_id": "contoso.onmicrosoft.com"}, "tenant_id", "directory (tenant) ID as Entra"),
        ({"client_id": "not-a-guid"}, "client_id", "application (client) ID as Entra"),
        ({"client_secret": ""}, "client_secret", "Paste the client secret"),
        ({"is_enabled": None, "require_sso": "on"}, "require_sso", "Turn on single sign-on"),
    ],
)
def test_bad_input_shows_field_errors_and_saves_nothing(
    admin_client, company, overrides, field, message
):
    response = admin_client.post(SAVE, _form(**overrides))
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    invalid = (
        rf'<div class="(field|check) field--invalid">\s*(<label for|<input[^>]*id)="id_{field}"'
    )
    assert re.search(invalid, html)
    assert not SsoConnection.objects.filter(integration__company=company).exists()
    # The rest of the integration page is still there, and the secret is not echoed back.
    assert "Generate a new API Key" in html
    assert CLIENT_SECRET not in html


def test_guids_are_stored_in_entra_form_whatever_their_case(admin_client, company):
    admin_client.post(SAVE, _form(tenant_id=TENANT_ID.upper(), client_id=f" {CLIENT_ID.upper()} "))
    connection = SsoConnection.objects.get(integration__company=company)
    assert (connection.tenant_id, connection.client_id) == (TENANT_ID, CLIENT_ID)


def test_saving_needs_a_recent_password(admin_client, settings, company):
    settings.QA_REAUTH_MAX_AGE = __import__("datetime").timedelta(seconds=0)
    session = admin_client.session
    session["qa_password_confirmed_at"] = 0
    session.save()
    response = admin_client.post(SAVE, _form())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:password_confirm"))
    assert "action=configure-sso" in response["Location"]
    assert not SsoConnection.objects.filter(integration__company=company).exists()


def test_an_admin_changes_only_their_own_company(
    client, other_admin_user, sso_connection, other_company
):
    client.force_login(other_admin_user)
    client.post(
        SAVE,
        _form(
            tenant_id="aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
            client_id="11111111-2222-4333-8444-555555555555",
        ),
    )
    sso_connection.refresh_from_db()
    assert sso_connection.client_id == CLIENT_ID
    other = SsoConnection.objects.get(integration__company=other_company)
    assert other.client_id == "11111111-2222-4333-8444-555555555555"
    # Nor does the other company's page show anything of this one.
    html = client.get(PAGE).content.decode()
    assert TENANT_ID not in html
    assert CLIENT_ID not in html


def test_learners_and_anonymous_users_cannot_change_sso(client, learner, company):
    assert client.post(SAVE, _form())["Location"].startswith(reverse("accounts:login"))
    client.force_login(learner)
    assert client.post(SAVE, _form()).status_code == 403
    assert not SsoConnection.objects.filter(integration__company=company).exists()


def test_each_change_is_in_the_audit_trail_without_the_secret(admin_client, company):
    from integrations.models import AuditEvent

    admin_client.post(SAVE, _form(), REMOTE_ADDR="203.0.113.9")
    admin_client.post(SAVE, _form(client_secret="", require_sso="on"))
    admin_client.post(SAVE, _form(client_secret="", require_sso="on"))  # nothing changed

    events = list(AuditEvent.objects.filter(company=company).order_by("id"))
    assert [event.action for event in events] == ["sso_updated", "sso_updated"]
    assert events[0].detail["changes"] == [
        "Turned single sign-on on",
        f"Directory (tenant) ID {TENANT_ID}",
        f"Application (client) ID {CLIENT_ID}",
        f"New client secret {CLIENT_SECRET[:3]}…",
    ]
    assert events[0].ip_address == "203.0.113.9"
    assert events[1].detail["changes"] == ["Required single sign-on for people"]

    trail = admin_client.get(reverse("integrations:audit_trail", kwargs={"provider": "entra-id"}))
    text = text_of(trail)
    assert "Changed single sign-on" in text
    assert "Required single sign-on for people" in text
    assert CLIENT_SECRET not in trail.content.decode()
