"""Writes of provisioned users (learners): one function per use case.

Creating and updating a user is one SQL statement (an INSERT with the scim_id, or one UPDATE of
the changed columns), atomic on its own: no BEGIN/COMMIT round trips are added for it, which
keeps a SCIM PATCH of any number of operations within its query budget. Inside a caller's
transaction the statement gets a savepoint, so a uniqueness error leaves that transaction
usable.
"""

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from ..exceptions import InvalidManager, InvalidProfile, UserNameTaken
from ..models import User

USER_NAME_CONSTRAINT = "accounts_user_company_user_name_ci_uniq"

# Fields a provisioning client may write; work_email is derived from emails here.
PROFILE_FIELDS = frozenset(
    {
        "user_name",
        "external_id",
        "is_active",
        "given_name",
        "family_name",
        "formatted_name",
        "display_name",
        "nick_name",
        "title",
        "emails",
        "phone_numbers",
        "addresses",
        "employee_number",
        "department",
        "manager",
    }
)


def work_email_of(emails: list) -> str:
    """The value of the first email whose type is "work" (any case), else "".

    Raises InvalidProfile when that value is not a string (or number), or is longer than
    the work_email column.
    """
    for item in emails or []:
        if isinstance(item, dict) and str(item.get("type", "")).lower() == "work":
            value = item.get("value")
            if value is None:
                return ""
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise InvalidProfile('The value of the "work" email must be a string.')
            text = str(value)
            max_length = User._meta.get_field("work_email").max_length
            if len(text) > max_length:
                raise InvalidProfile(
                    f'The value of the "work" email is longer than {max_length} characters.'
                )
            return text
    return ""


def _check(*, user: User, changes: Mapping[str, Any]) -> None:
    unknown = set(changes) - PROFILE_FIELDS
    if unknown:
        raise ValueError(f"Not profile fields: {sorted(unknown)}")
    if "user_name" in changes and not (changes["user_name"] or "").strip():
        raise InvalidProfile("userName is required and cannot be empty.")
    manager = changes.get("manager")
    if manager is not None and (
        manager.company_id != user.company_id or (user.pk and manager.pk == user.pk)
    ):
        raise InvalidManager("The manager must be another user of the same company.")


def single_statement() -> AbstractContextManager:
    """A savepoint when called inside a transaction; nothing otherwise (see module docstring)."""
    return transaction.atomic() if transaction.get_connection().in_atomic_block else nullcontext()


def _is_user_name_conflict(exc: IntegrityError) -> bool:
    return USER_NAME_CONSTRAINT in str(exc)


# Runs a user's write in place of the ORM: (sql, params, user) -> the RETURNING row, or None
# when the statement touched no row. The SCIM services pass one that adds the request's
# activity row to the same statement (integrations.services.provisioning_event_log_with_write).
StatementRunner = Callable[[str, Sequence[Any], User], tuple | None]


_INSERT_FIELDS = [field for field in User._meta.local_concrete_fields if not field.primary_key]
_insert_sql: dict[str, str] = {}


def _insert_statement(user: User) -> tuple[str, list[Any]]:
    """The INSERT … RETURNING id of `user`, as save(force_insert=True) would send it."""
    sql = _insert_sql.get(connection.vendor)
    if sql is None:
        meta, quote = User._meta, connection.ops.quote_name
        sql = _insert_sql[connection.vendor] = (
            f"INSERT INTO {quote(meta.db_table)} "  # noqa: S608 - names from the model
            f"({', '.join(quote(field.column) for field in _INSERT_FIELDS)}) "
            f"VALUES ({', '.join(['%s'] * len(_INSERT_FIELDS))}) "
            f"RETURNING {quote(meta.pk.column)}"
        )
    return sql, [
        field.get_db_prep_save(field.pre_save(user, True), connection) for field in _INSERT_FIELDS
    ]


def _update_statement(
    user: User, names: list[str], unmodified_since: datetime | None
) -> tuple[str, list[Any]]:
    """The UPDATE of `names` (and updated_at) of `user` … RETURNING id, applying only to the
    row as read when `unmodified_since` is given."""
    meta, quote = User._meta, connection.ops.quote_name
    fields = [meta.get_field(name) for name in [*names, "updated_at"]]
    sql = (
        f"UPDATE {quote(meta.db_table)} "  # noqa: S608 - names from the model
        f"SET {', '.join(f'{quote(field.column)} = %s' for field in fields)} "
        f"WHERE {quote(meta.pk.column)} = %s"
    )
    params = [field.get_db_prep_save(getattr(user, field.attname), connection) for field in fields]
    params.append(user.pk)
    if unmodified_since is not None:
        updated_at = meta.get_field("updated_at")
        sql += f" AND {quote(updated_at.column)} = %s"
        params.append(updated_at.get_db_prep_save(unmodified_since, connection))
    return f"{sql} RETURNING {quote(meta.pk.column)}", params


def user_provision(
    *, company_id: int, profile: Mapping[str, Any], execute: StatementRunner | None = None
) -> User:
    """Create a learner of the company from SCIM attributes (one INSERT, scim_id included).

    `profile` holds PROFILE_FIELDS; `user_name` is required. The learner has no password
    and signs in through the company's SSO. Raises UserNameTaken when the company already
    has the userName (case-insensitively; other companies do not count), InvalidProfile or
    InvalidManager for values the model cannot hold. `execute` runs the INSERT instead of
    the ORM (see StatementRunner).
    """
    user = User(company_id=company_id, role=User.Role.LEARNER, email=None)
    _check(user=user, changes=profile)
    if "user_name" not in profile:
        raise InvalidProfile("userName is required.")
    for field, value in profile.items():
        setattr(user, field, value)
    user.work_email = work_email_of(user.emails)
    user.set_unusable_password()
    try:
        with single_statement():
            if execute is None:
                user.save(force_insert=True)
            else:
                sql, params = _insert_statement(user)
                (user.pk,) = execute(sql, params, user)
                user._state.adding, user._state.db = False, connection.alias
    except IntegrityError as exc:
        if _is_user_name_conflict(exc):
            raise UserNameTaken(user.user_name or "") from None
        raise
    return user


class UserChangedMeanwhile(Exception):
    """user_update(unmodified_since=…) found the row changed (or deleted) since it was read."""


def user_update(
    *,
    user: User,
    changes: Mapping[str, Any],
    unmodified_since: datetime | None = None,
    execute: StatementRunner | None = None,
) -> list[str]:
    """Apply profile changes to a learner with one UPDATE of the changed columns only.

    Returns the changed field names; an empty list means nothing was written (a no-op PATCH).
    Deactivation (`is_active` False) keeps the account and its history, and stops sign-in;
    reactivation restores the same account. Raises UserNameTaken, InvalidProfile or
    InvalidManager, leaving the row unchanged.

    With `unmodified_since` (the `updated_at` the changes were computed from), the UPDATE
    applies only if the row still has it, and raises UserChangedMeanwhile otherwise: a
    read-modify-write without a lock, BEGIN or COMMIT that never overwrites a concurrent
    change; the caller reads again and retries. `execute` runs the UPDATE instead of the ORM
    (see StatementRunner); it is not called when nothing changes.
    """
    _check(user=user, changes=changes)
    changed = []
    for field, value in changes.items():
        current = user.manager_id if field == "manager" else getattr(user, field)
        new = value.pk if field == "manager" and value is not None else value
        if current != new:
            setattr(user, field, value)
            changed.append(field)
    if "emails" in changed:
        work_email = work_email_of(user.emails)
        if work_email != user.work_email:
            user.work_email = work_email
            changed.append("work_email")
    if not changed:
        return []
    user.updated_at = timezone.now()
    try:
        with single_statement():
            if execute is not None:
                sql, params = _update_statement(user, changed, unmodified_since)
                if execute(sql, params, user) is None:
                    if unmodified_since is not None:
                        raise UserChangedMeanwhile(user.pk)
                    raise DatabaseError("The user to update is gone.")
            elif unmodified_since is None:
                user.save(update_fields=[*changed, "updated_at"])
            else:
                rows = User.objects.filter(pk=user.pk, updated_at=unmodified_since).update(
                    updated_at=user.updated_at, **{field: getattr(user, field) for field in changed}
                )
                if rows == 0:
                    raise UserChangedMeanwhile(user.pk)
    except IntegrityError as exc:
        if _is_user_name_conflict(exc):
            raise UserNameTaken(user.user_name or "") from None
        raise
    return changed


@transaction.atomic(savepoint=False)
def user_delete(*, user: User) -> None:
    """Delete a learner for good (Entra's hard delete).

    Team memberships go with the user; reports keep their rows with no manager. The userName
    is free again in the company afterwards.
    """
    user.delete()
