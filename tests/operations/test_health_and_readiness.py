"""/healthz and /readyz: what a load balancer sees, with the services up, hung and really stopped.

The outage tests stop only private servers started for them (tests/servers.py): a throwaway
PostgreSQL cluster and a private redis-server behind a production gunicorn process.
"""

import json
import logging
import socket
import time

import pytest
from django.test import Client

from qaportal.probes import ProbeAccessLogFilter
from tests.operations.conftest import PUBLIC_HOST, production_env

BACKEND_HOST = "10.20.30.40:8000"  # what a load balancer sends: the backend's address


@pytest.fixture
def load_balancer(settings) -> Client:
    """Plain HTTP, a Host that is not allowed, and production's HTTPS redirect on."""
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = [PUBLIC_HOST]
    return Client(HTTP_HOST=BACKEND_HOST)


@pytest.fixture
def hung_redis_url():
    """A port that accepts connections and never answers."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        yield f"redis://127.0.0.1:{silent.getsockname()[1]}/0"


def test_health_answers_any_host_over_plain_http_without_touching_the_database(load_balancer):
    # No django_db mark: pytest-django refuses any database access in this test.
    response = load_balancer.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    # Any other page of the same request is refused: the Host is not allowed.
    assert load_balancer.get("/login/").status_code == 400


def test_health_answers_head_without_a_body(load_balancer):
    response = load_balancer.head("/healthz")
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.django_db
def test_readiness_is_ok_with_the_database_and_redis_up(load_balancer, caplog):
    with caplog.at_level(logging.DEBUG):
        response = load_balancer.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []


@pytest.mark.django_db
def test_readiness_answers_503_quickly_when_redis_hangs(load_balancer, settings, hung_redis_url):
    settings.CELERY_BROKER_URL = hung_redis_url
    started = time.monotonic()
    response = load_balancer.get("/readyz")

    assert time.monotonic() - started < 2.5
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failed": ["broker"]}


@pytest.mark.django_db
def test_readiness_with_the_embedded_broker_checks_its_folders(load_balancer, settings, tmp_path):
    folder = tmp_path / "celery-broker"
    settings.CELERY_BROKER_URL = "filesystem://localhost/"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
    }
    assert load_balancer.get("/readyz").json() == {"status": "unavailable", "failed": ["broker"]}

    folder.mkdir()
    response = load_balancer.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def _readiness(web) -> tuple[int, dict]:
    response = web.get("/readyz", headers={"Host": BACKEND_HOST})
    return response.status_code, response.json()


def test_readiness_follows_real_outages_of_postgresql_and_redis(
    throwaway_postgres, private_redis, web_process
):
    web = web_process(
        production_env(DATABASE_URL=throwaway_postgres.url, REDIS_URL=private_redis.url)
    )
    assert _readiness(web) == (200, {"status": "ok"})

    throwaway_postgres.ctl("-m", "fast", "stop")
    assert _readiness(web) == (503, {"status": "unavailable", "failed": ["database"]})
    assert web.get("/healthz", headers={"Host": BACKEND_HOST}).status_code == 200

    private_redis.stop()
    started = time.monotonic()
    assert _readiness(web) == (503, {"status": "unavailable", "failed": ["database", "broker"]})
    assert time.monotonic() - started < 2.5

    throwaway_postgres.ctl("start")
    private_redis.start()
    assert _readiness(web) == (200, {"status": "ok"})

    # The same Host on any other path: Django refuses it (and says so in the log).
    assert web.get("/login/", headers={"Host": BACKEND_HOST}).status_code == 400
    # HTTPS is enforced for the public name, not for the probes.
    assert web.get("/login/", headers={"Host": PUBLIC_HOST}).status_code == 301
    probe_body = web.get("/readyz", headers={"Host": "anything.invalid"}).text
    assert json.loads(probe_body) == {"status": "ok"}

    web.stop()
    log = web.log()
    assert "/login/" in log  # access lines are written...
    assert "/readyz" not in log  # ...but none for the probes, not even for their 503s
    assert "/healthz" not in log
    assert "Service Unavailable" not in log


def test_the_development_server_writes_no_access_line_for_the_probes():
    """`make run`'s runserver logs '"GET /path HTTP/1.1" status size' on django.server."""
    server_log = logging.getLogger("django.server")
    access_filter = next(f for f in server_log.filters if isinstance(f, ProbeAccessLogFilter))

    def line(request_line: str) -> logging.LogRecord:
        return server_log.makeRecord(
            "django.server",
            logging.INFO,
            "basehttp.py",
            1,
            '"%s" %s %s',
            (request_line, "200", "16"),
            None,
        )

    assert not access_filter.filter(line("GET /healthz HTTP/1.1"))
    assert not access_filter.filter(line("HEAD /readyz?x=1 HTTP/1.1"))
    assert not access_filter.filter(line("GET /metrics HTTP/1.1"))
    assert access_filter.filter(line("GET /login/ HTTP/1.1"))
