"""A real Celery worker on Redis, started in this process for the test that asks for it.

The broker is the Redis of REDIS_URL (the test settings read it); its database index comes
from the environment, so parallel suites on one Redis use separate databases.
"""

import time
from collections import defaultdict
from collections.abc import Callable, Iterator

import pytest
from celery.contrib.testing.worker import TestWorkController, start_worker
from celery.signals import task_postrun, task_received
from django.conf import settings
from django.db import connections

from qaportal.celery import app as celery_app
from tests.brokers import broker_url_set

# Generous bound for a 2-second grace period on a loaded CI machine; polling stops as soon as
# the expected state is seen, so a passing test takes about the grace period.
POLL_TIMEOUT = 20.0
POLL_INTERVAL = 0.1


def wait_for(predicate: Callable[[], bool], *, timeout: float = POLL_TIMEOUT) -> bool:
    """Poll `predicate` until it holds or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(POLL_INTERVAL)
    return predicate()


@pytest.fixture
def redis_broker() -> str:
    """The Redis broker of this test run; the Celery tests need one."""
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set: the Celery tests run a worker on Redis")
    assert celery_app.conf.broker_url == settings.REDIS_URL
    return settings.REDIS_URL


def _close_worker_db_connections(**kwargs: object) -> None:
    # The worker thread's connections would otherwise outlive the test and keep the test
    # database open when pytest-django drops it.
    connections.close_all()


@pytest.fixture
def start_celery_worker(redis_broker: str) -> Iterator[Callable[[], TestWorkController]]:
    """Start a solo-pool worker thread on demand (after the test has set up its keys).

    Messages left in the queue by earlier runs are purged first, so the worker only sees what
    this test published. The worker is stopped when the test ends.
    """
    contexts = []

    def start() -> TestWorkController:
        context = start_worker(
            celery_app,
            pool="solo",
            perform_ping_check=False,
            loglevel="WARNING",
            shutdown_timeout=10.0,
        )
        contexts.append(context)
        return context.__enter__()

    task_postrun.connect(_close_worker_db_connections, weak=False)
    try:
        yield start
    finally:
        for context in reversed(contexts):
            context.__exit__(None, None, None)
        task_postrun.disconnect(_close_worker_db_connections)


@pytest.fixture
def finished_tasks() -> Iterator[dict[str, list[str]]]:
    """The runs of each task id the worker has finished, as states ("SUCCESS", "RETRY")."""
    finished: dict[str, list[str]] = defaultdict(list)

    def record(task_id: str, state: str | None = None, **kwargs: object) -> None:
        finished[task_id].append(state or "")

    task_postrun.connect(record, weak=False)
    try:
        yield finished
    finally:
        task_postrun.disconnect(record)


@pytest.fixture
def received_tasks() -> Iterator[list[str]]:
    """Ids of the tasks the worker has received (an eta task is received long before it runs)."""
    received: list[str] = []

    def record(request: object, **kwargs: object) -> None:
        received.append(request.id)

    task_received.connect(record, weak=False)
    try:
        yield received
    finally:
        task_received.disconnect(record)


@pytest.fixture
def received_tasks_by_name() -> Iterator[dict[str, list[str]]]:
    """Ids of the tasks the worker has received, by task name."""
    received: dict[str, list[str]] = defaultdict(list)

    def record(request: object, **kwargs: object) -> None:
        received[request.name].append(request.id)

    task_received.connect(record, weak=False)
    try:
        yield received
    finally:
        task_received.disconnect(record)


@pytest.fixture
def purge_queue(redis_broker: str) -> Callable[[], int]:
    """Drop every message waiting in the task queue of this test's Redis database."""
    return lambda: celery_app.control.purge()


@pytest.fixture
def unreachable_broker() -> Iterator[str]:
    """Point the Celery app at a port where no broker listens, then restore it."""
    with broker_url_set("redis://127.0.0.1:1/0") as url:
        yield url
