"""SCIM under real infrastructure faults.

Faults are injected only into servers started here: a private redis-server, and a throwaway
PostgreSQL cluster (initdb in a temporary folder) behind a gunicorn process with the production
settings. The shared PostgreSQL (5432) and Redis (6379) are never touched.
"""

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import requests
import time_machine
from django.conf import settings
from django.utils import timezone

from integrations.models import ApiKey
from integrations.services import api_key_generate, api_key_revoke, api_keys_expire_due
from scim import throttle
from tests.brokers import broker_url_set
from tests.scim.conftest import BASE, ERROR, ScimClient
from tests.scim_hardening.conftest import requests_until_refused
from tests.servers import PostgresCluster, RedisServer, free_port, wait_until

pytestmark = pytest.mark.faults

CONFIG = f"{BASE}/ServiceProviderConfig"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_limiter(monkeypatch) -> None:
    """A limiter with no memory of earlier Redis failures (warnings are rate-limited)."""
    monkeypatch.setattr(throttle, "_stores", throttle._Stores())


def _assert_scim_503(response_status: int, headers, body: dict) -> None:
    assert response_status == 503
    assert body["schemas"] == [ERROR]
    assert body["status"] == "503"
    assert headers["Retry-After"].isdigit()


# --- Redis down ---


@pytest.mark.django_db
def test_with_redis_down_the_same_limits_hold_in_the_process_and_it_says_so(
    private_redis: RedisServer, settings, fresh_limiter, monkeypatch, generated_key, caplog
):
    settings.REDIS_URL = private_redis.url
    settings.QA_SCIM_RATE_LIMIT = 1  # bursts of 2
    settings.QA_SCIM_AUTH_FAILURE_LIMIT = 3
    monkeypatch.setattr(throttle, "REDIS_RETRY_AFTER_FAILURE", 0.5)  # 5 s in production
    client = ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")
    requests_until_refused(lambda: client.get(CONFIG))  # the bucket is in this Redis

    private_redis.stop()
    guesser = ScimClient(REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer qa_scim_notakey")
    with caplog.at_level(logging.WARNING, logger="scim.throttle"):
        statuses = [client.get(CONFIG).status_code for _ in range(6)]
        guesses = [guesser.get(CONFIG).status_code for _ in range(5)]
    # The process's own bucket starts full (a burst of 2) and then refuses, as Redis's did.
    assert statuses[:2] == [200, 200]
    assert statuses.count(429) >= 3
    assert guesses == [401, 401, 401, 429, 429]
    warnings = [r for r in caplog.records if "kept per process" in r.getMessage()]
    assert len(warnings) == 1  # once, not once per request

    # Redis back: once the retry pause is over, the buckets are in Redis again.
    private_redis.start()
    redis_client = redis.Redis.from_url(private_redis.url)
    try:
        assert wait_until(
            lambda: (
                client.get(CONFIG) is not None
                and bool(redis_client.keys(f"{throttle.KEY_PREFIX}*"))
            ),
            timeout=5,
        )
    finally:
        redis_client.close()


@pytest.mark.django_db
def test_with_redis_hung_scim_answers_quickly(settings, fresh_limiter, generated_key):
    """A Redis that accepts connections but never answers costs one short timeout, once."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        settings.REDIS_URL = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        settings.QA_SCIM_RATE_LIMIT = 5  # bursts of 10: every request below is within it
        client = ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")
        started = time.monotonic()
        statuses = [client.get(CONFIG).status_code for _ in range(10)]
        elapsed = time.monotonic() - started
    assert statuses == [200] * 10
    assert elapsed < 3 * throttle.REDIS_TIMEOUT + 2


@pytest.fixture
def broker_on(private_redis: RedisServer) -> Iterator[RedisServer]:
    """Celery publishes to the private Redis for this test."""
    with broker_url_set(private_redis.url):
        yield private_redis


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_keys_are_generated_and_expire_on_time(
    broker_on: RedisServer, entra_integration, admin_user
):
    first = api_key_generate(integration=entra_integration, created_by=admin_user)
    broker_on.stop()

    started = time.monotonic()
    second = api_key_generate(integration=entra_integration, created_by=admin_user)
    assert time.monotonic() - started < 15  # the publish retries are bounded
    client = ScimClient(HTTP_AUTHORIZATION=f"Bearer {second.plaintext}")
    assert client.get(CONFIG).status_code == 200

    first.api_key.refresh_from_db()
    deadline = first.api_key.expires_at
    assert deadline is not None
    old_client = ScimClient(HTTP_AUTHORIZATION=f"Bearer {first.plaintext}")
    assert old_client.get(CONFIG).status_code == 200  # in its grace period
    with time_machine.travel(deadline + timedelta(seconds=1), tick=False):
        # No task ran (no broker): authentication refuses the key by the clock alone.
        assert old_client.get(CONFIG).status_code == 401
        assert client.get(CONFIG).status_code == 200
        # The beat sweep records what the lost task would have.
        assert api_keys_expire_due(now=timezone.now()) == 1
    first.api_key.refresh_from_db()
    assert first.api_key.status == ApiKey.Status.EXPIRED


@pytest.mark.django_db(transaction=True)
def test_a_hung_broker_never_stalls_a_scim_request(entra_integration, admin_user):
    """Entra still sending a revoked key queues an email to the admins; a broker that accepts
    connections and never answers costs that request about one short publish timeout, and
    the claim is given back so a later request queues the email again."""
    import socket

    revoked = api_key_generate(integration=entra_integration, created_by=admin_user)
    api_key_revoke(api_key=revoked.api_key, revoked_by=admin_user)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        with broker_url_set(f"redis://127.0.0.1:{silent.getsockname()[1]}/0"):
            client = ScimClient(HTTP_AUTHORIZATION=f"Bearer {revoked.plaintext}")
            started = time.monotonic()
            response = client.get(CONFIG)
            elapsed = time.monotonic() - started
    assert response.status_code == 401
    assert elapsed < 4 * settings.QA_ENQUEUE_TIMEOUT_SECONDS + 1
    revoked.api_key.refresh_from_db()
    assert revoked.api_key.rejected_use_notified_at is None  # given back: not lost


# --- PostgreSQL restarted under a live server ---


def _server_env(cluster: PostgresCluster) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "QA_", "DATABASE_", "REDIS_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="qaportal.settings.production",
        DATABASE_URL=cluster.url,
        DJANGO_SECRET_KEY="fault-test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        # The embedded broker (no Redis): key generation publishes nothing for a first key.
        REDIS_URL="",
        QA_SCIM_RATE_LIMIT="0",
        DJANGO_LOG_LEVEL="WARNING",
    )
    return env


@pytest.fixture
def live_server_on(
    throwaway_postgres: PostgresCluster,
) -> Iterator[tuple[str, str, PostgresCluster]]:
    """gunicorn (2 sync workers, persistent DB connections) on the throwaway cluster."""
    env = _server_env(throwaway_postgres)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, timeout=120, cwd=ROOT)  # noqa: S603
    subprocess.run(  # noqa: S603
        [
            *manage,
            "create_company",
            "faultco",
            "--name",
            "Fault Co",
            "--admin-email",
            "admin@faultco.test",
            "--admin-password",
            "-",
        ],
        input=b"a long fault-test password 0123\n",
        env=env,
        check=True,
        timeout=60,
        cwd=ROOT,
        capture_output=True,
    )
    generated = subprocess.run(  # noqa: S603
        [*manage, "generate_api_key", "faultco"],
        env=env,
        check=True,
        timeout=60,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    token = generated.stdout.strip().splitlines()[-1]
    port = free_port()
    log = open(throwaway_postgres.data_dir.parent / "gunicorn.log", "w")  # noqa: SIM115
    server = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "qaportal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--timeout",
            "30",
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}{BASE}"
    try:
        assert wait_until(lambda: _answers(base), timeout=30), "gunicorn did not start"
        yield base, token, throwaway_postgres
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _answers(base: str) -> bool:
    try:
        return requests.get(f"{base}/ServiceProviderConfig", timeout=2).status_code == 401
    except requests.RequestException:
        return False


def _scim(session: requests.Session, base: str, n: int) -> requests.Response:
    if n % 2:
        return session.get(f"{base}/Users", params={"count": 5}, timeout=15)
    body = {"userName": f"fault{n}-{time.monotonic_ns()}@example.com", "active": True}
    return session.post(
        f"{base}/Users",
        json=body,
        headers={"Content-Type": "application/scim+json"},
        timeout=15,
    )


@pytest.mark.django_db(transaction=True)
def test_a_postgresql_restart_answers_503_then_recovers(live_server_on):
    base, token, cluster = live_server_on
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    # Both workers hold a persistent connection (CONN_MAX_AGE) before the restart.
    assert {_scim(session, base, n).status_code for n in range(8)} == {200, 201}

    answers: list[requests.Response] = []
    stop = threading.Event()

    def traffic() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                answers.append(_scim(session, base, n))
            except requests.RequestException as exc:  # a hang or a dropped connection
                answers.append(exc)  # type: ignore[arg-type]

    sender = threading.Thread(target=traffic)
    sender.start()
    time.sleep(0.3)
    cluster.ctl("-m", "fast", "restart")
    time.sleep(0.3)
    stop.set()
    sender.join(timeout=30)

    # Whether a request happens to be in flight during the fast restart is timing: the answers
    # must be successes or SCIM 503s either way. The outage itself is shown deterministically
    # below, with PostgreSQL stopped.
    assert len(answers) >= 2, answers
    for answer in answers:
        assert isinstance(answer, requests.Response), answer
        assert answer.status_code in {200, 201, 503}, (answer.status_code, answer.text[:300])
        if answer.status_code == 503:
            _assert_scim_503(answer.status_code, answer.headers, answer.json())

    # After the restart every worker's next request succeeds or is a 503, then they succeed.
    first = [_scim(session, base, n).status_code for n in range(4)]
    assert set(first) <= {200, 201, 503}, first
    assert {_scim(session, base, n).status_code for n in range(6)} <= {200, 201}

    # PostgreSQL down: a quick SCIM 503 with Retry-After, never a hang or an HTML 500.
    cluster.ctl("-m", "fast", "stop")
    started = time.monotonic()
    for n in range(4):
        answer = _scim(session, base, n)
        _assert_scim_503(answer.status_code, answer.headers, answer.json())
    assert time.monotonic() - started < 20
    cluster.ctl("start")
    first = [_scim(session, base, n).status_code for n in range(4)]
    assert set(first) <= {200, 201, 503}, first
    assert {_scim(session, base, n).status_code for n in range(6)} <= {200, 201}
