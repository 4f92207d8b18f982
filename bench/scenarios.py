"""Latency probes at 1k/100k users, the big group PATCH and the Entra initial cycle."""

from __future__ import annotations

import json
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.common import (
    SCIM,
    TARGET_FILTER_SCALE,
    TARGET_INITIAL_P99_MS,
    TARGET_INITIAL_RPS,
    TARGET_LIST_SCALE,
    TARGET_PEOPLE_P50_MS,
    Client,
    Tenant,
    filter_path,
    log,
    ms,
    percentile,
)
from bench.stack import (
    ServerCpu,
    analyze,
    driver_backend_register,
    users_seed,
)

# --------------------------------------------------------------------------- latency probes


@dataclass
class Probe:
    """One kind of request of the latency probes: its paths, the check of its answer."""

    paths: Callable[[int], str]
    requests: int
    check: Callable[[bytes], bool]
    latencies: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    # An untimed request sent just before each timed one (the page a client reads first).
    before: Callable[[int], str] | None = None

    def summary(self) -> dict:
        return {
            "requests": len(self.latencies),
            "p50_ms": ms(percentile(self.latencies, 0.50)),
            "p99_ms": ms(percentile(self.latencies, 0.99)),
            "failures": self.failures,
        }


def total_results(expected: int) -> Callable[[bytes], bool]:
    def check(body: bytes) -> bool:
        try:
            return json.loads(body).get("totalResults") == expected
        except ValueError:
            return False

    return check


def list_page_check(size: int) -> Callable[[bytes], bool]:
    def check(body: bytes) -> bool:
        try:
            payload = json.loads(body)
        except ValueError:
            return False
        return payload.get("totalResults") == size and len(payload.get("Resources", [])) == 100

    return check


def scale_probes(client: Client, names: list[str], size: int, requests: int) -> dict[str, Probe]:
    rng = random.Random(size)  # noqa: S311 - reproducible picks, not secrets
    picks = [rng.choice(names) for _ in range(requests)]
    return {
        "filter_userName_hit": Probe(
            lambda n: filter_path("Users", "userName", picks[n]), requests, total_results(1)
        ),
        # Entra's match query in an initial cycle mostly finds nothing.
        "filter_userName_miss": Probe(
            lambda n: filter_path("Users", "userName", f"absent-{size}-{n}@contoso.example"),
            requests,
            total_results(0),
        ),
        "filter_externalId": Probe(
            lambda n: filter_path(
                "Users", "externalId", picks[n].split("@")[0].replace(".", "-", 1)
            ),
            requests // 2,
            total_results(1),
        ),
        "list_first_page": Probe(
            lambda n: f"{SCIM}/Users?startIndex=1&count=100", requests // 2, list_page_check(size)
        ),
        # The last page as a paging client reaches it, right after the page before it: a
        # keyset seek from where that page ended (scim/paging.py).
        "list_last_page": Probe(
            lambda n: f"{SCIM}/Users?startIndex={size - 99}&count=100",
            requests // 4,
            list_page_check(size),
            before=lambda n: f"{SCIM}/Users?startIndex={size - 199}&count=100",
        ),
        # Far pages asked directly walk the index (OFFSET): shown for information.
        "list_last_page_direct": Probe(
            lambda n: f"{SCIM}/Users?startIndex={size - 100}&count=100",
            requests // 4,
            list_page_check(size),
        ),
    }


def scale(port: int, small: Tenant, large: Tenant, requests: int, large_size: int) -> dict:
    """The same probes on a company of 1,000 users and one of `large_size`, side by side.

    Both companies live in the same tables and are probed in turn, request by request (small,
    then large, for each kind): the machine's noise, the database's caches and autovacuum's
    state are the same for both, so their ratio is the cost of size alone. (Measuring 1,000
    users first and 100,000 later, as this bench once did, compared two moments of a shared
    machine: the verdict moved from run to run.)
    """
    log(f"scale: seeding 1,000 and {large_size:,} users in two companies (bulk insert)")
    small_names = users_seed(company_id=small.company_id, start=0, count=1000, prefix="small")
    started = time.monotonic()
    large_names = users_seed(company_id=large.company_id, start=0, count=large_size, prefix="scale")
    seed_seconds = time.monotonic() - started
    analyze()
    clients = {"small": Client(port, small.token), "large": Client(port, large.token)}
    probes = {
        "small": scale_probes(clients["small"], small_names, 1000, requests),
        "large": scale_probes(clients["large"], large_names, large_size, requests),
    }
    # A first request of each kind warms the workers' caches; it is not counted.
    for size, kinds in probes.items():
        for one in kinds.values():
            clients[size].request("GET", one.paths(0))
    started = time.monotonic()
    for number in range(requests):
        for kind in probes["small"]:
            for size in ("small", "large"):
                one = probes[size][kind]
                if number >= one.requests:
                    continue
                if one.before is not None:
                    clients[size].request("GET", one.before(number))
                status, body, elapsed = clients[size].request("GET", one.paths(number))
                one.latencies.append(elapsed)
                if status != 200 or not one.check(body):
                    key = str(status) if status != 200 else "bad body"
                    one.failures[key] = one.failures.get(key, 0) + 1
        if time.monotonic() - started > 120:
            break
    summary = {
        size: {"users": 1000 if size == "small" else large_size}
        | {kind: one.summary() for kind, one in kinds.items()}
        for size, kinds in probes.items()
    }
    ratios = {
        kind: round(summary["large"][kind]["p50_ms"] / summary["small"][kind]["p50_ms"], 3)
        for kind in probes["small"]
        if summary["small"][kind]["p50_ms"]
    }
    return {
        "small": summary["small"],
        "large": summary["large"],
        "seed_seconds": round(seed_seconds, 1),
        "p50_ratio_large_over_small": ratios,
        "meets_filter_target": ratios["filter_userName_hit"] <= TARGET_FILTER_SCALE,
        "meets_list_target": ratios["list_first_page"] <= TARGET_LIST_SCALE,
        "meets_last_page_target": ratios["list_last_page"] <= TARGET_LIST_SCALE,
    }


# --------------------------------------------------------------------------- groups


def group_create(client: Client, display_name: str) -> tuple[int, str | None, float]:
    status, body, elapsed = client.request(
        "POST",
        f"{SCIM}/Groups",
        {
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:Group",
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
            ],
            "externalId": str(uuid.uuid4()),
            "displayName": display_name,
            "meta": {"resourceType": "Group"},
        },
    )
    group_id = json.loads(body).get("id") if status == 201 else None
    return status, group_id, elapsed


def members_add_body(member_ids: list[str]) -> dict:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "Add",
                "path": "members",
                "value": [{"$ref": None, "value": member_id} for member_id in member_ids],
            }
        ],
    }


def big_group_patch(port: int, tenant: Tenant, members: int, repeats: int) -> dict:
    from qaportal.accounts.models import Group, User

    client = Client(port, tenant.token)
    member_ids = [
        str(scim_id)
        for scim_id in User.objects.filter(company_id=tenant.company_id)
        .order_by("?")
        .values_list("scim_id", flat=True)[:members]
    ]
    timings = []
    for number in range(repeats):
        status, group_id, _ = group_create(client, f"Bench big group {number}")
        if group_id is None:
            return {"error": f"POST /Groups answered {status}", "timings_ms": timings}
        status, _body, elapsed = client.request(
            "PATCH", f"{SCIM}/Groups/{group_id}", members_add_body(member_ids)
        )
        stored = Group.objects.get(scim_id=group_id).members.count()
        timings.append({"status": status, "ms": ms(elapsed), "members_stored": stored})
        log(f"group PATCH +{members}: {status} in {ms(elapsed)} ms, {stored} members stored")
        if status not in (200, 204) or elapsed > 30:
            break
    # Re-adding the same members must be a no-op (docs/entra-behaviour.md), and as cheap.
    status, _body, elapsed = client.request(
        "PATCH", f"{SCIM}/Groups/{group_id}", members_add_body(member_ids)
    )
    return {
        "members": members,
        "runs": timings,
        "median_ms": statistics.median(t["ms"] for t in timings),
        "readd_same_members": {"status": status, "ms": ms(elapsed)},
    }


# --------------------------------------------------------------------------- initial cycle


@dataclass
class CycleStats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, status: int, expected: tuple[int, ...], elapsed: float) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(elapsed)
            if status not in expected:
                key = f"{kind} {status}"
                self.failures[key] = self.failures.get(key, 0) + 1


def run_jobs(
    jobs: list,
    work: Callable[[Client, object], None],
    port: int,
    token: str,
    clients: int,
    deadline: float,
    stopped: threading.Event,
) -> None:
    """Run jobs in order on `clients` threads, each with its own connection, until the cap."""
    pending = iter(jobs)
    lock = threading.Lock()

    def worker() -> None:
        client = Client(port, token)
        while not stopped.is_set():
            with lock:
                job = next(pending, None)
            if job is None:
                return
            if time.monotonic() > deadline:
                stopped.set()
                return
            work(client, job)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def initial_cycle(
    port: int,
    tenant: Tenant,
    users: int,
    groups: int,
    batch: int,
    clients: int,
    cap: float,
    autoanalyze: float = 0.0,
    master_pid: int | None = None,
) -> dict:
    """Entra's first cycle: match + create every user, then create groups and add members.

    Users first, then groups created empty and filled by Add-members PATCHes
    (docs/entra-behaviour.md), since members can only be referenced once they exist.
    """
    stats = CycleStats()
    created: dict[int, str] = {}
    group_ids: dict[int, str] = {}
    deadline = time.monotonic() + cap
    stopped = threading.Event()

    def user_job(client: Client, number: int) -> None:
        name = f"entra.{number:06d}@contoso.example"
        status, body, elapsed = client.request("GET", filter_path("Users", "userName", name))
        stats.record("match", status, (200,), elapsed)
        if status != 200 or json.loads(body).get("totalResults") != 0:
            return
        status, body, elapsed = client.request(
            "POST",
            f"{SCIM}/Users",
            {
                "schemas": [
                    "urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                ],
                "externalId": str(uuid.uuid4()),
                "userName": name,
                "active": True,
                "displayName": f"Entra User {number}",
                "emails": [{"primary": True, "type": "work", "value": name}],
                "meta": {"resourceType": "User"},
                "name": {
                    "formatted": f"Entra User{number}",
                    "familyName": f"User{number}",
                    "givenName": "Entra",
                },
                "roles": [],
            },
        )
        stats.record("create", status, (201,), elapsed)
        if status == 201:
            created[number] = json.loads(body)["id"]

    def group_job(client: Client, number: int) -> None:
        display_name = f"Entra Team {number}"
        path = filter_path("Groups", "displayName", display_name, "excludedAttributes=members&")
        status, _body, elapsed = client.request("GET", path)
        stats.record("group match", status, (200,), elapsed)
        status, group_id, elapsed = group_create(client, display_name)
        stats.record("group create", status, (201,), elapsed)
        if group_id is not None:
            group_ids[number] = group_id

    def members_job(client: Client, job: tuple[str, list[str]]) -> None:
        group_id, member_ids = job
        status, _, elapsed = client.request(
            "PATCH", f"{SCIM}/Groups/{group_id}", members_add_body(member_ids)
        )
        stats.record("members add", status, (200, 204), elapsed)

    analyzer_done = threading.Event()

    def analyzer() -> None:
        # What autovacuum's autoanalyze would do with a low per-table threshold; this
        # machine's PostgreSQL runs with autovacuum off. Its own connection, closed at the end.
        from django.db import connection

        driver_backend_register()
        while not analyzer_done.wait(autoanalyze):
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE accounts_user, accounts_groupmembership")
        connection.close()

    analyzer_thread = threading.Thread(target=analyzer, daemon=True)
    if autoanalyze:
        analyzer_thread.start()
    server_cpu = ServerCpu(master_pid)
    started = time.monotonic()
    run_jobs(list(range(users)), user_job, port, tenant.token, clients, deadline, stopped)
    users_seconds = time.monotonic() - started
    run_jobs(list(range(groups)), group_job, port, tenant.token, clients, deadline, stopped)
    member_jobs = []
    for number, group_id in sorted(group_ids.items()):
        members = [created[n] for n in sorted(created) if n % groups == number]
        member_jobs += [(group_id, members[i : i + batch]) for i in range(0, len(members), batch)]
    run_jobs(member_jobs, members_job, port, tenant.token, clients, deadline, stopped)
    total_seconds = time.monotonic() - started
    spent = server_cpu.spent()
    analyzer_done.set()
    if autoanalyze:
        analyzer_thread.join()

    from qaportal.accounts.models import GroupMembership, User

    everything = [value for values in stats.latencies.values() for value in values]
    per_kind = {
        kind: {
            "requests": len(values),
            "p50_ms": ms(percentile(values, 0.50)),
            "p99_ms": ms(percentile(values, 0.99)),
        }
        for kind, values in stats.latencies.items()
    }
    rps = len(everything) / total_seconds if total_seconds else 0.0
    p99 = ms(percentile(everything, 0.99))
    return {
        "users": users,
        "groups": groups,
        "member_batch": batch,
        "clients": clients,
        "autoanalyze_seconds": autoanalyze,
        "completed": not stopped.is_set(),
        "users_created": User.objects.filter(company_id=tenant.company_id).count(),
        "memberships_stored": GroupMembership.objects.filter(
            group__company_id=tenant.company_id
        ).count(),
        "requests": len(everything),
        "total_seconds": round(total_seconds, 1),
        "users_phase_seconds": round(users_seconds, 1),
        "rps": round(rps, 1),
        "p50_ms": ms(percentile(everything, 0.50)),
        "p99_ms": p99,
        "worker_cpu_ms": round(1000 * spent["workers"] / max(len(everything), 1), 2),
        "database_cpu_ms": round(1000 * spent["database"] / max(len(everything), 1), 2),
        "per_kind": per_kind,
        "failures": stats.failures,
        "meets_target": not stopped.is_set()
        and rps >= TARGET_INITIAL_RPS
        and p99 < TARGET_INITIAL_P99_MS
        and not stats.failures,
    }


# --------------------------------------------------------------------------- People page


def people_pages(port: int, tenant: Tenant, size: int, requests: int) -> dict:
    """The company admin's People page at `size` people: the first page, a search for part of
    a name, a filtered and sorted page and a deep page, one after another, `requests` each.

    The admin signs in through Django's own session machinery in this process (the server
    shares its settings and database); the session cookie then rides on plain HTTP requests.
    """
    from django.test import Client as DjangoClient

    from qaportal.accounts.models import User

    admin = User.objects.create_user(
        email=f"admin-{tenant.name}@bench.example",
        password=uuid.uuid4().hex,
        company_id=tenant.company_id,
        role=User.Role.ADMIN,
    )
    browser = DjangoClient()
    browser.force_login(admin)
    session = browser.cookies["sessionid"].value
    client = Client(port)
    client.headers["Cookie"] = f"sessionid={session}"
    client.headers["Accept"] = "text/html"
    last_page = max(1, size // 50)
    probes = {
        "first page": "/people/",
        "search, part of a name": "/people/?q=AMILY4242",
        # 1,111 matches, side by side in the name order: an index walk would read ~36,000 rows.
        "search, matches together in the name order": "/people/?q=AMILY42",
        "active, sorted by last change": "/people/?status=active&sort=-changed",
        f"page {last_page:,} (the last)": f"/people/?page={last_page}",
    }
    latencies: dict[str, list[float]] = {label: [] for label in probes}
    failures: dict[str, int] = {}
    for path in probes.values():
        client.request("GET", path)  # warm the worker's caches; not counted
    for _ in range(requests):
        for label, path in probes.items():
            status, body, elapsed = client.request("GET", path)
            latencies[label].append(elapsed)
            if status != 200 or b"people" not in body:
                failures[f"{label}: {status}"] = failures.get(f"{label}: {status}", 0) + 1
    summary = {
        label: {"p50_ms": ms(percentile(values, 0.5)), "p99_ms": ms(percentile(values, 0.99))}
        for label, values in latencies.items()
    }
    return {
        "people": size,
        "requests": requests,
        "pages": summary,
        "failures": failures,
        "meets_target": not failures
        and all(one["p50_ms"] < TARGET_PEOPLE_P50_MS for one in summary.values()),
    }
