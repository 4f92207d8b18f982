"""Settings & Integrations pages and the key lifecycle as an admin sees it."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.models import ApiKey, AuditEvent
from integrations.services import api_key_generate, api_key_revoke
from tests.factories import LearnerFactory
from tests.keys import authenticate_api_key

pytestmark = pytest.mark.django_db

KEY_RE = re.compile(r"qa_scim_[0-9A-Za-z]{8}_[0-9A-Za-z]{36}")
DETAIL_URL = reverse("integrations:integration_detail", kwargs={"provider": "entra-id"})
GENERATE_URL = reverse("integrations:api_key_generate", kwargs={"provider": "entra-id"})


def revoke_url(api_key: ApiKey, provider: str = "entra-id") -> str:
    return reverse(
        "integrations:api_key_revoke", kwargs={"provider": provider, "key_id": api_key.pk}
    )


def text_of(response) -> str:
    """The page as text, with Django's non-breaking spaces made plain."""
    return response.content.decode().replace("\xa0", " ")


def key_row(page: str, api_key: ApiKey) -> str:
    """The keys-table row of one key."""
    row = page[page.index(f'<code class="mono">{api_key.masked}</code>') :]
    return row[: row.index("</tr>")]


@pytest.fixture
def learner(company):
    return LearnerFactory(company=company)


# --- Settings & Integrations ---------------------------------------------------------------


def test_settings_page_has_general_and_integrations_tabs(admin_client, admin_user):
    response = admin_client.get(reverse("integrations:settings"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Settings &amp; Integrations</h1>" in html
    assert re.search(r'href="/settings/"[^>]*aria-current="page">General</a>', html)
    assert re.search(r'href="/settings/integrations/"[^>]*>Integrations</a>', html)
    assert admin_user.email in html


def test_integrations_tab_lists_entra_with_status_badge_and_view_integration(admin_client):
    html = admin_client.get(reverse("integrations:integration_list")).content.decode()
    assert "Microsoft Entra ID" in html
    assert re.search(r'aria-current="page">Integrations</a>', html)
    assert '<span class="badge badge--neutral">Not connected</span>' in html
    assert re.search(rf'<a [^>]*href="{DETAIL_URL}"[^>]*>View Integration</a>', html)


def test_integrations_tab_badge_follows_the_key_lifecycle(
    admin_client, entra_integration, admin_user
):
    url = reverse("integrations:integration_list")
    api_key_generate(integration=entra_integration, created_by=admin_user)
    assert 'badge--success">Key active' in admin_client.get(url).content.decode()
    api_key_generate(integration=entra_integration, created_by=admin_user)
    page = text_of(admin_client.get(url))
    assert 'badge--info">Key rotation in progress' in page  # information, not an alarm
    assert re.search(r"The previous key expires in 7 hours, 59 minutes", page)


# --- The integration page ------------------------------------------------------------------


def test_integration_page_shows_the_absolute_tenant_url_with_a_copy_button(admin_client):
    response = admin_client.get(DETAIL_URL, secure=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<label class="label" for="tenant-url">Tenant URL</label>' in html
    assert f'value="https://testserver/{settings.SCIM_BASE_PATH}"' in html
    assert 'value="https://testserver/webhooks/ad/v1/scim"' in html
    assert re.search(r'<button type="button"[^>]*data-copy-target="tenant-url"', html)
    assert re.search(r'<button type="submit"[^>]*>Generate a new API Key</button>', html)


def test_tenant_url_uses_the_host_the_admin_reached(admin_client, settings):
    settings.ALLOWED_HOSTS = ["portal.qa.example"]
    response = admin_client.get(DETAIL_URL, HTTP_HOST="portal.qa.example", secure=True)
    assert 'value="https://portal.qa.example/webhooks/ad/v1/scim"' in response.content.decode()


def test_generate_reveals_the_key_once_with_no_store_and_a_warning(
    admin_client, admin_user, entra_integration, caplog
):
    caplog.set_level("DEBUG")
    response = admin_client.post(GENERATE_URL, REMOTE_ADDR="203.0.113.7")
    html = response.content.decode()

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    [plaintext] = set(KEY_RE.findall(html))
    assert re.search(rf'<input id="new-api-key"[^>]*value="{plaintext}"', html)
    assert re.search(r'data-copy-target="new-api-key"', html)
    assert "This key will not be shown again." in html

    api_key = authenticate_api_key(plaintext)
    assert api_key is not None
    assert api_key.integration == entra_integration
    assert api_key.created_by == admin_user
    event = AuditEvent.objects.get(api_key=api_key, action=AuditEvent.Action.KEY_GENERATED)
    assert event.actor == admin_user
    assert event.ip_address == "203.0.113.7"

    # Nothing but this response ever holds the plaintext.
    assert plaintext not in str(dict(admin_client.session))
    assert [str(message) for message in get_messages(response.wsgi_request)] == []
    assert plaintext not in str(response.cookies)
    assert "Location" not in response
    assert plaintext not in caplog.text


def test_reloading_the_integration_page_shows_only_the_masked_key(admin_client):
    plaintext = KEY_RE.search(admin_client.post(GENERATE_URL).content.decode()).group()
    api_key = ApiKey.objects.get()

    html = admin_client.get(DETAIL_URL).content.decode()
    assert plaintext not in html
    assert KEY_RE.search(html) is None
    assert f"qa_scim_{api_key.public_id}…{plaintext[-4:]}" in html
    assert 'id="new-api-key"' not in html


def test_only_a_post_generates_a_get_asks_first(admin_client, admin_user, entra_integration):
    # Without a working key there is nothing to confirm: back to the page and its button.
    assert admin_client.get(GENERATE_URL)["Location"] == DETAIL_URL
    assert not ApiKey.objects.exists()
    # With one, the confirmation says when the current key stops working.
    api_key_generate(integration=entra_integration, created_by=admin_user)
    response = admin_client.get(GENERATE_URL)
    assert response.status_code == 200
    assert "Then it stops working." in response.content.decode()
    assert ApiKey.objects.count() == 1


def test_generate_requires_a_csrf_token(admin_user):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(admin_user)

    assert csrf_client.post(GENERATE_URL).status_code == 403
    assert not ApiKey.objects.exists()

    csrf_client.get(DETAIL_URL)
    token = csrf_client.cookies[settings.CSRF_COOKIE_NAME].value
    response = csrf_client.post(GENERATE_URL, {"csrfmiddlewaretoken": token})
    assert response.status_code == 200
    assert ApiKey.objects.count() == 1


def test_second_key_leaves_the_first_expiring_with_time_left(
    admin_client, admin_user, entra_integration, generated_key
):
    response = admin_client.post(GENERATE_URL)
    page = text_of(response)
    first = ApiKey.objects.get(pk=generated_key.api_key.pk)

    assert first.status_at(timezone.now()) == ApiKey.Status.EXPIRING
    row = key_row(page, first)
    assert 'badge--warning">Expiring</span>' in row
    assert "in <time" in row
    assert re.search(r">7 hours, 59 minutes</time>", row)
    assert "Your previous key keeps working for 8 hours" in page
    assert first.expires_at.isoformat(timespec="seconds")[:16] in row.replace(" ", "T")


def test_keys_table_shows_each_status_by_the_clock(admin_client, admin_user, entra_integration):
    start = timezone.now() - timedelta(days=2)
    revoked = api_key_generate(integration=entra_integration, created_by=admin_user, now=start)
    api_key_revoke(api_key=revoked.api_key, revoked_by=admin_user, now=start)
    expired = api_key_generate(integration=entra_integration, created_by=admin_user, now=start)
    # Superseded two days ago: its grace period is long over.
    expiring = api_key_generate(
        integration=entra_integration, created_by=admin_user, now=start + timedelta(hours=1)
    )
    # Superseded now: in its grace period.
    active = api_key_generate(integration=entra_integration, created_by=admin_user)

    page = text_of(admin_client.get(DETAIL_URL))

    def row_of(generated) -> str:
        return key_row(page, generated.api_key)

    assert 'badge--success">Active' in row_of(active)
    assert 'badge--warning">Expiring' in row_of(expiring)
    assert 'badge--neutral">Expired' in row_of(expired)
    assert 'badge--danger">Revoked' in row_of(revoked)
    assert f"by {admin_user.email}" in row_of(revoked)
    assert "Never" in row_of(active)
    # Only keys that still work can be revoked.
    assert "Revoke" in row_of(active)
    assert "Revoke" in row_of(expiring)
    assert "Revoke" not in row_of(expired)
    assert ">Revoke<" not in row_of(revoked)


def test_expiring_status_counts_down_and_turns_expired_at_the_deadline(
    admin_client, generated_key, entra_integration, admin_user
):
    api_key_generate(integration=entra_integration, created_by=admin_user)
    deadline = ApiKey.objects.get(pk=generated_key.api_key.pk).expires_at

    with time_machine.travel(deadline - timedelta(hours=2, minutes=30), tick=False):
        page = text_of(admin_client.get(DETAIL_URL))
        assert ">2 hours, 30 minutes</time>" in page
        assert re.search(r"An older key expires in <time[^>]*>2 h 30 min</time>\.", page)
    with time_machine.travel(deadline + timedelta(seconds=1), tick=False):
        page = text_of(admin_client.get(DETAIL_URL))
        assert 'badge--neutral">Expired' in key_row(page, generated_key.api_key)
        assert "An older key expires" not in page


def test_last_used_shows_when_entra_last_used_the_key(admin_client, generated_key):
    authenticate_api_key(generated_key.plaintext, now=timezone.now() - timedelta(minutes=5))
    page = text_of(admin_client.get(DETAIL_URL))
    assert "5 minutes ago" in key_row(page, generated_key.api_key)


# --- Revoke -------------------------------------------------------------------------------


def test_revoke_asks_for_confirmation_first(admin_client, generated_key):
    response = admin_client.get(revoke_url(generated_key.api_key))
    html = response.content.decode()
    assert response.status_code == 200
    assert generated_key.api_key.masked in html
    assert "refused immediately" in html
    assert re.search(r'<button type="submit"[^>]*>Revoke key</button>', html)
    assert authenticate_api_key(generated_key.plaintext) is not None  # GET changes nothing


def test_revoke_ends_the_key_at_once_and_audits_it(admin_client, admin_user, generated_key):
    response = admin_client.post(revoke_url(generated_key.api_key), REMOTE_ADDR="198.51.100.4")

    assert response.status_code == 302
    assert response["Location"] == DETAIL_URL
    assert authenticate_api_key(generated_key.plaintext) is None
    event = AuditEvent.objects.get(action=AuditEvent.Action.KEY_REVOKED)
    assert (event.actor, event.ip_address) == (admin_user, "198.51.100.4")

    page = admin_client.get(response["Location"]).content.decode()
    assert f"Revoked {generated_key.api_key.masked}." in page
    assert 'badge--danger">Revoked' in page


def test_revoking_a_revoked_key_is_a_clear_message_not_an_error(
    admin_client, admin_user, generated_key
):
    api_key_revoke(api_key=generated_key.api_key, revoked_by=admin_user)

    confirm = admin_client.get(revoke_url(generated_key.api_key)).content.decode()
    assert "This key is already revoked, so there is nothing to revoke." in confirm
    assert "Revoke key</button>" not in confirm

    response = admin_client.post(revoke_url(generated_key.api_key), follow=True)
    assert response.status_code == 200
    assert (
        f"{generated_key.api_key.masked} was not revoked: it is already revoked or expired."
        in response.content.decode()
    )
    assert AuditEvent.objects.filter(action=AuditEvent.Action.KEY_REVOKED).count() == 1


def test_revoking_an_expired_key_is_a_clear_message(
    admin_client, admin_user, entra_integration, generated_key
):
    api_key_generate(
        integration=entra_integration,
        created_by=admin_user,
        now=timezone.now() - settings.QA_KEY_GRACE_PERIOD - timedelta(minutes=1),
    )
    response = admin_client.post(revoke_url(generated_key.api_key), follow=True)
    assert "was not revoked: it is already revoked or expired." in response.content.decode()


# --- Who may do what ------------------------------------------------------------------------


def test_learners_cannot_generate_or_revoke(client, learner, generated_key):
    client.force_login(learner)
    assert client.post(GENERATE_URL).status_code == 403
    assert client.get(revoke_url(generated_key.api_key)).status_code == 403
    assert client.post(revoke_url(generated_key.api_key)).status_code == 403
    assert ApiKey.objects.count() == 1
    assert authenticate_api_key(generated_key.plaintext) is not None


def test_anonymous_generate_goes_to_sign_in_and_creates_nothing(client, entra_integration):
    response = client.post(GENERATE_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert not ApiKey.objects.exists()


def test_another_companys_key_is_a_404_to_see_or_revoke(
    admin_client, other_generated_key, generated_key
):
    url = revoke_url(other_generated_key.api_key)
    assert admin_client.get(url).status_code == 404
    assert admin_client.post(url).status_code == 404
    assert authenticate_api_key(other_generated_key.plaintext) is not None
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.KEY_REVOKED).exists()


def test_another_companys_keys_never_show_on_the_page(admin_client, other_generated_key):
    html = admin_client.get(DETAIL_URL).content.decode()
    assert other_generated_key.api_key.public_id not in html
    assert "No API keys yet." in html


def test_unknown_provider_is_a_404(admin_client):
    url = reverse("integrations:integration_detail", kwargs={"provider": "okta"})
    assert admin_client.get(url).status_code == 404
    generate = reverse("integrations:api_key_generate", kwargs={"provider": "okta"})
    assert admin_client.post(generate).status_code == 404
    assert not ApiKey.objects.exists()


def test_a_key_id_under_the_wrong_provider_is_a_404(admin_client, generated_key):
    url = revoke_url(generated_key.api_key, provider="okta")
    assert admin_client.post(url).status_code == 404
    assert authenticate_api_key(generated_key.plaintext) is not None


def test_keys_table_paginates_with_links_to_the_integration_page(
    admin_client, admin_user, entra_integration
):
    for _ in range(21):
        api_key_generate(integration=entra_integration, created_by=admin_user)
    response = admin_client.post(GENERATE_URL)  # the reveal page links to GET pages only
    assert f'href="{DETAIL_URL}?page=2"' in response.content.decode()
    second = admin_client.get(DETAIL_URL, {"page": 2}).content.decode()
    assert "Page 2 of 2" in second
    assert second.count('<code class="mono">qa_scim_') == 2


def test_a_missing_page_is_a_plain_404_page(admin_client):
    response = admin_client.get("/settings/integrations/entra-id/keys/999/revoke/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
