"""Health, readiness and metrics, answered before anything else of the site runs.

`ProbesMiddleware` is first in MIDDLEWARE and answers three paths itself (GET or HEAD):

- `/healthz`: the process answers. Touches nothing (no database, cache or broker).
- `/readyz`: the database and the broker answer within READINESS_TIMEOUT seconds. 200
  `{"status": "ok"}`, else 503 `{"status": "unavailable", "failed": ["database", "broker"]}`
  (the broker is Redis with REDIS_URL, whose server is also the cache; otherwise the
  filesystem broker's folders).
- `/metrics`: Prometheus' text format (qaportal.metrics), for a bearer token equal to
  QA_METRICS_TOKEN; 404 while that is unset, 401 for any other token.

A load balancer or Prometheus reaches a backend by its address over plain HTTP, so these paths
are answered before SecurityMiddleware (no HTTPS redirect) and without reading the Host header
(Django validates it against ALLOWED_HOSTS only when something asks for it). They log nothing,
are not rate-limited, and say nothing beyond the body above: no version, host name or error.
"""

import hashlib
import hmac
import json
import logging
import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse

from . import metrics

# Seconds each readiness check may take; the answer comes within about this long.
READINESS_TIMEOUT = 1.5

# A check that hangs holds one of these threads until its own timeout ends it, never the
# request: the answer is given at READINESS_TIMEOUT whatever the checks are doing.
_readiness_checks = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readiness")


def database_answers(*, timeout: float) -> bool:
    """A new connection to the default database runs `SELECT 1` (never a pooled connection)."""
    connection = connections.create_connection(DEFAULT_DB_ALIAS)
    options = dict(connection.settings_dict.get("OPTIONS") or {})
    if connection.vendor == "postgresql":
        options["connect_timeout"] = max(2, math.ceil(timeout))  # libpq's minimum is 2 s
    elif connection.vendor == "sqlite":
        options["timeout"] = timeout
    connection.settings_dict = {**connection.settings_dict, "OPTIONS": options}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    finally:
        connection.close()


def broker_answers(*, timeout: float) -> bool:
    """Redis answers PING, or the filesystem broker's folders exist and are writable."""
    url = str(settings.CELERY_BROKER_URL)
    if url.startswith(("redis://", "rediss://")):
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    folders = [options.get("data_folder_in"), options.get("data_folder_out")]
    return all(
        folder and os.path.isdir(folder) and os.access(folder, os.W_OK) for folder in folders
    )


READINESS_CHECKS: dict[str, Callable[..., bool]] = {
    "database": database_answers,
    "broker": broker_answers,
}


def _passes(check: Callable[..., bool], timeout: float) -> bool:
    # Whatever a check raises (refused, timed out, bad credentials) means "not ready"; the
    # probe answers 503, never a 500 with error text.
    try:
        return check(timeout=timeout)
    except Exception:
        return False


def readiness_failures(*, timeout: float = READINESS_TIMEOUT) -> list[str]:
    """The names of the checks that fail or take longer than `timeout`, run side by side."""
    futures = {
        name: _readiness_checks.submit(_passes, check, timeout)
        for name, check in READINESS_CHECKS.items()
    }
    done, _ = wait(futures.values(), timeout=timeout)
    return [name for name, future in futures.items() if future not in done or not future.result()]


def _answer(request: HttpRequest, status: int, body: bytes, content_type: str) -> HttpResponse:
    response = HttpResponse(
        b"" if request.method == "HEAD" else body, status=status, content_type=content_type
    )
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    # Django logs every 4xx/5xx answer (the django.request logger); a probe logs nothing.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _json(request: HttpRequest, status: int, body: dict) -> HttpResponse:
    return _answer(request, status, json.dumps(body).encode(), "application/json")


def health(request: HttpRequest) -> HttpResponse:
    return _json(request, 200, {"status": "ok"})


def readiness(request: HttpRequest) -> HttpResponse:
    failed = readiness_failures()
    if failed:
        return _json(request, 503, {"status": "unavailable", "failed": failed})
    return _json(request, 200, {"status": "ok"})


def _bearer_matches(request: HttpRequest, expected: str) -> bool:
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    # Digests of equal length, compared in constant time: neither the token nor its length
    # leaks through timing.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        hashlib.sha256(given.strip().encode()).digest(),
        hashlib.sha256(expected.encode()).digest(),
    )


def metrics_exposition(request: HttpRequest) -> HttpResponse:
    token = settings.QA_METRICS_TOKEN
    if not token:
        return _answer(request, 404, b"Not Found\n", "text/plain")
    if not _bearer_matches(request, token):
        response = _answer(request, 401, b"Unauthorized\n", "text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = metrics.exposition()
    return _answer(request, 200, body, content_type)


PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": health,
    "/readyz": readiness,
    "/metrics": metrics_exposition,
}


class ProbesMiddleware:
    """First in MIDDLEWARE: answers PROBES' paths; every other request goes on unchanged."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)


class ProbeAccessLogFilter(logging.Filter):
    """Drops the development server's access lines for PROBES' paths (`make run`); gunicorn's
    logger does the same in production (qaportal/gunicorn_config.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # runserver logs '"%s" %s %s' with the request line first: "GET /healthz HTTP/1.1".
        request_line = str(record.args[0]).split() if isinstance(record.args, tuple) else []
        return not (len(request_line) > 1 and request_line[1].split("?")[0] in PROBES)
