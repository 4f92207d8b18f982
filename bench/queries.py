"""SQL per request: Django's query count and what libpq's trace shows on the wire."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import (
    OUT,
    SCIM,
    Tenant,
    filter_path,
)
from bench.scenarios import (
    members_add_body,
)

# --------------------------------------------------------------------------- query counts

# Query budgets per SCIM request (auth and the activity-log write included).
QUERY_BUDGETS = {
    "filter userName (miss)": 3,
    "filter userName (hit)": 3,
    "GET /Users/{id}": 3,
    "POST /Users": 4,
    "PATCH /Users/{id}, 2 ops": 5,
    "PATCH /Users/{id}, 6 ops": 5,
    "list page of 100": 4,
    "POST /Groups": None,
    "PATCH /Groups/{id} +100 members": 8,
    "PATCH /Groups/{id} +5,000 members": 8,
    "PATCH /Groups/{id} re-add 5,000": 8,
}


@contextmanager
def wire_trace() -> Iterator[dict]:
    """What really crosses the wire to PostgreSQL, from libpq's own trace (PQtrace).

    Django's query log misses the health-check `SELECT 1`, psycopg's implicit BEGIN and
    COMMIT; the trace has them all. Fills `roundtrips` (client messages that wait for an
    answer; a statement's preparation, once per connection, is left out) and `durable_commits`
    (commits of a transaction that wrote, each waiting for a WAL flush to disk).
    """
    from django.db import connection
    from psycopg import pq

    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    handle, trace_path = tempfile.mkstemp(prefix="bench-trace-")
    pgconn.trace(handle)
    pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
    outcome: dict = {}
    try:
        yield outcome
    finally:
        pgconn.untrace()
        text = Path(trace_path).read_text(errors="replace")
        os.unlink(trace_path)
        roundtrips = durable = 0
        in_transaction = wrote = False
        # The extended protocol (bound parameters, prepared statements): Parse names a
        # statement's SQL, Bind runs one, Sync ends the round trip.
        parsed: dict[str, str] = {}
        bound: str | None = None
        for line in text.splitlines():
            parts = line.split("\t", 3)
            if len(parts) < 3 or parts[0] != "F":
                continue
            message, body = parts[2], (parts[3] if len(parts) > 3 else "").strip()
            if message == "Parse":
                name, _, sql = body.partition(" ")
                parsed[name] = sql
                continue
            if message == "Bind":
                bound = parsed.get(body.split(" ", 2)[1], "")
                continue
            if message == "Query":
                sql = body
            elif message == "Sync":
                if bound is None:
                    # A statement's preparation: once per connection, not per request.
                    continue
                sql, bound = bound, None
            else:
                continue
            roundtrips += 1
            sql = sql.strip('"')
            verb = sql.split(" ", 1)[0].upper()
            if verb == "BEGIN":
                in_transaction, wrote = True, False
            elif verb == "COMMIT":
                durable += wrote
                in_transaction = False
            elif (
                verb in ("INSERT", "UPDATE", "DELETE")
                or (
                    # A data-modifying WITH (a write and its activity row in one statement).
                    verb == "WITH"
                    and any(w in sql.upper() for w in ("INSERT ", "UPDATE ", "DELETE "))
                )
            ) and "synchronous_commit" not in sql:
                if in_transaction:
                    wrote = True
                else:
                    durable += 1
        outcome.update(roundtrips=roundtrips, durable_commits=durable)


def query_counts(tenant: Tenant) -> dict:
    """Count the SQL of each request kind, in-process on the bench database (Django's client).

    Cheap, and exact where the load runs only show time: the SQL of each kind is written to
    var/bench/queries.txt.
    """
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    from qaportal.accounts.models import User

    client = DjangoClient(
        raise_request_exception=False,
        HTTP_HOST="127.0.0.1",
        HTTP_AUTHORIZATION=f"Bearer {tenant.token}",
    )
    results: dict[str, dict] = {}
    dump: list[str] = []

    def measure(label: str, method: str, path: str, body: dict | None = None):
        call = getattr(client, method.lower())
        with wire_trace() as wire, CaptureQueriesContext(connection) as captured:
            if body is None:
                response = call(path)
            else:
                response = call(path, data=json.dumps(body), content_type="application/scim+json")
        budget = QUERY_BUDGETS.get(label)
        count = len(captured.captured_queries)
        statements = sum(
            1
            for query in captured.captured_queries
            if (query["sql"] or "").split(" ", 1)[0] not in ("BEGIN", "COMMIT", "ROLLBACK")
        )
        results[label] = {
            "status": response.status_code,
            "queries": count,
            "statements": statements,
            "budget": budget,
            **wire,
        }
        dump.append(f"== {label}: {method} {path} -> {response.status_code}, {count} queries")
        dump.extend(
            f"  {(q['sql'] or '(a statement prepared earlier on the connection)')[:2500]}"
            for q in captured.captured_queries
        )
        return response

    # The key's last_used_at is written at most once a minute: not part of any one request.
    client.get(f"{SCIM}/ServiceProviderConfig")
    existing = User.objects.filter(company_id=tenant.company_id).order_by("id")
    member_ids = [str(i) for i in existing.values_list("scim_id", flat=True)[:5000]]
    name = existing.first().user_name
    measure("filter userName (miss)", "GET", filter_path("Users", "userName", "nobody@x.example"))
    measure("filter userName (hit)", "GET", filter_path("Users", "userName", name.upper()))
    created = measure(
        "POST /Users",
        "POST",
        f"{SCIM}/Users",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "query.count@contoso.example",
            "externalId": "query-count",
            "active": True,
            "emails": [{"primary": True, "type": "work", "value": "query.count@contoso.example"}],
            "name": {"givenName": "Query", "familyName": "Count", "formatted": "Query Count"},
        },
    )
    user_id = created.json().get("id") if created.status_code == 201 else member_ids[0]
    measure("GET /Users/{id}", "GET", f"{SCIM}/Users/{user_id}")
    operations = [
        {"op": "Replace", "path": "displayName", "value": "Renamed"},
        {"op": "Replace", "path": "name.familyName", "value": "Renamed"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "renamed@x.example"},
        {"op": "Replace", "path": "title", "value": "Engineer"},
        {"op": "Add", "path": "nickName", "value": "Babs"},
        {"op": "Replace", "path": "active", "value": "False"},
    ]
    patch_schema = ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]
    measure(
        "PATCH /Users/{id}, 2 ops",
        "PATCH",
        f"{SCIM}/Users/{user_id}",
        {"schemas": patch_schema, "Operations": operations[:2]},
    )
    measure(
        "PATCH /Users/{id}, 6 ops",
        "PATCH",
        f"{SCIM}/Users/{user_id}",
        {"schemas": patch_schema, "Operations": operations},
    )
    measure("list page of 100", "GET", f"{SCIM}/Users?startIndex=1&count=100")
    group = measure(
        "POST /Groups",
        "POST",
        f"{SCIM}/Groups",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Query count",
            "externalId": "query-count",
        },
    )
    if group.status_code == 201:
        group_path = f"{SCIM}/Groups/{group.json()['id']}"
        measure(
            "PATCH /Groups/{id} +100 members",
            "PATCH",
            group_path,
            members_add_body(member_ids[:100]),
        )
        measure(
            "PATCH /Groups/{id} +5,000 members", "PATCH", group_path, members_add_body(member_ids)
        )
        measure(
            "PATCH /Groups/{id} re-add 5,000", "PATCH", group_path, members_add_body(member_ids)
        )
    # The ceiling's requests of the two cycles, for comparison.
    ceiling = f"/bench/ceiling/{tenant.company_id}/Users"
    measure("ceiling: GET lookup", "GET", f"{ceiling}?userName=nobody%40x.example")
    measure(
        "ceiling: POST insert",
        "POST",
        ceiling,
        {"userName": "ceiling.count@contoso.example", "externalId": "ceiling-count"},
    )
    measure(
        "ceiling: PATCH 2 attributes",
        "PATCH",
        f"{ceiling}/{member_ids[1]}",
        {"schemas": patch_schema, "Operations": operations[:2]},
    )
    (OUT / "queries.txt").write_text("\n".join(dump) + "\n")
    return results
