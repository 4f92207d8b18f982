"""Querysets compiled to SQL once per process, then run with new values on every call.

Building and compiling a queryset costs the web worker more CPU than PostgreSQL spends
answering an indexed lookup: py-spy put ORM query building and compiling at ~60% of a SCIM
worker's time, for the same few lookups on every request (the API key, a user by id or by
userName). Their SQL depends only on the query's shape, so it is made once, with placeholder
values, and reused; rows become model instances the way the ORM makes them (the same
converters, `select_related` objects and annotations). The queries still go through a cursor
Django's connection makes, so its query counting, health checks and error wrapping apply.

On PostgreSQL the statement is also prepared on the server, once per connection
(`preparing_cursor`): planning the user lookup (a join, a subquery, and a table of many
indexes to weigh) took PostgreSQL ~0.19 ms against ~0.03 ms to run it, and the values travel
as bound parameters instead of being quoted into the SQL text by the client.
QA_DB_PREPARED_STATEMENTS=0 (for a pooler that does not keep a connection's prepared
statements) leaves the statements unprepared. psycopg forgets a connection's prepared
statements after any rollback (a savepoint's too) and prepares them again five runs later:
rare on the SCIM path, whose writes are single statements.

Tenancy is unaffected: the company is a parameter of the compiled SQL like any other value.
Not for `select_for_update` (Django compiles that only inside a transaction).
"""

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from psycopg.pq import TransactionStatus

# How a placeholder's value becomes the parameter the backend was given for it: as is, or
# as SQLite's 32-digit hex for a UUIDField.
_PREPARATIONS: tuple[Callable[[Any], Any], ...] = (
    lambda value: value,
    lambda value: value.hex if isinstance(value, uuid.UUID) else None,
)


@dataclass(frozen=True)
class _Plan:
    sql: str
    params: tuple
    slots: tuple[tuple[int, str, Callable[[Any], Any]], ...]
    model: type[Model]
    init_list: tuple[str, ...]
    model_start: int
    model_end: int
    related_populators: tuple
    annotation_col_map: dict[str, int]
    converters: tuple[tuple[int, tuple, Any], ...]


class PreparedQuery:
    """A queryset of a fixed shape whose SQL is compiled once per database and process.

    `build(**placeholders)` returns the queryset; it is called once with the `placeholders`
    (distinctive sample values, one per parameter name) and each placeholder must appear
    among the compiled SQL's parameters. Calling the PreparedQuery with the same names runs
    that SQL with the given values and returns the model instances.
    """

    def __init__(self, build: Callable[..., QuerySet], **placeholders: Any):
        self._build = build
        self._placeholders = placeholders
        self._plans: dict[tuple[str, str], _Plan] = {}
        self._lock = threading.Lock()

    def _plan(self, using: str) -> _Plan:
        connection = connections[using]
        key = (using, connection.vendor)
        plan = self._plans.get(key)
        if plan is None:
            with self._lock:
                plan = self._plans.get(key) or self._compile(using)
                self._plans[key] = plan
        return plan

    def _compile(self, using: str) -> _Plan:
        queryset = self._build(**self._placeholders)
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        slots = []
        for name, placeholder in self._placeholders.items():
            found = False
            for position, param in enumerate(params):
                for prepare in _PREPARATIONS:
                    if prepare(placeholder) == param and type(prepare(placeholder)) is type(param):
                        slots.append((position, name, prepare))
                        found = True
                        break
            if not found:
                raise ValueError(f"The placeholder {name!r} is not a parameter of {sql!r}.")
        select, klass_info = compiler.select, compiler.klass_info
        fields = [column[0] for column in select[: compiler.col_count]]
        converters = tuple(
            (position, tuple(functions), expression)
            for position, (functions, expression) in compiler.get_converters(fields).items()
        )
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        return _Plan(
            sql=sql,
            params=tuple(params),
            slots=tuple(slots),
            model=klass_info["model"],
            init_list=tuple(column[0].target.attname for column in select[start:end]),
            model_start=start,
            model_end=end,
            related_populators=tuple(get_related_populators(klass_info, select, using)),
            annotation_col_map=dict(compiler.annotation_col_map or {}),
            converters=converters,
        )

    @property
    def sql(self) -> str:
        """The compiled SQL on the default database (for tests and EXPLAIN)."""
        return self._plan(DEFAULT_DB_ALIAS).sql

    def __call__(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[Model]:
        plan = self._plan(using)
        params = list(plan.params)
        for position, name, prepare in plan.slots:
            params[position] = prepare(values[name])
        connection = connections[using]
        with preparing_cursor(connection) as cursor:
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        results = []
        for raw in rows:
            row = list(raw)
            for position, functions, expression in plan.converters:
                value = row[position]
                for convert in functions:
                    value = convert(value, expression, connection)
                row[position] = value
            obj = plan.model.from_db(
                using, list(plan.init_list), row[plan.model_start : plan.model_end]
            )
            for populator in plan.related_populators:
                populator.populate(row, obj)
            for attribute, position in plan.annotation_col_map.items():
                setattr(obj, attribute, row[position])
            results.append(obj)
        return results


def preparing_cursor(connection: BaseDatabaseWrapper | None = None):
    """A cursor of `connection` (the default database) as `connection.cursor()` makes it
    (health check, query counting, error wrapping) that, on PostgreSQL with prepared
    statements allowed (OPTIONS prepare_threshold, see QA_DB_PREPARED_STATEMENTS), binds values
    on the server and prepares a statement once it has run `prepare_threshold` times on the
    connection: for SQL of a few fixed shapes run on every request. One statement per
    execute()."""
    # Resolved once: each attribute of django.db.connection is a lookup in a context-local.
    connection = connection or connections[DEFAULT_DB_ALIAS]
    if (
        connection.vendor != "postgresql"
        or connection.settings_dict["OPTIONS"].get("prepare_threshold") is None
    ):
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(_PreparingCursor(connection.connection))


class _PreparingCursor(ServerBindingCursor):
    """Django's server-side binding cursor, surviving a migration that changed the type of a
    column one of its connection's prepared statements returns.

    PostgreSQL then refuses the statement ("cached plan must not change result type") on
    every run until the connection closes (up to DJANGO_CONN_MAX_AGE later), and the health
    check does not notice. Outside a transaction nothing has run yet when it refuses: forget
    the connection's prepared statements (psycopg forgets its own on DEALLOCATE ALL) and run
    the statement again, to be prepared afresh."""

    def execute(self, query, params=None, **kwargs):
        try:
            return super().execute(query, params, **kwargs)
        except psycopg.errors.FeatureNotSupported as exc:
            if (
                "cached plan must not change result type" not in str(exc)
                or self.connection.info.transaction_status != TransactionStatus.IDLE
            ):
                raise
            self.connection.execute("DEALLOCATE ALL")
            return super().execute(query, params, **kwargs)
