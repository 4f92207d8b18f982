"""A production web process (gunicorn with qaportal.gunicorn_config) started for a test.

It runs the production settings in a subprocess, as a deployment does, on a free port of
127.0.0.1, with the environment a test gives it; its stdout and stderr go to one log file the
test can read. A load balancer's view: plain HTTP, and a Host header that is not in
DJANGO_ALLOWED_HOSTS (the address of the backend).
"""

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

# The real Celery worker of tests/celery, for the metrics of task runs.
from tests.celery.conftest import (  # noqa: F401 - fixtures
    finished_tasks,
    purge_queue,
    redis_broker,
    start_celery_worker,
)
from tests.servers import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_HOST = "portal.qa.example"


@dataclass
class WebProcess:
    origin: str  # http://127.0.0.1:PORT
    process: subprocess.Popen
    log_path: Path

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(f"{self.origin}{path}", timeout=10, allow_redirects=False, **kwargs)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def production_env(**overrides: str) -> dict[str, str]:
    """The test run's environment without its settings, plus production ones and `overrides`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "QA_", "DATABASE_", "REDIS_", "SENTRY_", "PROMETHEUS_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="qaportal.settings.production",
        DJANGO_SECRET_KEY="operations-test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        DJANGO_ALLOWED_HOSTS=PUBLIC_HOST,
        DJANGO_LOG_LEVEL="INFO",
        QA_SCIM_RATE_LIMIT="0",
        QA_SCIM_AUTH_FAILURE_LIMIT="0",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


def start_web_process(env: dict[str, str], log_path: Path, *, workers: int = 1) -> WebProcess:
    port = free_port()
    env = {**env, "PORT": str(port), "WEB_CONCURRENCY": str(workers)}
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "python:qaportal.gunicorn_config",
                "--bind",
                f"127.0.0.1:{port}",
                "qaportal.wsgi",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    web = WebProcess(origin=f"http://127.0.0.1:{port}", process=process, log_path=log_path)

    def answers() -> bool:
        if process.poll() is not None:
            return True  # exited: reported below
        try:
            return web.get("/healthz").status_code == 200
        except requests.RequestException:
            return False

    if not wait_until(answers, timeout=45, interval=0.1) or process.poll() is not None:
        web.stop()
        pytest.fail(f"gunicorn did not start:\n{web.log()}", pytrace=False)
    return web


@pytest.fixture
def web_process(tmp_path: Path) -> Iterator[Callable[..., WebProcess]]:
    """Start production web processes on demand; each is stopped when the test ends."""
    started: list[WebProcess] = []

    def start(env: dict[str, str], *, workers: int = 1) -> WebProcess:
        web = start_web_process(env, tmp_path / f"web-{len(started)}.log", workers=workers)
        started.append(web)
        return web

    try:
        yield start
    finally:
        for web in started:
            web.stop()
