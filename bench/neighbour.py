"""A noisy neighbour: one company sends its worst requests while another provisions.

Every company shares the web workers, so what one company can make a worker do bounds what
another waits. The victim is Entra on an ordinary day: one sequential client running create
cycles (the match `GET`, then `POST`). It runs alone, then while the neighbour's clients send,
back to back and without pause, the costliest requests the limits allow (scim/constants.py),
then alone again; the victim's p50/p99 with the neighbour are compared with its runs alone.
The per-key rate limit is off on the bench server, so the neighbour is as loud as its
connections allow.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from urllib.parse import quote

from bench.common import SCIM, Client, Tenant, filter_path, log, ms, percentile
from bench.stack import analyze, users_seed

TARGET_NEIGHBOUR_P99_MULTIPLE = 2.0


def _worst_requests(user_ids: list[str]) -> list[tuple]:
    """(label, method, path, body) of the costliest requests within each documented limit."""
    from scim.constants import (
        ENTERPRISE_USER_URN,
        MAX_FILTER_TERMS,
        MAX_MULTI_VALUED_ITEMS,
        MAX_PATCH_OPERATIONS,
        PATCH_OP_URN,
    )

    # The seeded user already holds its work email: the rest of the attribute's limit.
    emails = [
        {"type": f"other{n}", "value": f"alias{n}@neighbour.example"}
        for n in range(MAX_MULTI_VALUED_ITEMS - 1)
    ]
    filtered_ops = [
        {
            "op": "replace",
            "path": 'emails[type eq "work"].value',
            "value": f"n{n}@neighbour.example",
        }
        if n % 2
        else {"op": "replace", "path": f"{ENTERPRISE_USER_URN}:department", "value": f"D{n}"}
        for n in range(MAX_PATCH_OPERATIONS)
    ]
    wide_filter = " or ".join(
        f'userName eq "absent{n}@neighbour.example"' for n in range(MAX_FILTER_TERMS)
    )
    return [
        (
            "PATCH, the most multi-valued items",
            "PATCH",
            f"{SCIM}/Users/{user_ids[0]}",
            {
                "schemas": [PATCH_OP_URN],
                "Operations": [{"op": "add", "path": "emails", "value": emails}],
            },
        ),
        (
            "PATCH, the most filtered operations",
            "PATCH",
            f"{SCIM}/Users/{user_ids[1]}",
            {"schemas": [PATCH_OP_URN], "Operations": filtered_ops},
        ),
        (
            "filter, the most terms",
            "GET",
            f"{SCIM}/Users?filter={quote(wide_filter, safe='')}",
            None,
        ),
        ("Groups page, the most members", "GET", f"{SCIM}/Groups?count=100", None),
        (
            "PATCH over the operations limit (refused)",
            "PATCH",
            f"{SCIM}/Users/{user_ids[2]}",
            {"schemas": [PATCH_OP_URN], "Operations": filtered_ops * 2},
        ),
    ]


def _victim_run(
    client: Client, seconds: float, prefix: str, failures: dict[int, int]
) -> list[float]:
    """Entra's create cycle, one request at a time, for `seconds`: every request's latency
    (and, in `failures`, the count of each status other than 200 and 201)."""
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        name = f"{prefix}-{uuid.uuid4().hex[:12]}@victim.example"
        status, _body, elapsed = client.request("GET", filter_path("Users", "userName", name))
        latencies.append(elapsed)
        if status != 200:
            failures[status] = failures.get(status, 0) + 1
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name,
            "active": True,
            "externalId": name.split("@")[0],
            "name": {"givenName": "Victim", "familyName": "User"},
        }
        status, _body, elapsed = client.request("POST", f"{SCIM}/Users", body)
        latencies.append(elapsed)
        if status != 201:
            failures[status] = failures.get(status, 0) + 1
    return latencies


def neighbour(port: int, victim: Tenant, noisy: Tenant, seconds: float, noisy_clients: int) -> dict:
    """The victim's create cycle alone, with the neighbour's worst requests, and alone again."""
    from qaportal.accounts.models import Group, GroupMembership, User
    from scim.constants import MAX_MEMBERS_PER_LIST_PAGE

    users_seed(company_id=noisy.company_id, start=0, count=5000, prefix="noisy")
    users = list(User.objects.filter(company_id=noisy.company_id).order_by("id")[:5000])
    # Groups as large as a list page renders: the /Groups page's worst case.
    groups = [
        Group.objects.create(company_id=noisy.company_id, display_name=f"Noisy {n}")
        for n in range(2)
    ]
    per_group = min(len(users), MAX_MEMBERS_PER_LIST_PAGE // len(groups))
    GroupMembership.objects.bulk_create(
        GroupMembership(group=group, user=user) for group in groups for user in users[:per_group]
    )
    analyze()  # what autovacuum does after such a load
    requests = _worst_requests([str(u.scim_id) for u in users[:3]])

    victim_client = Client(port, victim.token)
    failures: dict[int, int] = {}
    _victim_run(victim_client, 1.0, "warm", failures)
    alone = _victim_run(victim_client, seconds / 2, "alone1", failures)

    stop = threading.Event()
    noisy_stats: dict[str, list] = {label: [] for label, *_ in requests}

    def shout(number: int) -> None:
        client = Client(port, noisy.token)
        turn = number
        while not stop.is_set():
            label, method, path, body = requests[turn % len(requests)]
            status, _body, elapsed = client.request(method, path, body)
            noisy_stats[label].append((status, elapsed))
            turn += 1

    threads = [threading.Thread(target=shout, args=(n,), daemon=True) for n in range(noisy_clients)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    crowded = _victim_run(victim_client, seconds, "crowded", failures)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    alone += _victim_run(victim_client, seconds / 2, "alone2", failures)

    def summary(latencies: list[float]) -> dict:
        return {
            "requests": len(latencies),
            "p50_ms": ms(percentile(latencies, 0.5)),
            "p99_ms": ms(percentile(latencies, 0.99)),
        }

    result = {
        "seconds": seconds,
        "noisy_clients": noisy_clients,
        "alone": summary(alone),
        "with_neighbour": summary(crowded),
        "victim_failures": {str(status): count for status, count in failures.items()},
        "neighbour": {
            label: {
                "requests": len(seen),
                "statuses": sorted({status for status, _ in seen}),
                "p50_ms": ms(statistics.median(e for _, e in seen)) if seen else None,
                "max_ms": ms(max(e for _, e in seen)) if seen else None,
            }
            for label, seen in noisy_stats.items()
        },
    }
    result["p99_multiple"] = round(
        result["with_neighbour"]["p99_ms"] / max(result["alone"]["p99_ms"], 0.001), 2
    )
    result["slowest_neighbour_ms"] = max(
        (one["max_ms"] or 0) for one in result["neighbour"].values()
    )
    result["meets_target"] = (
        not failures
        and result["p99_multiple"] <= TARGET_NEIGHBOUR_P99_MULTIPLE
        and result["slowest_neighbour_ms"] < 1000
    )
    log(
        f"neighbour: victim p99 {result['alone']['p99_ms']} ms alone, "
        f"{result['with_neighbour']['p99_ms']} ms beside the neighbour "
        f"({result['p99_multiple']}x); slowest neighbour request "
        f"{result['slowest_neighbour_ms']} ms"
    )
    return result
