"""Sign in with Microsoft end to end against a real OpenID Connect provider.

The provider (tests/oidc_provider) runs in its own process and serves Entra's v2.0 paths: the
portal sends the person there, they sign in on its page, and the portal exchanges the code
(with the PKCE verifier) and verifies the signed ID token over real HTTP. Faults make the
provider issue tokens that are wrong in one way each.
"""

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from integrations.models import ProvisioningEvent
from sso.exceptions import RefusalReason
from tests.factories import LearnerFactory
from tests.sso.conftest import CLIENT_ID, CLIENT_SECRET, TENANT_ID

pytestmark = pytest.mark.django_db

REDIRECT_URI = "http://testserver/sso/callback/"
PROVIDER_PASSWORD = "microsoft password"


@pytest.fixture
def idp(entra, settings, sso_connection, contoso_domain):
    """The local provider as Contoso's Entra tenant, with QA's app registered in it."""
    settings.QA_SSO_AUTHORITY = entra.authority
    entra.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    return entra


@pytest.fixture
def alice(idp, learner):
    """Alice in Entra, provisioned to QA with her object id as externalId."""
    idp.add_user("alice@contoso.com", PROVIDER_PASSWORD, oid=learner.external_id, name="Alice")
    return learner


def _microsoft_sign_in(client: Client, idp, *, email: str, username: str, next_url: str = ""):
    """Type `email`, choose Sign in with Microsoft, sign in at the provider as `username`;
    return the portal's answer to the callback and the callback URL itself."""
    start = client.post(reverse("sso:start"), {"username": email, "next": next_url})
    assert start.status_code == 302, start.content.decode()[:500]
    assert start["Location"].startswith(f"{idp.authority}/{TENANT_ID}/oauth2/v2.0/authorize?")
    callback = idp.sign_in(requests.Session(), start["Location"], username, PROVIDER_PASSWORD)
    assert callback.startswith(REDIRECT_URI), callback
    parts = urlsplit(callback)
    return client.get(f"{parts.path}?{parts.query}"), f"{parts.path}?{parts.query}"


def _last_sign_in_event(company) -> ProvisioningEvent:
    return ProvisioningEvent.objects.filter(company=company, operation="sso_sign_in").latest("id")


def test_a_provisioned_learner_signs_in_and_lands_on_their_dashboard(client, idp, alice, company):
    response, _ = _microsoft_sign_in(
        client, idp, email="alice@contoso.com", username="alice@contoso.com"
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:dashboard")
    assert client.session[SESSION_KEY] == str(alice.pk)
    assert "Welcome, Alice Adams" in client.get(reverse("accounts:dashboard")).content.decode()

    event = _last_sign_in_event(company)
    assert (event.outcome, event.resource_name, event.resource_id) == (
        "success",
        "alice@contoso.com",
        str(alice.scim_id),
    )


def test_the_learner_goes_back_to_the_page_they_asked_for(client, idp, alice):
    response, _ = _microsoft_sign_in(
        client, idp, email="alice@contoso.com", username="alice@contoso.com", next_url="/?tab=1"
    )
    assert response["Location"] == "/?tab=1"


def test_without_a_matching_external_id_the_upn_matches_the_user_name_in_any_case(
    client, idp, company
):
    bob = LearnerFactory(company=company, user_name="bob@contoso.com", external_id="bob")
    idp.add_user("Bob@Contoso.com", PROVIDER_PASSWORD)
    response, _ = _microsoft_sign_in(
        client, idp, email="bob@contoso.com", username="Bob@Contoso.com"
    )
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(bob.pk)


def _assert_refused(client, response, company, code: str, *, name: str = "alice@contoso.com"):
    assert response.status_code == 403
    html = response.content.decode()
    assert "You were not signed in" in html
    assert f"<code>{code}</code>" in html
    assert SESSION_KEY not in client.session
    event = _last_sign_in_event(company)
    assert (event.outcome, event.scim_type, event.status_code) == ("failed", code, 403)
    # The admin reads the reason in words in the activity log.
    reason = next(reason for reason in RefusalReason if reason.code == code)
    assert event.detail == reason.admin_text
    if name:
        assert event.resource_name == name


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("wrong_issuer", "wrong_issuer"),
        ("wrong_tenant_id", "wrong_issuer"),
        ("wrong_audience", "wrong_audience"),
        ("extra_audience", "wrong_audience"),
        ("token_response_not_object", "token_invalid"),
        ("expired", "token_expired"),
        ("bad_signature", "bad_signature"),
        ("unknown_kid", "bad_signature"),
        ("wrong_nonce", "token_invalid"),
    ],
)
def test_a_token_that_is_wrong_in_any_way_signs_nobody_in(client, idp, alice, company, fault, code):
    idp.set_fault(fault)
    response, _ = _microsoft_sign_in(
        client, idp, email="alice@contoso.com", username="alice@contoso.com"
    )
    # Nothing of an unverified token is trusted, not even the name in it.
    _assert_refused(client, response, company, code, name="")


def test_a_replayed_callback_is_refused(client, idp, alice, company):
    response, callback = _microsoft_sign_in(
        client, idp, email="alice@contoso.com", username="alice@contoso.com"
    )
    assert response.status_code == 302
    # The same state and code again, in the same browser or in an attacker's.
    again = client.get(callback)
    assert again.status_code == 403
    assert "<code>state_invalid</code>" in again.content.decode()
    stranger = Client()
    assert stranger.get(callback).status_code == 403
    assert SESSION_KEY not in stranger.session


def test_a_learner_deactivated_by_scim_is_refused_and_logged(client, idp, alice, company):
    alice.is_active = False
    alice.save()
    response, _ = _microsoft_sign_in(
        client, idp, email="alice@contoso.com", username="alice@contoso.com"
    )
    _assert_refused(client, response, company, "deactivated_user")
    assert "has been deactivated" in response.content.decode()


def test_a_deleted_or_never_provisioned_user_is_refused_and_no_account_is_made(
    client, idp, alice, company, django_user_model
):
    alice.delete()
    users_before = django_user_model.objects.count()
    response, _ = _microsoft_sign_in(
        client, idp, email="alice@contoso.com", username="alice@contoso.com"
    )
    _assert_refused(client, response, company, "unknown_user")
    assert django_user_model.objects.count() == users_before


def test_a_user_of_another_company_cannot_sign_in_through_this_company(
    client, idp, alice, company, other_company
):
    oid = str(uuid.uuid4())
    frank = LearnerFactory(company=other_company, user_name="frank@fabrikam.com", external_id=oid)
    idp.add_user("frank@fabrikam.com", PROVIDER_PASSWORD, oid=oid)
    response, _ = _microsoft_sign_in(
        client, idp, email="frank@contoso.com", username="frank@fabrikam.com"
    )
    _assert_refused(client, response, company, "unknown_user", name="frank@fabrikam.com")
    assert client.session.get(SESSION_KEY) != str(frank.pk)
    # Nothing about it lands in the other company's log.
    assert not ProvisioningEvent.objects.filter(company=other_company).exists()


def test_a_wrong_client_secret_is_refused_by_the_provider(client, idp, alice, company):
    idp.register_client(CLIENT_ID, "a-different-secret", [REDIRECT_URI])
    response, _ = _microsoft_sign_in(
        client, idp, email="alice@contoso.com", username="alice@contoso.com"
    )
    _assert_refused(client, response, company, "provider_error", name="")


def test_an_error_from_microsoft_is_a_clear_page(client, idp, alice, company):
    start = client.post(reverse("sso:start"), {"username": "alice@contoso.com"})
    state = dict(part.split("=", 1) for part in urlsplit(start["Location"]).query.split("&"))[
        "state"
    ]
    response = client.get(
        reverse("sso:callback"),
        {"error": "access_denied", "error_description": "cancelled", "state": state},
    )
    _assert_refused(client, response, company, "provider_error", name="")


def test_the_provider_keys_are_fetched_once_and_again_only_for_a_new_key(client, idp, alice):
    for _ in range(2):
        browser = Client()  # a new browser each time
        response, _ = _microsoft_sign_in(
            browser, idp, email="alice@contoso.com", username="alice@contoso.com"
        )
        assert response.status_code == 302
    assert idp.stats()["jwks_requests"] == 1

    idp.rotate_key()
    browser = Client()
    response, _ = _microsoft_sign_in(
        browser, idp, email="alice@contoso.com", username="alice@contoso.com"
    )
    assert response.status_code == 302
    assert idp.stats()["jwks_requests"] == 2


def test_a_sign_in_started_too_long_ago_is_refused(client, idp, alice, company, settings):
    settings.QA_SSO_FLOW_MAX_AGE_SECONDS = -1
    response, _ = _microsoft_sign_in(
        client, idp, email="alice@contoso.com", username="alice@contoso.com"
    )
    _assert_refused(client, response, company, "state_invalid", name="")


def test_switching_sso_off_stops_sign_ins_already_under_way(
    client, idp, alice, company, sso_connection
):
    start = client.post(reverse("sso:start"), {"username": "alice@contoso.com"})
    callback = idp.sign_in(
        requests.Session(), start["Location"], "alice@contoso.com", PROVIDER_PASSWORD
    )
    sso_connection.is_enabled = False
    sso_connection.save()
    parts = urlsplit(callback)
    response = client.get(f"{parts.path}?{parts.query}")
    _assert_refused(client, response, company, "sso_off", name="")


def test_the_activity_page_says_who_signed_in_and_why_others_were_refused(
    admin_client, idp, alice, company
):
    _microsoft_sign_in(Client(), idp, email="alice@contoso.com", username="alice@contoso.com")
    alice.is_active = False
    alice.save()
    _microsoft_sign_in(Client(), idp, email="alice@contoso.com", username="alice@contoso.com")

    page = admin_client.get(
        reverse("integrations:provisioning_activity", kwargs={"provider": "entra-id"}),
        {"operation": "sso_sign_in"},
    )
    text = " ".join(page.content.decode().split())
    assert "alice@contoso.com signed in with Microsoft" in text
    assert "Microsoft sign-in refused for alice@contoso.com" in text
    assert "403 deactivated_user" in text
    assert RefusalReason.DEACTIVATED_USER.admin_text in text


def test_unknown_key_ids_refetch_the_keys_at_most_once_per_interval(client, idp, alice, company):
    idp.set_fault("unknown_kid")
    for _ in range(3):
        response, _ = _microsoft_sign_in(
            Client(), idp, email="alice@contoso.com", username="alice@contoso.com"
        )
        assert response.status_code == 403
    # The first fetch, then one refetch for the unknown key id; not one per sign-in.
    assert idp.stats()["jwks_requests"] == 2


def test_a_reused_upn_does_not_open_the_previous_owners_account(client, idp, alice, company):
    """Alice left; her UPN now belongs to a new Entra user (another object id) whom Entra has
    not provisioned yet. They must not get Alice's QA account."""
    idp.add_user("alice@contoso.com", PROVIDER_PASSWORD, oid=str(uuid.uuid4()))
    response, _ = _microsoft_sign_in(
        client, idp, email="alice@contoso.com", username="alice@contoso.com"
    )
    _assert_refused(client, response, company, "unknown_user")


def test_only_learners_sign_in_with_microsoft(client, idp, alice, company):
    """SCIM provisions learners; an account staff made an admin is no longer one of them."""
    alice.role = alice.Role.ADMIN
    alice.email = "alice.admin@contoso.com"
    alice.save()
    response, _ = _microsoft_sign_in(
        client, idp, email="alice@contoso.com", username="alice@contoso.com"
    )
    _assert_refused(client, response, company, "unknown_user")


def test_callbacks_without_a_code_are_refused_without_locking_anyone_out(
    client, idp, alice, company, settings
):
    """django-axes counts failed sign-ins per IP; a callback without a code must not count,
    or anyone could lock Microsoft sign-in for a whole office."""
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        start = client.post(reverse("sso:start"), {"username": "alice@contoso.com"})
        state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
        response = client.get(reverse("sso:callback"), {"state": state, "code": ""})
        assert response.status_code == 403
        assert "<code>provider_error</code>" in response.content.decode()
    response, _ = _microsoft_sign_in(
        Client(), idp, email="alice@contoso.com", username="alice@contoso.com"
    )
    assert response.status_code == 302


def test_a_new_sign_in_replaces_the_one_under_way(client, idp, alice):
    """One pending sign-in per session: an earlier tab's answer is refused (it says to start
    again) and the latest one lands where it started."""
    starts = [
        client.post(reverse("sso:start"), {"username": "alice@contoso.com", "next": next_url})
        for next_url in ("/one/", "/two/")
    ]
    answers = []
    for start in starts:
        callback = idp.sign_in(
            requests.Session(), start["Location"], "alice@contoso.com", PROVIDER_PASSWORD
        )
        parts = urlsplit(callback)
        answers.append(client.get(f"{parts.path}?{parts.query}"))
    assert answers[0].status_code == 403
    assert "<code>state_invalid</code>" in answers[0].content.decode()
    assert answers[1].status_code == 302
    assert answers[1]["Location"] == "/two/"


def test_starting_again_and_again_keeps_one_pending_sign_in_in_the_session(client, idp):
    for n in range(12):
        start = client.post(reverse("sso:start"), {"username": "a@contoso.com", "next": f"/{n}/"})
        assert start.status_code == 302
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    assert list(client.session["oidc_states"]) == [state]
    assert client.session["sso_flow"]["state"] == state
    assert client.session["sso_flow"]["next"] == "/11/"


def test_a_start_that_sends_no_one_to_microsoft_stores_no_session(db, settings, idp):
    from django.contrib.sessions.models import Session

    settings.QA_SSO_START_LIMIT = 2
    emails = ["nobody@nowhere.example", "not-an-email", "x@nowhere.example", "a@contoso.com"]
    statuses = [Client().post(reverse("sso:start"), {"username": e}).status_code for e in emails]
    # Unknown, malformed, unknown, then over the limit from this address.
    assert statuses == [200, 400, 200, 429]
    assert Session.objects.count() == 0


def test_an_anonymous_probe_of_the_callback_stores_no_session(db):
    from django.contrib.sessions.models import Session

    for _ in range(5):
        response = Client().get(reverse("sso:callback"), {"state": "made-up", "code": "x"})
        assert response.status_code == 403
    assert Session.objects.count() == 0


def test_sign_in_works_while_the_cache_is_down(client, idp, alice, settings):
    """With Redis unreachable, the start limit and the key cache step aside."""
    settings.QA_SSO_START_LIMIT = 5
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    response, _ = _microsoft_sign_in(
        client, idp, email="alice@contoso.com", username="alice@contoso.com"
    )
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(alice.pk)


@pytest.fixture
def hung_cache(settings):
    """The cache on a Redis that accepts connections and never answers, with the cache
    options of a deployment (QA_CACHE_REDIS_OPTIONS, used whenever REDIS_URL is set)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{silent.getsockname()[1]}/0",
                "OPTIONS": settings.QA_CACHE_REDIS_OPTIONS,
            }
        }
        yield


def _timed(request):
    started = time.monotonic()
    response = request()
    return response, time.monotonic() - started


def test_a_hung_cache_holds_no_request_for_more_than_about_a_second(
    client, idp, alice, settings, hung_cache
):
    """The start limit and the key cache each wait a quarter second for Redis, not seconds."""
    settings.QA_SSO_START_LIMIT = 5
    start, start_seconds = _timed(
        lambda: client.post(reverse("sso:start"), {"username": "alice@contoso.com"})
    )
    assert start.status_code == 302
    callback = idp.sign_in(
        requests.Session(), start["Location"], "alice@contoso.com", PROVIDER_PASSWORD
    )
    parts = urlsplit(callback)
    finished, finish_seconds = _timed(lambda: client.get(f"{parts.path}?{parts.query}"))
    assert finished.status_code == 302
    assert client.session[SESSION_KEY] == str(alice.pk)
    assert start_seconds < 1.0
    # Two cache calls (the key set is read, then stored) plus the token and key requests to
    # the provider.
    assert finish_seconds < 1.5


def test_deployments_with_redis_use_the_short_cache_timeouts():
    """What the test above relies on is what production settings configure."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="qaportal.settings.production",
        DJANGO_SECRET_KEY="x" * 60,
        DJANGO_ALLOWED_HOSTS="portal.qa.example",
        DATABASE_URL="sqlite:////tmp/unused.sqlite3",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "options = settings.CACHES['default']['OPTIONS']; "
        "print(options['socket_connect_timeout'], options['socket_timeout'], "
        "options['retry'].get_retries())"
    )
    completed = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["0.25", "0.25", "0"]
