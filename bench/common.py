"""Shared by the bench modules: paths, targets, the light HTTP client, small helpers."""

from __future__ import annotations

import http.client
import json
import sys
import time
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "var" / "bench"
LUA = REPO / "bench" / "lua"
SCIM = "/webhooks/ad/v1/scim"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/qaportal_bench"

# The performance targets `make bench` checks (README, Performance).
TARGET_CYCLE_RATIO = 0.6
# Against the bare endpoint: the same ratio, and p99 at most this multiple of the bare one.
TARGET_BARE_RATIO = 0.6
TARGET_BARE_P99_MULTIPLE = 2.0
TARGET_FILTER_SCALE = 1.2
TARGET_LIST_SCALE = 1.5
TARGET_INITIAL_RPS = 25.0
TARGET_PEOPLE_P50_MS = 100.0
TARGET_INITIAL_P99_MS = 100.0


def log(message: str) -> None:
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Endpoint:
    """A server under test: `scim` (the portal's SCIM endpoint), `ceiling` (plain Django views
    on the portal's stack) or `bare` (a Django project of two middlewares and one model)."""

    name: str
    port: int
    master_pid: int
    base: str  # the path wrk's scripts prefix: "/webhooks/ad/v1/scim", "/bare", …


@dataclass
class Tenant:
    company_id: int
    token: str
    name: str


# --------------------------------------------------------------------------- light HTTP client


class Client:
    """One keep-alive-when-possible HTTP/1.1 connection to 127.0.0.1, timing each request."""

    def __init__(self, port: int, token: str = "") -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.headers = {"Host": "127.0.0.1", "Accept": "application/scim+json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes, float]:
        headers = dict(self.headers)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/scim+json"
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=payload, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # gunicorn's sync workers close idle connections: reconnect once.
            self.connection.close()
            started = time.perf_counter()
            self.connection.request(method, path, body=payload, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        elapsed = time.perf_counter() - started
        if response.will_close:
            self.connection.close()
        return response.status, data, elapsed


def filter_path(resource: str, attribute: str, value: str, extra: str = "") -> str:
    query = urllib.parse.quote(f'{attribute} eq "{value}"', safe="")
    return f"{SCIM}/{resource}?{extra}filter={query}"


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 200 samples is the 198th smallest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)
