"""Entra's create and PATCH cycles with wrk, SCIM and ceiling interleaved."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    LUA,
    REPO,
    TARGET_BARE_P99_MULTIPLE,
    TARGET_BARE_RATIO,
    TARGET_CYCLE_RATIO,
    Endpoint,
    Tenant,
    log,
)
from bench.stack import (
    ServerCpu,
    children_cpu_seconds,
    cpu_times,
)

# --------------------------------------------------------------------------- wrk runs


@dataclass
class WrkResult:
    target: str
    cycle: str
    clients: int
    round: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    unexpected: dict[str, int]
    machine_cpu_busy: float
    wrk_cpu_share: float
    # Server CPU per request: gunicorn workers, and the PostgreSQL backends serving them.
    worker_cpu_ms: float
    database_cpu_ms: float

    @property
    def server_cpu_ms(self) -> float:
        return self.worker_cpu_ms + self.database_cpu_ms

    @property
    def ok(self) -> bool:
        return not self.unexpected


EXPECTED_STATUSES = {"create": {"200", "201"}, "patch": {"200", "204"}}


def wrk_run(
    *,
    endpoint: Endpoint,
    cycle: str,
    clients: int,
    seconds: float,
    load: Tenant,
    ids_file: Path,
    run_id: str,
    round_number: int,
) -> WrkResult:
    target, base, port = endpoint.name, endpoint.base, endpoint.port
    script = LUA / f"{cycle}.lua"
    environment = dict(os.environ)
    environment.update(
        {"QA_BENCH_TOKEN": load.token, "QA_BENCH_IDS": str(ids_file), "QA_BENCH_LUA_DIR": str(LUA)}
    )
    command = [
        "wrk",
        "-t",
        str(clients),
        "-c",
        str(clients),
        "-d",
        f"{round(seconds)}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}",
        "--",
        target,
        base,
        run_id,
        str(clients),
    ]
    server_cpu = ServerCpu(endpoint.master_pid)
    busy_before, total_before = cpu_times()
    wrk_before = children_cpu_seconds()
    completed = subprocess.run(  # noqa: S603 - a fixed command line
        command, cwd=REPO, env=environment, capture_output=True, text=True, check=False
    )
    busy_after, total_after = cpu_times()
    wrk_cpu = children_cpu_seconds() - wrk_before
    spent = server_cpu.spent()
    line = next(
        (line for line in completed.stdout.splitlines() if line.startswith("BENCH_JSON ")), None
    )
    if completed.returncode != 0 or line is None:
        raise SystemExit(
            f"wrk failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
        )
    summary = json.loads(line.removeprefix("BENCH_JSON "))
    elapsed = summary["duration_us"] / 1e6
    unexpected = {
        status: count
        for status, count in summary["statuses"].items()
        if status not in EXPECTED_STATUSES[cycle]
    }
    errors = {key: value for key, value in summary["errors"].items() if value and key != "status"}
    unexpected.update({f"socket {key}": value for key, value in errors.items()})
    total = total_after - total_before
    cores = os.cpu_count() or 1
    return WrkResult(
        target=target,
        cycle=cycle,
        clients=clients,
        round=round_number,
        requests=summary["requests"],
        seconds=round(elapsed, 3),
        rps=round(summary["requests"] / elapsed, 1),
        p50_ms=round(summary["latency_us"]["p50"] / 1000, 2),
        p99_ms=round(summary["latency_us"]["p99"] / 1000, 2),
        unexpected=unexpected,
        machine_cpu_busy=round((busy_after - busy_before) / total, 3) if total else 0.0,
        wrk_cpu_share=round(wrk_cpu / (elapsed * cores), 3),
        worker_cpu_ms=round(1000 * spent["workers"] / max(summary["requests"], 1), 3),
        database_cpu_ms=round(1000 * spent["database"] / max(summary["requests"], 1), 3),
    )


def throughput(
    *,
    endpoints: list[Endpoint],
    load: Tenant,
    ids_file: Path,
    rounds: int,
    seconds: float,
    clients_levels: list[int],
) -> dict:
    """Interleaved rounds: for each cycle and client count, every endpoint back to back, the
    order turning each round, so that a noisy machine hits them alike."""
    results: list[WrkResult] = []
    run_counter = 0
    targets = [endpoint.name for endpoint in endpoints]

    def one(endpoint: Endpoint, cycle: str, clients: int, round_number: int, duration: float):
        nonlocal run_counter
        run_counter += 1
        result = wrk_run(
            endpoint=endpoint,
            cycle=cycle,
            clients=clients,
            seconds=duration,
            load=load,
            ids_file=ids_file,
            run_id=f"r{run_counter}{uuid.uuid4().hex[:6]}",
            round_number=round_number,
        )
        flag = "" if result.ok else f"  UNEXPECTED {result.unexpected}"
        log(
            f"  round {round_number} {cycle:6} c={clients:<2} {endpoint.name:7} "
            f"{result.rps:7.1f} req/s p50 {result.p50_ms:6.1f} ms p99 {result.p99_ms:6.1f} ms "
            f"server cpu {result.server_cpu_ms:5.2f} ms/req "
            f"(machine busy {result.machine_cpu_busy:.0%}, wrk {result.wrk_cpu_share:.1%}){flag}"
        )
        return result

    log("throughput: warm-up")
    for cycle in ("create", "patch"):
        for endpoint in endpoints:
            one(endpoint, cycle, 4, 0, 2)
    for round_number in range(1, rounds + 1):
        for cycle in ("create", "patch"):
            for clients in clients_levels:
                shift = round_number % len(endpoints)
                for endpoint in endpoints[shift:] + endpoints[:shift]:
                    results.append(one(endpoint, cycle, clients, round_number, seconds))

    table = []
    for cycle in ("create", "patch"):
        for clients in clients_levels:
            row: dict = {"cycle": cycle, "clients": clients}
            for target in targets:
                runs = [
                    r
                    for r in results
                    if r.cycle == cycle and r.clients == clients and r.target == target
                ]
                row[target] = {
                    "rps": round(statistics.median(r.rps for r in runs), 1),
                    "worker_cpu_ms": round(statistics.median(r.worker_cpu_ms for r in runs), 2),
                    "database_cpu_ms": round(statistics.median(r.database_cpu_ms for r in runs), 2),
                    "p50_ms": round(statistics.median(r.p50_ms for r in runs), 2),
                    "p99_ms": round(statistics.median(r.p99_ms for r in runs), 2),
                    "runs_rps": [r.rps for r in runs],
                    "unexpected": [r.unexpected for r in runs if r.unexpected],
                }
            for other, key, target_ratio in (
                ("ceiling", "", TARGET_CYCLE_RATIO),
                ("bare", "bare_", TARGET_BARE_RATIO),
            ):
                if not {"scim", other} <= set(targets):
                    continue
                ratios, cost_ratios, p99_multiples = [], [], []
                for round_number in range(1, rounds + 1):
                    pair = {
                        r.target: r
                        for r in results
                        if r.cycle == cycle and r.clients == clients and r.round == round_number
                    }
                    ratios.append(pair["scim"].rps / pair[other].rps)
                    cost_ratios.append(pair[other].server_cpu_ms / pair["scim"].server_cpu_ms)
                    p99_multiples.append(pair["scim"].p99_ms / pair[other].p99_ms)
                row[f"{key}ratio_runs"] = [round(r, 3) for r in ratios]
                row[f"{key}ratio"] = round(statistics.median(ratios), 3)
                row[f"{key}cpu_ratio"] = round(statistics.median(cost_ratios), 3)
                row[f"{key}p99_multiple"] = round(statistics.median(p99_multiples), 3)
                clean = not any(row[t]["unexpected"] for t in targets)
                meets = row[f"{key}ratio"] >= target_ratio and clean
                if other == "bare":
                    meets = meets and row["bare_p99_multiple"] <= TARGET_BARE_P99_MULTIPLE
                row[f"{key}meets_target"] = meets
            table.append(row)
    return {
        "rounds": rounds,
        "seconds_per_run": seconds,
        "targets": targets,
        "rows": table,
        "runs": [r.__dict__ for r in results],
    }
