"""The Markdown report and the verdict on the targets."""

from __future__ import annotations

import os

from bench.common import (
    TARGET_BARE_P99_MULTIPLE,
    TARGET_BARE_RATIO,
    TARGET_CYCLE_RATIO,
    TARGET_FILTER_SCALE,
    TARGET_INITIAL_P99_MS,
    TARGET_INITIAL_RPS,
    TARGET_LIST_SCALE,
    TARGET_PEOPLE_P50_MS,
)
from bench.neighbour import TARGET_NEIGHBOUR_P99_MULTIPLE

# --------------------------------------------------------------------------- report


def yes(flag: bool | None) -> str:
    return "n/a" if flag is None else ("MET" if flag else "MISSED")


def render(results: dict) -> str:
    lines = [
        "# QA Portal SCIM benchmark",
        "",
        f"{results['started_at']}, {results['machine']}; gunicorn {results['workers']} sync "
        f"workers, PostgreSQL {results['postgres']}, production settings, 127.0.0.1.",
        f"Command: `{results['command']}` ({results.get('elapsed_seconds', 0):.0f} s; "
        f"1-minute load average {results['load_average_start']:.1f} at the start, "
        f"{results.get('load_average_end', 0):.1f} at the end, on {os.cpu_count()} cores: "
        "other work on the machine shows here).",
        *(
            [f"Database settings changed for this run: {', '.join(results['db_settings'])}"]
            if results.get("db_settings")
            else []
        ),
        *(
            [f"Extra SQL after migrating, for this run: `{'`; `'.join(results['extra_sql'])}`"]
            if results.get("extra_sql")
            else []
        ),
        "",
    ]
    qc = results.get("queries")
    if qc:
        lines += [
            "## SQL per request (in-process, bench database; SQL in var/bench/queries.txt)",
            "",
            "Django queries as `django_assert_num_queries` counts them; wire round trips from "
            "libpq's trace, BEGIN and COMMIT included (under gunicorn every request, SCIM and "
            "ceiling alike, adds one more: the `CONN_HEALTH_CHECKS` `SELECT 1`); durable "
            "commits are commits that wrote, each waiting for a WAL flush to disk.",
            "",
            "| request | status | Django queries | budget | wire round trips | durable commits |",
            "|---|---|---|---|---|---|",
        ]
        for label, row in qc.items():
            budget = row["budget"]
            if row["status"] >= 400:
                verdict = f"not measured: answered {row['status']}"
            elif budget is None:
                verdict = "-"
            else:
                verdict = f"≤ {budget} {yes(row['queries'] <= budget)}"
            lines.append(
                f"| {label} | {row['status']} | {row['queries']} | {verdict} | "
                f"{row.get('roundtrips', '-')} | {row.get('durable_commits', '-')} |"
            )
        lines.append("")
    tp = results.get("throughput")
    if tp:
        lines += [
            f"## Throughput (wrk, median of {tp['rounds']} interleaved rounds of "
            f"{tp['seconds_per_run']:g} s; SCIM, the ceiling and the bare endpoint back to back "
            "in each round)",
            "",
            "The *ceiling* is plain Django views on the portal's own stack (its middleware, "
            "settings and gunicorn); the *bare* endpoint is a Django project of two middlewares "
            "(security, common) and one model on the same gunicorn and PostgreSQL. Ratios are "
            "the medians of the per-round ratios.",
            "",
            "| cycle | clients | SCIM req/s, p50/p99 ms | ceiling req/s, p50/p99 ms | "
            "bare req/s, p50/p99 ms | SCIM/ceiling (≥ 0.6) | SCIM/bare (≥ 0.6) | "
            "SCIM p99 / bare p99 (≤ 2) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in tp["rows"]:

            def cell(side: dict | None) -> str:
                if side is None:
                    return "-"
                note = " ⚠" if side["unexpected"] else ""
                return f"{side['rps']:.1f}{note}, {side['p50_ms']:.1f} / {side['p99_ms']:.1f}"

            def ratio(key: str, row: dict = row) -> str:
                if f"{key}ratio" not in row:
                    return "-"
                runs = ", ".join(f"{r:.2f}" for r in row[f"{key}ratio_runs"])
                return f"**{row[f'{key}ratio']:.2f}** ({runs}) {yes(row.get(f'{key}meets_target'))}"

            p99 = f"{row['bare_p99_multiple']:.2f}" if "bare_p99_multiple" in row else "-"
            lines.append(
                f"| {row['cycle']} | {row['clients']} | {cell(row.get('scim'))} | "
                f"{cell(row.get('ceiling'))} | {cell(row.get('bare'))} | {ratio('')} | "
                f"{ratio('bare_')} | {p99} |"
            )
        lines += [
            "",
            "Server CPU per request (medians; gunicorn workers + their PostgreSQL backends, "
            "from /proc): what a request costs, whatever else runs on the machine. On a "
            "CPU-bound server the ceiling/SCIM cost ratio is the throughput ratio to expect "
            "on a quiet machine.",
            "",
            "| cycle | clients | SCIM worker + db ms | ceiling worker + db ms "
            "| bare worker + db ms | ceiling/SCIM cost | bare/SCIM cost |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in tp["rows"]:

            def cost(side: dict | None) -> str:
                if side is None:
                    return "-"
                total = side["worker_cpu_ms"] + side["database_cpu_ms"]
                return f"{side['worker_cpu_ms']:.2f} + {side['database_cpu_ms']:.2f} = {total:.2f}"

            cpu_ratio = f"{row['cpu_ratio']:.2f}" if "cpu_ratio" in row else "-"
            bare_cpu = f"{row['bare_cpu_ratio']:.2f}" if "bare_cpu_ratio" in row else "-"
            lines.append(
                f"| {row['cycle']} | {row['clients']} | {cost(row.get('scim'))} | "
                f"{cost(row.get('ceiling'))} | {cost(row.get('bare'))} | {cpu_ratio} | "
                f"{bare_cpu} |"
            )
        unexpected = [
            f"{r['target']} {r['cycle']} c={r['clients']} round {r['round']}: {r['unexpected']}"
            for r in tp["runs"]
            if r["unexpected"]
        ]
        if unexpected:
            lines += ["", "Unexpected statuses (⚠):", *[f"- {u}" for u in unexpected]]
        lines.append("")
    sc = results.get("scale")
    if sc:
        lines += [
            f"## Scale (a company of 1,000 users and one of {sc['large']['users']:,}, probed in "
            f"turn by a sequential client; their bulk seed took {sc['seed_seconds']} s)",
            "",
            "| request | 1,000 users p50 / p99 ms | "
            f"{sc['large']['users']:,} users p50 / p99 ms | p50 ratio | target |",
            "|---|---|---|---|---|",
        ]
        targets = {
            "filter_userName_hit": f"≤ {TARGET_FILTER_SCALE} {yes(sc['meets_filter_target'])}",
            "list_first_page": f"≤ {TARGET_LIST_SCALE} {yes(sc['meets_list_target'])}",
            "list_last_page": f"≤ {TARGET_LIST_SCALE} {yes(sc.get('meets_last_page_target'))}",
        }
        labels = {
            "filter_userName_hit": 'filter userName eq "…" (hit)',
            "filter_userName_miss": 'filter userName eq "…" (miss)',
            "filter_externalId": 'filter externalId eq "…"',
            "list_first_page": "list page startIndex=1&count=100",
            "list_last_page": "list page, last 100, read after the page before it",
            "list_last_page_direct": "list page, last 100 asked directly (OFFSET walk)",
        }
        for key, label in labels.items():
            small, big = sc["small"][key], sc["large"][key]
            bad = " ⚠" if small["failures"] or big["failures"] else ""
            lines.append(
                f"| {label}{bad} | {small['p50_ms']} / {small['p99_ms']} | "
                f"{big['p50_ms']} / {big['p99_ms']} | "
                f"{sc['p50_ratio_large_over_small'].get(key, '-')} | {targets.get(key, 'info')} |"
            )
        failures = [
            f"{size} {key}: {sc[size][key]['failures']}"
            for size in ("small", "large")
            for key in labels
            if sc[size][key]["failures"]
        ]
        if failures:
            lines += ["", "Failed probes (⚠):", *[f"- {f}" for f in failures]]
        lines.append("")
    gp = results.get("group_patch")
    if gp:
        lines += ["## Group PATCH adding members", ""]
        if "error" in gp:
            lines.append(f"Not measured: {gp['error']}")
        else:
            runs = ", ".join(
                f"{r['ms']} ms ({r['status']}, {r['members_stored']} stored)" for r in gp["runs"]
            )
            lines.append(
                f"PATCH Add of {gp['members']:,} members to a new group: median "
                f"**{gp['median_ms']} ms** ({runs}); re-adding the same members: "
                f"{gp['readd_same_members']['ms']} ms ({gp['readd_same_members']['status']})."
            )
        lines.append("")
    ic = results.get("initial_cycle")
    if ic:
        lines += [
            f"## Entra initial cycle ({ic['users']:,} users, {ic['groups']} groups, members "
            f"added {ic['member_batch']} per PATCH, {ic['clients']} clients"
            + (
                f", ANALYZE every {ic['autoanalyze_seconds']:g} s"
                if ic.get("autoanalyze_seconds")
                else ""
            )
            + ")",
            "",
            f"{'Completed' if ic['completed'] else 'STOPPED at the time cap'}: "
            f"{ic['requests']:,} requests in **{ic['total_seconds']} s** (users phase "
            f"{ic['users_phase_seconds']} s), **{ic['rps']} req/s** sustained, p50 "
            f"{ic['p50_ms']} ms, **p99 {ic['p99_ms']} ms**; {ic['users_created']:,} users and "
            f"{ic['memberships_stored']:,} memberships stored; server CPU per request "
            f"{ic['worker_cpu_ms']} ms in the workers + {ic['database_cpu_ms']} ms in "
            f"PostgreSQL. Target ≥ {TARGET_INITIAL_RPS:g} "
            f"req/s with p99 < {TARGET_INITIAL_P99_MS:g} ms: {yes(ic['meets_target'])}.",
            "",
            "| request | count | p50 ms | p99 ms |",
            "|---|---|---|---|",
        ]
        for kind, values in ic["per_kind"].items():
            lines.append(
                f"| {kind} | {values['requests']:,} | {values['p50_ms']} | {values['p99_ms']} |"
            )
        if ic["failures"]:
            lines += ["", f"Failures: {ic['failures']}"]
        lines.append("")
    pp = results.get("people")
    if pp:
        lines += [
            f"## People page ({pp['people']:,} people, a signed-in company admin, "
            f"{pp['requests']} requests of each kind in turn)",
            "",
            "| page | p50 ms | p99 ms |",
            "|---|---|---|",
        ]
        lines += [
            f"| {label} | {one['p50_ms']} | {one['p99_ms']} |" for label, one in pp["pages"].items()
        ]
        if pp["failures"]:
            lines += ["", f"Failures (⚠): {pp['failures']}"]
        lines.append("")
    nb = results.get("neighbour")
    if nb:
        lines += [
            f"## A noisy neighbour ({nb['noisy_clients']} connection(s) of one company sending "
            "its worst requests without pause, while another runs Entra's create cycle)",
            "",
            f"Victim, one sequential client: p50 / p99 {nb['alone']['p50_ms']} / "
            f"{nb['alone']['p99_ms']} ms alone ({nb['alone']['requests']} requests), "
            f"{nb['with_neighbour']['p50_ms']} / {nb['with_neighbour']['p99_ms']} ms beside the "
            f"neighbour ({nb['with_neighbour']['requests']} requests): p99 "
            f"**{nb['p99_multiple']}x**"
            + (f"; victim failures {nb['victim_failures']} ⚠" if nb["victim_failures"] else "")
            + ".",
            "",
            "| neighbour's request | sent | statuses | p50 ms | slowest ms |",
            "|---|---|---|---|---|",
        ]
        for label, one in nb["neighbour"].items():
            lines.append(
                f"| {label} | {one['requests']} | {', '.join(map(str, one['statuses']))} | "
                f"{one['p50_ms']} | {one['max_ms']} |"
            )
        lines.append("")
    lines += ["## Targets", ""]
    lines += [f"- {name}: {verdict}" for name, verdict in results["targets"].items()]
    return "\n".join(lines) + "\n"


def targets_summary(results: dict) -> dict[str, str]:
    summary = {}
    tp = results.get("throughput")
    if tp:
        for cycle in ("create", "patch"):
            for key, other, target in (
                ("", "ceiling", TARGET_CYCLE_RATIO),
                ("bare_", "bare endpoint", TARGET_BARE_RATIO),
            ):
                rows = [r for r in tp["rows"] if r["cycle"] == cycle and f"{key}ratio" in r]
                if not rows:
                    continue
                worst = min(rows, key=lambda r: r[f"{key}ratio"])
                per_level = ", ".join(
                    f"{r[f'{key}ratio']:.2f} at {r['clients']} clients" for r in rows
                )
                name = f"{cycle} cycle ≥ {target}x {other}"
                if key:
                    name += f", p99 ≤ {TARGET_BARE_P99_MULTIPLE:g}x"
                    per_level += "; p99 " + ", ".join(
                        f"{r['bare_p99_multiple']:.2f}x" for r in rows
                    )
                summary[name] = (
                    f"{yes(all(r[f'{key}meets_target'] for r in rows))} "
                    f"({per_level}; worst {worst[f'{key}ratio']:.2f})"
                )
    sc = results.get("scale")
    if sc:
        ratios = sc["p50_ratio_large_over_small"]
        large = f"{sc['large']['users']:,}"
        summary[f"filter p50 at {large} ≤ {TARGET_FILTER_SCALE}x 1,000 users"] = (
            f"{yes(sc['meets_filter_target'])} ({ratios['filter_userName_hit']}x)"
        )
        summary[f"list page at {large} ≤ {TARGET_LIST_SCALE}x 1,000 users"] = (
            f"{yes(sc['meets_list_target'])} ({ratios['list_first_page']}x)"
        )
        summary[f"last list page at {large} ≤ {TARGET_LIST_SCALE}x 1,000 users"] = (
            f"{yes(sc.get('meets_last_page_target'))} ({ratios['list_last_page']}x)"
        )
    pp = results.get("people")
    if pp:
        slowest = max(one["p50_ms"] for one in pp["pages"].values())
        summary[f"People page p50 < {TARGET_PEOPLE_P50_MS:g} ms at {pp['people']:,} people"] = (
            f"{yes(pp['meets_target'])} (slowest p50 {slowest} ms)"
        )
    nb = results.get("neighbour")
    if nb:
        summary[
            f"neighbour: victim p99 ≤ {TARGET_NEIGHBOUR_P99_MULTIPLE:g}x alone, "
            "every neighbour request < 1 s"
        ] = (
            f"{yes(nb['meets_target'])} ({nb['p99_multiple']}x; slowest "
            f"{nb['slowest_neighbour_ms']} ms)"
        )
    ic = results.get("initial_cycle")
    if ic:
        summary["initial cycle ≥ 25 req/s, p99 < 100 ms"] = (
            f"{yes(ic['meets_target'])} ({ic['rps']} req/s, p99 {ic['p99_ms']} ms)"
        )
    return summary
