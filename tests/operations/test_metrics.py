"""/metrics: Prometheus' text format behind a bearer token, counting real SCIM requests and tasks.

In-process, the test's own registry is scraped (a Celery worker thread runs the task). Under
gunicorn with several workers and a separate Celery worker process, PROMETHEUS_MULTIPROC_DIR
makes the one endpoint sum every process's samples.
"""

import signal
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from integrations.models import ApiKey
from integrations.services import api_key_generate
from integrations.tasks import api_keys_expire_due
from tests.operations.conftest import ROOT, production_env
from tests.scim.conftest import BASE, USER, ScimClient
from tests.servers import wait_until

TOKEN = "metrics-test-token-0123456789abcdefghijklmnop"
SWEEP = "integrations.tasks.api_keys_expire_due"


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition, keyed by (sample name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scraped: dict, name: str, **labels: str) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


def scrape(client: Client) -> dict:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return samples(response.content.decode())


@pytest.fixture
def prometheus(settings) -> Client:
    settings.QA_METRICS_TOKEN = TOKEN
    return Client(HTTP_HOST="10.0.0.9:8000")  # a scraper reaches the backend by its address


def test_metrics_are_off_without_a_token(settings):
    settings.QA_METRICS_TOKEN = ""
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "authorization",
    ["", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer "],
)
def test_metrics_refuse_any_other_token(prometheus, authorization):
    response = prometheus.get("/metrics", HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"qaportal_" not in response.content


def keys_with_one_past_its_deadline(entra_integration, admin_user) -> str:
    """Two keys made a day ago: the first's grace period is over (not yet recorded as
    expired), the second is current. Returns the current key."""
    long_ago = timezone.now() - timedelta(days=1)
    api_key_generate(integration=entra_integration, created_by=admin_user, now=long_ago)
    current = api_key_generate(integration=entra_integration, created_by=admin_user, now=long_ago)
    return current.plaintext


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_metrics_count_scim_requests_celery_tasks_and_key_expiries(
    prometheus, entra_integration, admin_user, purge_queue, start_celery_worker, finished_tasks
):
    current_key = keys_with_one_past_its_deadline(entra_integration, admin_user)
    scim_client = ScimClient(HTTP_AUTHORIZATION=f"Bearer {current_key}")
    purge_queue()
    before = scrape(prometheus)
    assert scim_client.get(f'{BASE}/Users?filter=userName eq "x@contoso.com"').status_code == 200
    for n in range(2):
        body = {"schemas": [USER], "userName": f"metrics{n}@contoso.com"}
        assert scim_client.post_json(f"{BASE}/Users", body).status_code == 201
    assert scim_client.get(f"{BASE}/Users/{uuid.uuid4()}").status_code == 404
    assert Client().get(f"{BASE}/Users", HTTP_AUTHORIZATION="Bearer nope").status_code == 401

    start_celery_worker()
    sweep = api_keys_expire_due.delay()  # the beat sweep records the key past its deadline
    assert wait_until(lambda: sweep.id in finished_tasks, timeout=20)
    after = scrape(prometheus)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "qaportal_scim_requests_total"
    assert delta(requests, operation="filter_users", status="200") == 1
    assert delta(requests, operation="create_user", status="201") == 2
    assert delta(requests, operation="get_user", status="404") == 1
    assert delta(requests, operation="list_users", status="401") == 1
    latency = "qaportal_scim_request_duration_seconds_count"
    assert delta(latency, operation="create_user") == 2
    assert delta("qaportal_celery_tasks_total", task=SWEEP, state="SUCCESS") == 1
    assert delta("qaportal_api_key_expiries_total") == 1
    assert ApiKey.objects.filter(status=ApiKey.Status.EXPIRED).count() == 1


@pytest.mark.django_db
def test_metrics_count_scim_answers_given_before_any_view_runs(prometheus, generated_key):
    """The database going away during the key check is answered 503 by the bearer-key
    middleware itself; that answer is counted like any other."""
    from django.db import OperationalError

    def database_gone(execute, sql, params, many, context):
        raise OperationalError("server closed the connection unexpectedly")

    counter = {"operation": "list_users", "status": "503"}
    before = value(scrape(prometheus), "qaportal_scim_requests_total", **counter)
    with connection.execute_wrapper(database_gone):
        response = Client().get(
            f"{BASE}/Users", HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}"
        )
    assert response.status_code == 503
    after = value(scrape(prometheus), "qaportal_scim_requests_total", **counter)
    assert after - before == 1


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def celery_worker_process(tmp_path):
    """Start a Celery worker process (production settings) on demand; stopped at the end."""
    started: list[subprocess.Popen] = []

    def start(env: dict[str, str]) -> subprocess.Popen:
        log = (tmp_path / "worker.log").open("w")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "qaportal",
                "worker",
                "--pool=solo",
                "--loglevel=WARNING",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            process.send_signal(signal.SIGQUIT)  # Celery's cold shutdown: nothing left to run
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_metrics_sum_every_gunicorn_worker_and_the_celery_worker(
    tmp_path,
    settings,
    entra_integration,
    admin_user,
    purge_queue,
    web_process,
    celery_worker_process,
):
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = production_env(
        DATABASE_URL=_database_url(),
        REDIS_URL=settings.REDIS_URL,
        QA_METRICS_TOKEN=TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(shared),
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
    )
    current_key = keys_with_one_past_its_deadline(entra_integration, admin_user)
    purge_queue()
    web = web_process(env, workers=2)
    celery_worker_process(env)

    headers = {"Authorization": f"Bearer {current_key}"}
    for _ in range(12):
        assert web.get(f"{BASE}/ServiceProviderConfig", headers=headers).status_code == 200
    api_keys_expire_due.delay()  # the worker process records the expired key

    def scraped() -> dict:
        response = web.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200
        return samples(response.text)

    assert wait_until(
        lambda: value(scraped(), "qaportal_celery_tasks_total", task=SWEEP, state="SUCCESS") == 1,
        timeout=30,
        interval=0.2,
    ), web.log()
    metrics = scraped()
    assert (
        value(
            metrics,
            "qaportal_scim_requests_total",
            operation="get_service_provider_config",
            status="200",
        )
        == 12
    )
    assert value(metrics, "qaportal_api_key_expiries_total") == 1
    assert len(list(shared.glob("counter_*.db"))) >= 2  # web workers and the Celery worker
