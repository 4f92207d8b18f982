"""`make bench`: the SCIM endpoint under Entra's load, against a plain-Django ceiling.

One run, on PostgreSQL and gunicorn with 2 workers (production settings, 127.0.0.1 only):

0. SQL per request (Django's count and libpq's wire trace), in-process;
1. throughput: Entra's create cycle (GET filter + POST) and PATCH cycle at 4 and 16 clients,
   SCIM, the ceiling (plain Django views on the portal's stack) and the bare endpoint (a
   Django project of two middlewares and one model) interleaved, several rounds; medians and
   per-round ratios;
2. scale: filter lookup and list-page latency in a company of 1,000 users and one of 100,000,
   probed in turn;
3. the company admin's People page at 100,000 people, and a group PATCH adding 5,000 members;
4. an Entra initial cycle of 10,000 users (match + create, then groups and their members);
5. a noisy neighbour: one company's worst requests beside another company's create cycle.

Results are printed and written to var/bench/results.{json,md}. The parts live in stack.py,
queries.py, throughput.py, scenarios.py and report.py; see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench import stack
from bench.common import (
    DEFAULT_DATABASE_URL,
    OUT,
    SCIM,
    Client,
    Endpoint,
    Tenant,
    filter_path,
    log,
)
from bench.neighbour import neighbour
from bench.queries import query_counts
from bench.report import render, targets_summary
from bench.scenarios import (
    big_group_patch,
    initial_cycle,
    people_pages,
    scale,
)
from bench.stack import (
    analyze,
    bare_environment,
    bare_prepare,
    driver_backend_register,
    free_port,
    gunicorn,
    recreate_database,
    server_environment,
    setup_django,
    tenant_create,
    users_seed,
)
from bench.throughput import throughput, wrk_run

# --------------------------------------------------------------------------- profile


def profile(
    server: subprocess.Popen, port: int, load: Tenant, ids_file: Path, profile_tenant: Tenant, args
) -> int:
    endpoint = Endpoint("scim", port, server.pid, SCIM)
    """py-spy on every gunicorn worker while one SCIM cycle runs; prints the hot spots."""
    from bench.profile import summarise

    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    output = OUT / f"profile-{args.profile}.txt"
    common = {"endpoint": endpoint, "load": load, "ids_file": ids_file}
    if args.profile != "initial":
        wrk_run(
            cycle=args.profile,
            clients=4,
            seconds=3,
            run_id="warm",
            round_number=0,
            **common,
        )
    recorder = subprocess.Popen(  # noqa: S603 - a fixed command line
        [
            py_spy,
            "record",
            "--pid",
            str(server.pid),
            "--subprocesses",
            # Only samples holding the GIL: where the workers' CPU goes, not their waits
            # (server CPU per request is what separates SCIM from the ceiling).
            "--gil",
            "--rate",
            "250",
            "--duration",
            str(args.profile_seconds),
            "--format",
            "raw",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)
    if args.profile == "initial":
        # The users phase of an initial cycle, on a company that starts empty.
        cycle = initial_cycle(
            port,
            profile_tenant,
            args.initial_users,
            args.initial_groups,
            args.initial_batch,
            args.profile_clients,
            cap=args.profile_seconds - 2,
            master_pid=server.pid,
        )
        rps = cycle["rps"]
    else:
        rps = wrk_run(
            cycle=args.profile,
            clients=args.profile_clients,
            seconds=args.profile_seconds - 2,
            run_id=f"prof{uuid.uuid4().hex[:6]}",
            round_number=0,
            **common,
        ).rps
    recorder.wait()
    log(f"profiled {args.profile}: {rps} req/s under py-spy (sampling slows the workers)")
    print(summarise(output))
    return 0


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "0")))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=4, help="duration of one wrk run")
    parser.add_argument("--clients", default="4,16", help="client counts of the wrk cycles")
    parser.add_argument("--scale-users", type=int, default=100_000)
    parser.add_argument("--probe-requests", type=int, default=200)
    parser.add_argument("--group-members", type=int, default=5000)
    parser.add_argument("--group-repeats", type=int, default=3)
    parser.add_argument("--initial-users", type=int, default=10_000)
    parser.add_argument("--initial-groups", type=int, default=10)
    parser.add_argument("--initial-batch", type=int, default=100, help="members per group PATCH")
    parser.add_argument("--initial-clients", type=int, default=4)
    parser.add_argument("--people-requests", type=int, default=30, help="per People page kind")
    parser.add_argument(
        "--neighbour-seconds", type=float, default=20.0, help="victim's run beside the neighbour"
    )
    parser.add_argument(
        "--neighbour-clients",
        type=int,
        default=1,
        help="connections sending the neighbour's worst requests (fewer than the workers)",
    )
    parser.add_argument("--initial-cap", type=float, default=360.0, help="time cap, seconds")
    parser.add_argument(
        "--initial-autoanalyze",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="experiment: ANALYZE the user tables every SECONDS during the initial cycle, as "
        "autovacuum with a low per-table threshold would (0: never, like this machine)",
    )
    parser.add_argument(
        "--only",
        default="queries,throughput,scale,people,group,initial,neighbour",
        help="comma-separated parts to run: queries, throughput, scale, people, group, "
        "initial, neighbour",
    )
    parser.add_argument(
        "--profile",
        choices=["create", "patch", "initial"],
        help="only profile the SCIM side of one cycle with py-spy, then summarise "
        "(initial: the start of an initial cycle; --sql and --scale-users set the scene)",
    )
    parser.add_argument("--profile-seconds", type=int, default=20)
    parser.add_argument(
        "--sql",
        action="append",
        default=[],
        metavar="STATEMENT",
        help="experiment: SQL run on the bench database after migrating (e.g. an index or "
        "CREATE STATISTICS a fix would add); recorded in the results",
    )
    parser.add_argument(
        "--db-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="experiment: ALTER DATABASE … SET NAME = VALUE on the bench database "
        "(e.g. synchronous_commit=off); recorded in the results",
    )
    parser.add_argument("--profile-clients", type=int, default=4)
    parser.add_argument(
        "--ceiling-only", action="store_true", help="throughput of the two ceilings only"
    )
    args = parser.parse_args(argv)
    parts = set(args.only.split(","))

    if shutil.which("wrk") is None and "throughput" in parts:
        raise SystemExit("wrk is missing: apt-get install -y wrk (make bench does this)")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "gunicorn.log").write_text("")
    port = args.port or free_port()
    environment = server_environment(args.database_url)

    log(f"database: recreating {urllib.parse.urlsplit(args.database_url).path.lstrip('/')}")
    stack.BENCH_DATABASE = urllib.parse.urlsplit(args.database_url).path.lstrip("/")
    recreate_database(args.database_url, args.db_setting)
    setup_django(environment)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    driver_backend_register()
    for statement in args.sql:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    # Production settings serve hashed static files: error pages need the manifest.
    call_command("collectstatic", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres_version = cursor.fetchone()[0]

    load = tenant_create("bench-load")
    small_tenant = tenant_create("bench-small")
    scale_tenant = tenant_create("bench-scale")
    initial_tenant = tenant_create("bench-initial")
    victim_tenant = tenant_create("bench-victim")
    noisy_tenant = tenant_create("bench-noisy")
    patch_names = users_seed(company_id=load.company_id, start=0, count=5000, prefix="patch")[:2000]
    from qaportal.accounts.models import User

    # Named after the database, so that two runs on two databases never share it.
    ids_file = OUT / f"patch_ids-{stack.BENCH_DATABASE}.txt"
    ids = dict(User.objects.filter(company_id=load.company_id).values_list("user_name", "scim_id"))
    ids_file.write_text("".join(f"{ids[name]}\n" for name in patch_names))
    bare_prepare(args.database_url, [str(ids[name]) for name in patch_names])
    analyze()

    results: dict = {
        "started_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores",
        "workers": args.workers,
        "postgres": postgres_version.split()[0],
        "db_settings": args.db_setting,
        "extra_sql": args.sql,
        "command": "make bench" if os.environ.get("MAKELEVEL") else " ".join(sys.argv),
        "load_average_start": os.getloadavg()[0],
    }
    if "queries" in parts and not args.profile:
        log("query counts (in-process)")
        results["queries"] = query_counts(load)
    started = time.monotonic()
    bare_port = free_port()
    with (
        gunicorn(environment, port, args.workers) as server,
        gunicorn(
            bare_environment(args.database_url),
            bare_port,
            args.workers,
            app="bench.bare.wsgi",
            log_name="gunicorn-bare.log",
            ready_path="/bare/Users?userName=probe",
        ) as bare_server,
    ):
        if args.profile:
            if args.profile == "initial" and args.scale_users:
                # The table an initial cycle meets after the scale part of a full run.
                users_seed(
                    company_id=scale_tenant.company_id,
                    start=0,
                    count=args.scale_users,
                    prefix="scale",
                )
                analyze()
            return profile(server, port, load, ids_file, initial_tenant, args)
        probe_client = Client(port, load.token)
        status, _body, _ = probe_client.request("GET", filter_path("Users", "userName", "probe"))
        scim_ready = status == 200
        results["scim_status"] = {"filter": status}
        if not scim_ready:
            log(f"SCIM /Users filter answered {status}: measuring the ceilings only")
        endpoints = [
            Endpoint("scim", port, server.pid, SCIM),
            Endpoint("ceiling", port, server.pid, f"/bench/ceiling/{load.company_id}"),
            Endpoint("bare", bare_port, bare_server.pid, "/bare"),
        ]
        if not scim_ready or args.ceiling_only:
            endpoints = endpoints[1:]
        if "throughput" in parts:
            results["throughput"] = throughput(
                endpoints=endpoints,
                load=load,
                ids_file=ids_file,
                rounds=args.rounds,
                seconds=args.seconds,
                clients_levels=[int(c) for c in args.clients.split(",")],
            )
        if scim_ready and "scale" in parts:
            results["scale"] = scale(
                port, small_tenant, scale_tenant, args.probe_requests, args.scale_users
            )
        if "people" in parts:
            if "scale" not in parts:
                users_seed(
                    company_id=scale_tenant.company_id,
                    start=0,
                    count=args.scale_users,
                    prefix="scale",
                )
                analyze()
            log(f"People page at {args.scale_users:,} people")
            results["people"] = people_pages(
                port, scale_tenant, args.scale_users, args.people_requests
            )
        if scim_ready and "group" in parts:
            if "scale" not in parts and "people" not in parts:
                users_seed(
                    company_id=scale_tenant.company_id,
                    start=0,
                    count=args.group_members,
                    prefix="scale",
                )
            log(f"group PATCH adding {args.group_members:,} members")
            results["group_patch"] = big_group_patch(
                port, scale_tenant, args.group_members, args.group_repeats
            )
        if scim_ready and "initial" in parts:
            log(f"initial cycle: {args.initial_users:,} users, {args.initial_clients} clients")
            results["initial_cycle"] = initial_cycle(
                port,
                initial_tenant,
                args.initial_users,
                args.initial_groups,
                args.initial_batch,
                args.initial_clients,
                args.initial_cap,
                args.initial_autoanalyze,
                master_pid=server.pid,
            )
        if scim_ready and "neighbour" in parts:
            log(f"noisy neighbour: {args.neighbour_clients} client(s) of worst requests")
            results["neighbour"] = neighbour(
                port,
                victim_tenant,
                noisy_tenant,
                args.neighbour_seconds,
                args.neighbour_clients,
            )
    results["elapsed_seconds"] = round(time.monotonic() - started, 1)
    results["load_average_end"] = os.getloadavg()[0]
    results["targets"] = targets_summary(results)
    markdown = render(results)
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (OUT / "results.md").write_text(markdown)
    print(markdown)
    log(f"done in {results['elapsed_seconds']} s; written to var/bench/results.{{json,md}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
