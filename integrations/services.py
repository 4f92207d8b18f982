"""Writes of the integrations app: one function per use case, atomic, audited."""

import functools
import hashlib
import hmac
import inspect
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from qaportal import metrics
from qaportal.accounts.models import Company, User
from qaportal.accounts.prepared import PreparedQuery, preparing_cursor
from qaportal.enqueue import task_enqueue

from . import api_key_format
from .exceptions import ApiKeyNotRevocable
from .models import ApiKey, AuditEvent, Integration, ProvisioningEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GeneratedApiKey:
    """A new key and its plaintext, which exists only in the response that reveals it."""

    api_key: ApiKey
    plaintext: str

    def __repr__(self) -> str:  # never let the plaintext reach a log or a traceback
        return f"GeneratedApiKey(api_key={self.api_key!r})"


class KeyRejection:
    """Why a bearer key was refused; words an admin can act on."""

    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True)
class ApiKeyAuthentication:
    """The outcome of checking a bearer key.

    `api_key` is set whenever the key was found, even when it is refused, so a request made
    with a revoked or expired key can be logged for the company that owned it.
    """

    api_key: ApiKey | None
    rejection: str | None

    @property
    def is_accepted(self) -> bool:
        return self.rejection is None


def key_digest(plaintext: str) -> str:
    # Keys carry ~178 random bits, so a fast unsalted digest is safe and costs microseconds
    # per request; a password hasher here would cost ~280 ms per SCIM call.
    return hashlib.sha256(plaintext.encode("ascii")).hexdigest()


def integrations_ensure(*, company: Company) -> list[Integration]:
    """Make sure the company has one Integration row per provider. Idempotent."""
    for provider in Integration.Provider.values:
        Integration.objects.get_or_create(company=company, provider=provider)
    return list(Integration.objects.filter(company=company).order_by("provider"))


def _audit(
    *,
    company_id: int,
    action: str,
    api_key: ApiKey,
    actor: User | None,
    ip_address: str | None,
    now: datetime,
    detail: dict | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        company_id=company_id,
        action=action,
        api_key=api_key,
        key_prefix=api_key.prefix,
        actor=actor,
        ip_address=ip_address,
        detail=detail or {},
        created_at=now,
    )


def _expiry_schedule(*, api_key_id: int, deadline: datetime) -> None:
    # If the broker is down, authentication refuses the key by the clock anyway, and the beat
    # sweep (api_keys_expire_due) records the expiry once the broker is back.
    task_enqueue("integrations.tasks.api_key_expire", args=[api_key_id], eta=deadline)


@sensitive_variables("plaintext")
@transaction.atomic
def api_key_generate(
    *,
    integration: Integration,
    created_by: User | None,
    ip_address: str | None = None,
    source: str = "",
    now: datetime | None = None,
) -> GeneratedApiKey:
    """Create a key and start the grace period of the integration's current key(s).

    `source` says where a key generated outside a request came from (a management command),
    for the audit trail's "From" column.

    Keys that are already expiring keep their deadline (it is never extended). Writes an
    AuditEvent per key touched; on commit, queues each new deadline's expiry task and grace
    email. Generation
    for one integration is serialised by a row lock, so concurrent clicks leave one current key.
    """
    now = now or timezone.now()
    Integration.objects.select_for_update().filter(pk=integration.pk).get()
    deadline = now + settings.QA_KEY_GRACE_PERIOD

    superseded = list(
        ApiKey.objects.filter(
            integration=integration, revoked_at__isnull=True, expires_at__isnull=True
        )
    )
    for old_key in superseded:
        old_key.expires_at = deadline
        old_key.status = ApiKey.Status.EXPIRING
        old_key.save(update_fields=["expires_at", "status"])
        _recent_keys.forget(old_key.public_id)

    public_id = api_key_format.new_public_id()
    plaintext = api_key_format.build_key(public_id)
    api_key = ApiKey.objects.create(
        integration=integration,
        public_id=public_id,
        key_hash=key_digest(plaintext),
        last4=plaintext[-4:],
        created_by=created_by,
        created_at=now,
    )
    _audit(
        company_id=integration.company_id,
        action=AuditEvent.Action.KEY_GENERATED,
        api_key=api_key,
        actor=created_by,
        ip_address=ip_address,
        now=now,
        detail=(
            {"superseded": [key.prefix for key in superseded], "expires_at": deadline.isoformat()}
            if superseded
            else {}
        )
        | ({"source": source} if source else {}),
    )
    for old_key in superseded:
        _expiry_schedule(api_key_id=old_key.pk, deadline=deadline)
        # Lost when the broker is down; the beat sweep (api_key_notices_send_due) sends it.
        task_enqueue("integrations.tasks.api_key_grace_notice_send", args=[old_key.pk])
    return GeneratedApiKey(api_key=api_key, plaintext=plaintext)


@transaction.atomic
def api_key_revoke(
    *,
    api_key: ApiKey,
    revoked_by: User | None,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> ApiKey:
    """End a key at once. Raises ApiKeyNotRevocable if it is already revoked or expired."""
    now = now or timezone.now()
    api_key = ApiKey.objects.select_for_update().select_related("integration").get(pk=api_key.pk)
    if api_key.status_at(now) in (ApiKey.Status.REVOKED, ApiKey.Status.EXPIRED):
        raise ApiKeyNotRevocable(f"{api_key.masked} is already {api_key.status_at(now)}.")
    api_key.revoked_at = now
    api_key.revoked_by = revoked_by
    api_key.status = ApiKey.Status.REVOKED
    api_key.save(update_fields=["revoked_at", "revoked_by", "status"])
    _recent_keys.forget(api_key.public_id)  # this process refuses it at once
    _audit(
        company_id=api_key.integration.company_id,
        action=AuditEvent.Action.KEY_REVOKED,
        api_key=api_key,
        actor=revoked_by,
        ip_address=ip_address,
        now=now,
    )
    return api_key


@transaction.atomic
def api_key_expire(*, api_key_id: int, now: datetime | None = None) -> bool:
    """Record that a key's grace period has ended. Idempotent.

    Returns True when this call recorded the expiry; False when the key is gone, revoked,
    already recorded as expired, or not yet due.
    """
    now = now or timezone.now()
    api_key = (
        ApiKey.objects.select_for_update()
        .select_related("integration")
        .filter(pk=api_key_id, status=ApiKey.Status.EXPIRING, expires_at__lte=now)
        .first()
    )
    if api_key is None:
        return False
    api_key.status = ApiKey.Status.EXPIRED
    api_key.save(update_fields=["status"])
    transaction.on_commit(metrics.observe_api_key_expiry)
    _audit(
        company_id=api_key.integration.company_id,
        action=AuditEvent.Action.KEY_EXPIRED,
        api_key=api_key,
        actor=None,
        ip_address=None,
        now=now,
    )
    return True


def api_keys_expire_due(*, now: datetime | None = None) -> int:
    """Record every key whose deadline has passed; returns how many were recorded."""
    now = now or timezone.now()
    due_ids = ApiKey.objects.filter(status=ApiKey.Status.EXPIRING, expires_at__lte=now).values_list(
        "pk", flat=True
    )
    return sum(api_key_expire(api_key_id=key_id, now=now) for key_id in list(due_ids))


# Every SCIM request starts with this lookup; its SQL is compiled once (see PreparedQuery).
# public_id is unique: no ORDER BY, at most one row.
_api_key_by_public_id = PreparedQuery(
    lambda public_id: ApiKey.objects.select_related("integration").filter(public_id=public_id)[:1],
    public_id="\x01public_id",
)


class _RecentKeys:
    """The keys this process looked up in the last QA_KEY_CACHE_SECONDS, by public id.

    Entra sends every request of a cycle with one key, so most requests find it here and
    authenticate without a database round trip. What a key row can change to refuse it is
    `revoked_at` (an admin revokes it) and `expires_at` (a rotation starts its grace period):
    the clock is compared with `expires_at` on every request anyway, and a row is trusted for
    at most QA_KEY_CACHE_SECONDS, so a key revoked in any process, on any machine, is refused
    everywhere within that time (one second by default). api_key_revoke also forgets the key
    in its own process at once. Unknown ids are remembered too, so a flood of well-formed
    made-up keys costs one query per id per second, and the map is emptied when it grows past
    MAX_ENTRIES (bounded memory whatever is sent).
    """

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, ApiKey | None]] = {}

    def get(self, public_id: str) -> ApiKey | None:
        now = time.monotonic()
        entry = self._entries.get(public_id)
        if entry is not None and now - entry[0] < settings.QA_KEY_CACHE_SECONDS:
            return entry[1]
        found = _api_key_by_public_id(public_id=public_id)
        api_key = found[0] if found else None
        if settings.QA_KEY_CACHE_SECONDS > 0:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[public_id] = (now, api_key)
        return api_key

    def forget(self, public_id: str) -> None:
        self._entries.pop(public_id, None)


_recent_keys = _RecentKeys()


@sensitive_variables("raw", "parsed")
def api_key_authenticate(*, raw: str, now: datetime | None = None) -> ApiKeyAuthentication:
    """Check a bearer key by its format, one indexed lookup (at most one a second per key and
    process: _RecentKeys) and the clock.

    The digest is compared in constant time. Revoked and past-deadline keys are refused
    whatever status the expiry task has recorded. `last_used_at` is written at most once per
    QA_KEY_LAST_USED_RESOLUTION, by a conditional UPDATE (no write on most requests).
    """
    parsed = api_key_format.parse_key(raw)
    if parsed is None:
        return ApiKeyAuthentication(api_key=None, rejection=KeyRejection.MALFORMED)
    api_key = _recent_keys.get(parsed.public_id)
    if api_key is None or not hmac.compare_digest(api_key.key_hash, key_digest(parsed.plaintext)):
        return ApiKeyAuthentication(api_key=None, rejection=KeyRejection.UNKNOWN)

    now = now or timezone.now()
    status = api_key.status_at(now)
    if status == ApiKey.Status.REVOKED:
        return ApiKeyAuthentication(api_key=api_key, rejection=KeyRejection.REVOKED)
    if status == ApiKey.Status.EXPIRED:
        return ApiKeyAuthentication(api_key=api_key, rejection=KeyRejection.EXPIRED)

    stale_before = now - settings.QA_KEY_LAST_USED_RESOLUTION
    if api_key.last_used_at is None or api_key.last_used_at <= stale_before:
        ApiKey.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale_before), pk=api_key.pk
        ).update(last_used_at=now)
        api_key.last_used_at = now
    return ApiKeyAuthentication(api_key=api_key, rejection=None)


# --- The activity log of SCIM requests ---


def _clip(value: str, field: str) -> str:
    # Request data is logged as it came, minus NUL (which PostgreSQL text cannot hold).
    value = value.replace("\x00", "")
    max_length = ProvisioningEvent._meta.get_field(field).max_length
    return value[:max_length] if max_length else value


_CLIPPED_EVENT_FIELDS = (
    "method",
    "path",
    "operation",
    "resource_type",
    "resource_id",
    "resource_name",
    "scim_type",
    "detail",
)


def _event_values(
    *,
    company_id: int | None,
    api_key_id: int | None,
    method: str,
    path: str,
    operation: str,
    status_code: int,
    outcome: str,
    resource_type: str = "",
    resource_id: str = "",
    resource_name: str = "",
    scim_type: str = "",
    detail: str = "",
    changes: dict | None = None,
    duration_ms: int = 0,
) -> dict:
    """One activity row's values as stored: text cut to its column, no negative duration.

    The fields of provisioning_event_record and provisioning_event_log, named once here.
    """
    values = {
        "company_id": company_id,
        "api_key_id": api_key_id,
        "method": method,
        "path": path,
        "operation": operation,
        "resource_type": resource_type,
        "resource_id": resource_id,
        "resource_name": resource_name,
        "status_code": status_code,
        "outcome": outcome,
        "scim_type": scim_type,
        "detail": detail,
        "changes": changes or {},
        "duration_ms": max(duration_ms, 0),
    }
    for name in _CLIPPED_EVENT_FIELDS:
        values[name] = _clip(values[name], name)
    return values


def provisioning_event_record(*, now: datetime | None = None, **fields) -> ProvisioningEvent:
    """Store one SCIM request of the activity log (one INSERT, no transaction of its own).

    `company_id` is the key's company whenever the key was found, even when it was refused
    (revoked or expired), so the admin sees that Entra still uses an old key. Callers pass
    the path without its query string and never a header or a key; values longer than their
    column are cut, so logging never fails on a long userName.
    """
    return ProvisioningEvent.objects.create(
        **_event_values(**fields), created_at=now or timezone.now()
    )


# The INSERT's columns, in the order of _event_values' fields.
_EVENT_FIELDS = (*inspect.signature(_event_values).parameters, "created_at")


@functools.cache
def _event_sql(vendor: str) -> tuple[str, str]:
    """The activity row's `INSERT … VALUES`, and (PostgreSQL) the `INSERT … SELECT … FROM
    written` that follows a write's WITH; built once per database vendor."""
    quote = connection.ops.quote_name
    table = quote(ProvisioningEvent._meta.db_table)
    fields = [ProvisioningEvent._meta.get_field(name) for name in _EVENT_FIELDS]
    columns = ", ".join(quote(field.column) for field in fields)
    # Table and column names come from the model; every value is a parameter.
    insert = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    # Values of a SELECT list get no type from the INSERT's columns: cast each to its column's
    # type, so bound parameters (NULL included) need none of their own.
    casts = ", ".join(f"CAST(%s AS {field.cast_db_type(connection)})" for field in fields)
    after_write = (
        f"INSERT INTO {table} ({columns}) SELECT {casts} FROM written "  # noqa: S608
        "RETURNING (SELECT * FROM written)"
    )
    return insert, after_write


def _event_params(fields: dict) -> list:
    values = _event_values(**fields)
    for name, value in (("created_at", timezone.now()), ("changes", values["changes"])):
        values[name] = ProvisioningEvent._meta.get_field(name).get_db_prep_save(value, connection)
    return [values[name] for name in _EVENT_FIELDS]


def provisioning_event_log_with_write(
    *, write: tuple[str, Sequence[Any]], **fields
) -> tuple | None:
    """Run `write` (one INSERT or UPDATE … RETURNING a single column: the change a SCIM request
    makes) and the request's activity row together: one statement and one commit on
    PostgreSQL (a data-modifying WITH), a transaction elsewhere. Both are written or neither.

    Returns the write's RETURNING row, or None when it touched no row; then no activity row
    is written either (the caller reads again, or records what happened). The change and its
    log row share one durable commit: no crash loses the row of a change that was answered.
    """
    write_sql, write_params = write
    event_params = _event_params(fields)
    vendor = connection.vendor
    insert, after_write = _event_sql(vendor)
    if vendor == "postgresql":
        with preparing_cursor() as cursor:
            cursor.execute(
                f"WITH written AS ({write_sql}) {after_write}", [*write_params, *event_params]
            )
            return cursor.fetchone()
    with connection.cursor() as cursor, transaction.atomic(savepoint=False):
        cursor.execute(write_sql, write_params)
        row = cursor.fetchone()
        if row is not None:
            cursor.execute(insert, event_params)
        return row


def provisioning_event_log(*, durable: bool = True, **fields) -> None:
    """provisioning_event_record for the SCIM hot path: the same row, one plain INSERT.

    Every SCIM request writes one row, so the INSERT is built once and run without the ORM's
    model save (no instance), as a statement prepared on PostgreSQL. Inside a transaction it
    joins it (and is as durable as the change it records). Outside one, with `durable=False`
    on PostgreSQL, it commits without waiting for its WAL flush (`synchronous_commit = off`
    for that statement only, set by the statement itself): an operating-system crash may lose
    the last fraction of a second of log rows, never a change, and a request no longer waits
    for a second flush to disk.
    """
    params = _event_params(fields)
    sql = _event_sql(connection.vendor)[0]
    if not durable and connection.vendor == "postgresql" and connection.get_autocommit():
        # SET LOCAL inside the statement itself: its implicit transaction commits with it
        # (in autocommit only: in a transaction it would last until that commits).
        sql += " RETURNING set_config('synchronous_commit', 'off', true)"
    with preparing_cursor() as cursor:
        cursor.execute(sql, params)
