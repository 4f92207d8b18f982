"""Prometheus metrics of QA Portal (prometheus_client) and their exposition.

Four metrics of our own, labelled by a small fixed set of values (never a company, key or user):

- `qaportal_scim_requests_total{operation,status}`: SCIM requests answered (the activity log's
  operation, e.g. `create_user`, and the HTTP status code);
- `qaportal_scim_request_duration_seconds{operation}`: their latency, as a histogram;
- `qaportal_celery_tasks_total{task,state}`: Celery task runs by task name and final state
  (SUCCESS, FAILURE, RETRY, ...);
- `qaportal_api_key_expiries_total`: keys recorded as expired at the end of their grace period.

gunicorn runs several worker processes, and the Celery worker is another: with
PROMETHEUS_MULTIPROC_DIR set in their environment (a folder they share, empty when the
deployment starts), each process writes its samples to files there and the exposition sums
them. Without it, each process serves its own samples (`make run`, the tests).

The exposition is served at /metrics by qaportal.probes, behind QA_METRICS_TOKEN.
"""

import functools
import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

SCIM_REQUESTS = Counter(
    "qaportal_scim_requests",
    "SCIM requests answered, by operation and HTTP status code.",
    ["operation", "status"],
)
# Entra gives up on a request after about 10 s; most answers take a few milliseconds.
SCIM_REQUEST_SECONDS = Histogram(
    "qaportal_scim_request_duration_seconds",
    "Time from the SCIM request's arrival at the bearer check to its answer.",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CELERY_TASKS = Counter(
    "qaportal_celery_tasks",
    "Celery task runs finished, by task name and state.",
    ["task", "state"],
)
API_KEY_EXPIRIES = Counter(
    "qaportal_api_key_expiries",
    "API keys recorded as expired at the end of their grace period.",
)


@functools.lru_cache(maxsize=512)
def _scim_series(operation: str, status: int) -> tuple:
    # labels() looks its child up under a lock on every call; the few (operation, status)
    # pairs are found once per process instead (operations are a fixed vocabulary).
    return (
        SCIM_REQUESTS.labels(operation=operation, status=str(status)),
        SCIM_REQUEST_SECONDS.labels(operation=operation),
    )


def observe_scim_request(*, operation: str, status: int, started: float) -> None:
    """Count one answered SCIM request; `started` is its `time.monotonic()` at arrival."""
    requests, seconds = _scim_series(operation or "unknown", status)
    requests.inc()
    seconds.observe(time.monotonic() - started)


def observe_celery_task(*, task_name: str, state: str) -> None:
    """Count one finished task run (connected to Celery's task_postrun in qaportal/celery.py)."""
    CELERY_TASKS.labels(task=task_name or "unknown", state=state or "UNKNOWN").inc()


def observe_api_key_expiry() -> None:
    """Count one key whose expiry was recorded (called once that record commits)."""
    API_KEY_EXPIRIES.inc()


def exposition() -> tuple[bytes, str]:
    """The current samples in Prometheus' text format, and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
