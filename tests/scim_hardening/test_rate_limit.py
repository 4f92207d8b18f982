"""SCIM rate limits, per API key and per client IP, on Redis and in-process.

Each test turns the limits on (the test settings leave them off) and runs once with the state in
a private Redis and once in this process (the embedded default without REDIS_URL).
"""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.models import ProvisioningEvent
from integrations.services import api_key_generate, api_key_revoke
from scim import throttle
from tests.scim.conftest import BASE, ERROR, ScimClient
from tests.scim_hardening.conftest import RedisServer, requests_until_refused

CONFIG = f"{BASE}/ServiceProviderConfig"


@pytest.fixture(params=["redis", "in-process"])
def limiter_store(request, settings) -> str:
    """Where the limiter keeps its state for this test: a private Redis, or this process."""
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("private_redis")
        settings.REDIS_URL = server.url
    else:
        settings.REDIS_URL = ""
    return request.param


def _client_from(ip: str, token: str | None = None) -> ScimClient:
    extra = {"REMOTE_ADDR": ip}
    if token is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return ScimClient(**extra)


def _assert_429(response) -> int:
    assert response.status_code == 429
    assert response["Content-Type"] == "application/scim+json"
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == "429"
    retry_after = response["Retry-After"]
    assert retry_after.isdigit()
    assert int(retry_after) >= 1
    return int(retry_after)


@pytest.mark.django_db
def test_a_key_over_its_rate_gets_429_with_retry_after_and_a_logged_scim_error(
    limiter_store, settings, scim_client, company
):
    settings.QA_SCIM_RATE_LIMIT = 2  # bursts of 4
    statuses = [scim_client.get(CONFIG).status_code for _ in range(12)]

    assert statuses[:4] == [200] * 4
    assert 429 in statuses[4:]
    assert set(statuses) == {200, 429}
    refused = scim_client.get(CONFIG)
    _assert_429(refused)
    assert "2 requests/second per key" in refused.json()["detail"]

    logged = ProvisioningEvent.objects.filter(company=company, status_code=429)
    assert logged.exists()
    assert logged.first().outcome == ProvisioningEvent.Outcome.FAILED
    # Logged once per second per key at most: a client ignoring Retry-After floods nothing.
    assert logged.count() < statuses.count(429) + 1


@pytest.mark.django_db
def test_the_limit_is_per_key_never_global(limiter_store, settings, scim_client, other_scim_client):
    settings.QA_SCIM_RATE_LIMIT = 1
    requests_until_refused(lambda: scim_client.get(CONFIG))
    assert other_scim_client.get(CONFIG).status_code == 200


@pytest.mark.django_db
def test_the_setting_is_read_at_call_time_and_zero_turns_it_off(
    limiter_store, settings, scim_client
):
    settings.QA_SCIM_RATE_LIMIT = 1
    requests_until_refused(lambda: scim_client.get(CONFIG))
    settings.QA_SCIM_RATE_LIMIT = 0
    assert {scim_client.get(CONFIG).status_code for _ in range(30)} == {200}


@pytest.mark.django_db
def test_a_key_sustains_40_requests_per_second_under_the_default_limit(
    limiter_store, settings, scim_client
):
    """Entra's floor is 25/s per tenant; 40/s for 3.5 s is 140 requests, past the burst of 100."""
    settings.QA_SCIM_RATE_LIMIT = 50
    interval = 1 / 40
    started = time.monotonic()
    statuses = []
    for n in range(140):
        # Pacing is the point of this test: the requests must arrive at 40/s, not faster.
        delay = started + n * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        statuses.append(scim_client.get(CONFIG).status_code)
    assert set(statuses) == {200}


@pytest.mark.django_db
def test_a_burst_above_the_rate_is_allowed(limiter_store, settings, scim_client):
    settings.QA_SCIM_RATE_LIMIT = 25
    assert {scim_client.get(CONFIG).status_code for _ in range(45)} == {200}


@pytest.mark.django_db(transaction=True)
def test_the_limiter_adds_no_sql_query(limiter_store, settings, scim_client):
    def queries_of_one_request() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert scim_client.get(f"{BASE}/Users?count=1").status_code == 200
        return len(captured.captured_queries)

    settings.QA_SCIM_RATE_LIMIT = 0
    queries_of_one_request()  # last_used_at is written on the first request of the minute
    without_limit = queries_of_one_request()
    settings.QA_SCIM_RATE_LIMIT = 50
    assert queries_of_one_request() == without_limit


# --- Failed bearer attempts, per client IP ---


@pytest.mark.django_db
def test_failed_bearer_attempts_from_one_ip_are_throttled(
    limiter_store, settings, generated_key, company
):
    settings.QA_SCIM_AUTH_FAILURE_LIMIT = 3
    guesser = _client_from("203.0.113.7", token="qa_scim_notakey")
    assert [guesser.get(CONFIG).status_code for _ in range(3)] == [401] * 3

    refused = guesser.get(CONFIG)
    retry_after = _assert_429(refused)
    assert retry_after <= throttle.AUTH_FAILURE_WINDOW
    assert refused["WWW-Authenticate"].startswith("Bearer")
    # No bearer at all counts as a failure too, and is refused the same way.
    assert _client_from("203.0.113.7").get(CONFIG).status_code == 429

    # Another address is not affected, and a valid key is never refused for its address:
    # Entra calls from Azure addresses that other tenants share.
    assert _client_from("203.0.113.8", token="qa_scim_notakey").get(CONFIG).status_code == 401
    assert _client_from("203.0.113.7", token=generated_key.plaintext).get(CONFIG).status_code == 200


@pytest.mark.django_db
def test_revoked_and_expired_keys_do_not_count_against_the_ip(
    limiter_store, settings, entra_integration, admin_user
):
    settings.QA_SCIM_AUTH_FAILURE_LIMIT = 2
    two_days_ago = timezone.now() - timedelta(days=2)
    expired = api_key_generate(
        integration=entra_integration, created_by=admin_user, now=two_days_ago
    )
    # Its grace period started two days ago, so it is expired by the clock now.
    revoked = api_key_generate(
        integration=entra_integration, created_by=admin_user, now=two_days_ago
    )
    api_key_revoke(api_key=revoked.api_key, revoked_by=admin_user)
    for token in (revoked.plaintext, expired.plaintext):
        client = _client_from("198.51.100.4", token=token)
        assert {client.get(CONFIG).status_code for _ in range(5)} == {401}


@pytest.mark.django_db
def test_the_ip_limit_can_be_turned_off(limiter_store, settings):
    settings.QA_SCIM_AUTH_FAILURE_LIMIT = 0
    guesser = _client_from("198.51.100.9", token="qa_scim_notakey")
    assert {guesser.get(CONFIG).status_code for _ in range(30)} == {401}


# --- The Redis bucket is one atomic bucket for every process ---


def test_processes_sharing_redis_share_one_bucket_atomically(private_redis, settings):
    """Each thread has its own Redis connection pool, as separate web processes would."""
    settings.QA_SCIM_RATE_LIMIT = 5  # bursts of 10
    stores = [throttle._RedisStore(private_redis.url) for _ in range(8)]
    barrier = threading.Barrier(len(stores))
    allowed: list[bool] = []
    lock = threading.Lock()

    def hammer(store) -> None:
        barrier.wait()
        for _ in range(10):
            ok, _wait, _note = store.take("key:shared", rate=5, capacity=10)
            with lock:
                allowed.append(ok)

    started = time.monotonic()
    threads = [threading.Thread(target=hammer, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    # 80 attempts: the burst of 10 plus whatever refilled (5/s) while they ran, never more.
    assert 10 <= allowed.count(True) <= 10 + int(5 * elapsed) + 1


@pytest.mark.django_db
def test_a_revoked_key_is_rate_limited_and_cannot_flood_the_activity_log(
    limiter_store, settings, entra_integration, admin_user, company
):
    settings.QA_SCIM_RATE_LIMIT = 2  # bursts of 4
    settings.QA_SCIM_AUTH_FAILURE_LIMIT = 0
    revoked = api_key_generate(integration=entra_integration, created_by=admin_user)
    api_key_revoke(api_key=revoked.api_key, revoked_by=admin_user)
    client = _client_from("198.51.100.5", token=revoked.plaintext)

    statuses = [client.get(CONFIG).status_code for _ in range(20)]

    assert statuses[:4] == [401] * 4
    assert set(statuses[4:]) <= {401, 429}
    assert 429 in statuses
    _assert_429(client.get(CONFIG))
    logged = ProvisioningEvent.objects.filter(company=company, api_key=revoked.api_key)
    # Each 401 is logged, a refusal at most once a second: never one row per request.
    assert logged.filter(status_code=429).count() < statuses.count(429)
    assert logged.count() < len(statuses)
    assert set(logged.values_list("outcome", flat=True)) == {ProvisioningEvent.Outcome.REJECTED_KEY}
