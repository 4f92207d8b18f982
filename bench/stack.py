"""The stack under test: environment, bench database and fixtures, gunicorn, CPU accounting."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import (
    OUT,
    REPO,
    SCIM,
    Client,
    Tenant,
)

# --------------------------------------------------------------------------- environment


def server_environment(database_url: str) -> dict[str, str]:
    """The environment of the gunicorn server and of this driver's own Django setup."""
    environment = dict(os.environ)
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": database_url,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "QA_BENCH_CEILING": "1",
            # Throughput is measured without the per-tenant limiter (0 = off).
            "QA_SCIM_RATE_LIMIT": "0",
            "DJANGO_LOG_LEVEL": os.environ.get("DJANGO_LOG_LEVEL", "WARNING"),
        }
    )
    return environment


def recreate_database(database_url: str, settings: list[str]) -> None:
    """Drop and create the bench database; refuses any name that does not look like one."""
    import psycopg
    from psycopg import sql

    parts = urllib.parse.urlsplit(database_url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"refusing to recreate {name!r}: the bench database name must say bench")
    maintenance = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        for setting in settings:
            key, _, value = setting.partition("=")
            connection.execute(
                sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                    sql.Identifier(name), sql.Identifier(key), sql.Literal(value)
                )
            )


def setup_django(environment: dict[str, str]) -> None:
    for key in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "DJANGO_ALLOWED_HOSTS"):
        os.environ[key] = environment[key]
    for key in ("DJANGO_SECRET_KEY", "DJANGO_SECURE_SSL_REDIRECT", "QA_BENCH_CEILING"):
        os.environ[key] = environment[key]
    os.environ["QA_SCIM_RATE_LIMIT"] = environment["QA_SCIM_RATE_LIMIT"]
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


# --------------------------------------------------------------------------- fixtures


def tenant_create(slug: str) -> Tenant:
    from integrations.models import Integration
    from integrations.services import api_key_generate, integrations_ensure
    from qaportal.accounts.services.companies import company_create

    company = company_create(slug=slug, name=f"Bench {slug}")
    integration = next(
        i
        for i in integrations_ensure(company=company)
        if i.provider == Integration.Provider.ENTRA_ID
    )
    generated = api_key_generate(integration=integration, created_by=None)
    return Tenant(company_id=company.pk, token=generated.plaintext, name=slug)


def users_seed(*, company_id: int, start: int, count: int, prefix: str) -> list[str]:
    """Bulk-insert learners as SCIM would have stored them; returns their userNames."""
    from qaportal.accounts.models import User

    names = []
    batch = []
    for number in range(start, start + count):
        name = f"{prefix}.{number:06d}@contoso.example"
        names.append(name)
        batch.append(
            User(
                company_id=company_id,
                role=User.Role.LEARNER,
                user_name=name,
                external_id=f"{prefix}-{number:06d}",
                given_name="Given",
                family_name=f"Family{number}",
                formatted_name=f"Given Family{number}",
                display_name=f"Given Family{number}",
                emails=[{"type": "work", "value": name, "primary": True}],
                work_email=name,
                password="!bench-unusable",  # noqa: S106 - an unusable password marker
            )
        )
        if len(batch) == 5000:
            User.objects.bulk_create(batch)
            batch = []
    if batch:
        User.objects.bulk_create(batch)
    return names


def analyze() -> None:
    """VACUUM ANALYZE after a bulk seed: the state autovacuum reaches soon after such a load
    in production (statistics, and a visibility map that lets COUNT use index-only scans).
    This machine's PostgreSQL runs with autovacuum off, so the bench does it explicitly."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


# --------------------------------------------------------------------------- server


@contextmanager
def gunicorn(
    environment: dict[str, str],
    port: int,
    workers: int,
    *,
    app: str = "qaportal.wsgi",
    log_name: str = "gunicorn.log",
    ready_path: str = f"{SCIM}/ServiceProviderConfig",
) -> Iterator[subprocess.Popen]:
    """gunicorn serving `app` on 127.0.0.1:`port` with `workers` sync workers, as the Procfile
    runs the portal; the bare endpoint (bench/bare/) is served by the same command."""
    log_file = (OUT / log_name).open("ab")
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        # The Procfile keeps gunicorn's 30 s default; a longer limit here lets a slow request
        # be measured (and reported as over 30 s) instead of being killed.
        "--timeout",
        "300",
    ]
    process = subprocess.Popen(  # noqa: S603 - a fixed command line
        command, cwd=REPO, env=environment, stdout=log_file, stderr=log_file
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise SystemExit(f"gunicorn exited; see var/bench/{log_name}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn did not start; see var/bench/{log_name}") from None
                time.sleep(0.2)
        # Let both workers boot and import everything before any measurement.
        client = Client(port)
        for _ in range(4):
            client.request("GET", ready_path)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log_file.close()


def bare_environment(database_url: str) -> dict[str, str]:
    """The bare endpoint's environment: its own settings, the bench database."""
    environment = dict(os.environ)
    environment.update(
        {"DJANGO_SETTINGS_MODULE": "bench.bare.settings", "DATABASE_URL": database_url}
    )
    return environment


def bare_prepare(database_url: str, patch_ids: list[str]) -> None:
    """Create the bare endpoint's table in the bench database and the rows its PATCH cycle
    updates (named by the SCIM ids the PATCH script walks)."""
    environment = bare_environment(database_url)
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--verbosity", "0"],
        cwd=REPO,
        env=environment,
        check=True,
    )
    import psycopg

    with (
        psycopg.connect(database_url, autocommit=True) as connection,
        connection.cursor() as cursor,
        cursor.copy("COPY bench_bare_bareuser (user_name, body) FROM STDIN") as copy,
    ):
        for scim_id in patch_ids:
            copy.write_row((scim_id, json.dumps({"userName": scim_id})))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --------------------------------------------------------------------------- CPU accounting


def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [float(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of one process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def worker_pids(master_pid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master_pid:
            pids.append(int(entry.name))
    return pids


# Backends of this driver's own connections (seeding, ANALYZE): not server work.
DRIVER_BACKENDS: set[int] = set()
BENCH_DATABASE = "qaportal_bench"


def driver_backend_register() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        DRIVER_BACKENDS.add(cursor.fetchone()[0])


def backend_pids() -> list[int]:
    """PostgreSQL backends connected to the bench database, except this driver's own.

    Found by their process titles ("postgres: 15/main: postgres qaportal_bench 127.0.0.1…").
    """
    marker = f" {BENCH_DATABASE} ".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in DRIVER_BACKENDS:
            continue
        try:
            title = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"postgres: ") and marker in title:
            pids.append(int(entry.name))
    return pids


class ServerCpu:
    """CPU seconds spent by the gunicorn workers and their PostgreSQL backends over a span.

    Robust where req/s is not: work from other processes on the machine slows a run down
    but does not change much how much CPU one request costs the server. Sampled twice a
    second, so that a backend that goes away (CONN_MAX_AGE recycles connections every
    minute) still counts, give or take half a second of its time.
    """

    def __init__(self, master_pid: int | None) -> None:
        self.master_pid = master_pid
        self.first: dict[str, dict[int, float]] = {"workers": {}, "database": {}}
        self.last: dict[str, dict[int, float]] = {"workers": {}, "database": {}}
        self._sample(initial=True)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _sample(self, initial: bool = False) -> None:
        if self.master_pid is None:
            return
        groups = {"workers": worker_pids(self.master_pid), "database": backend_pids()}
        for name, pids in groups.items():
            for pid in pids:
                cpu = process_cpu_seconds(pid)
                if cpu is None:
                    continue
                # A process first seen after the start began during the span: all its CPU.
                self.first[name].setdefault(pid, cpu if initial else 0.0)
                self.last[name][pid] = cpu

    def _poll(self) -> None:
        while not self._done.wait(0.5):
            self._sample()

    def spent(self) -> dict[str, float]:
        self._done.set()
        self._thread.join()
        self._sample()
        return {
            name: sum(cpu - self.first[name][pid] for pid, cpu in self.last[name].items())
            for name in self.last
        }


def children_cpu_seconds() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system
