"""SCIM writes of users (learners): create, replace, patch, delete.

Each function takes the company of the request's API key, resolves the manager it references
within the company, writes the change and its activity row, and returns a ChangeRecord.

A create or an update is one SQL statement that writes the user and the request's activity row
together (RequestActivity.write_with_row): one round trip and one commit, no BEGIN/COMMIT of its
own, and never a change without its log row. An update is a read-modify-write without a lock
that applies only to the row as it was read (`updated_at` unchanged); when a concurrent request
changed it meanwhile, it is read again locked, in a transaction, and applied once more (never
more than twice). An update that changes nothing writes only its activity row. A deletion runs
in a transaction (row lock, cascades) that commits its activity row with it.
"""

import copy
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from django.db import transaction

from integrations.changes import (
    ChangeRecord,
    ChangeSet,
    SkippedReference,
    attribute_changes,
)
from integrations.models import ProvisioningEvent
from qaportal.accounts.models import User
from qaportal.accounts.services.users import UserChangedMeanwhile, user_provision, user_update
from qaportal.accounts.services.users import user_delete as account_delete

from .. import selectors
from ..activity import RequestActivity
from ..adapters import USER_ATTRIBUTE_NAMES, ScimUser
from ..errors import InvalidValue, NotFound
from ..paging import user_page_anchors_forget
from ..patch import Operation
from ..versions import require_version, version_of
from .references import manager_get, referenced_users_may_vanish

Op = ProvisioningEvent.Operation

_MANAGER_VANISHED = "The manager was deleted meanwhile; nothing changed."


def user_create(
    *, company_id: int, profile: dict[str, Any], activity: RequestActivity
) -> ChangeRecord:
    """Create a learner from a POST body's profile (ScimUser.profile_from_resource).

    A manager id that is not a user of the company is left unset and listed as skipped, so a
    dangling reference never blocks the user itself. Raises UserNameTaken (409) when the
    company has the userName in any case, InvalidValue for values the model cannot hold.
    """
    activity.about(resource_name=profile["user_name"])
    profile = dict(profile)
    manager_id = profile.pop("manager")
    manager = None
    skipped: tuple[SkippedReference, ...] = ()
    if manager_id is not None:
        manager = manager_get(company_id=company_id, manager_id=manager_id)
        if manager is None:
            skipped = (SkippedReference(attribute="manager", value=manager_id),)
    after = {**profile, "manager": str(manager.scim_id) if manager else None}
    changes = ChangeSet(
        attributes=attribute_changes({}, _created(after), USER_ATTRIBUTE_NAMES), skipped=skipped
    )
    with referenced_users_may_vanish("The manager was deleted meanwhile; no user was created."):
        user = user_provision(
            company_id=company_id,
            profile={**profile, "manager": manager},
            execute=activity.write_with_row(operation=Op.CREATE_USER, changes=changes),
        )
    user.manager_scim_id = after["manager"]
    return ChangeRecord(operation=Op.CREATE_USER, resource=user, changes=changes)


def user_replace(
    *,
    company_id: int,
    scim_id: str,
    body: dict[str, Any],
    activity: RequestActivity,
    if_match: str | None = None,
) -> ChangeRecord:
    """Replace a learner's attributes with a PUT body (RFC 7644 §3.5.1).

    Attributes left out are cleared, except `active`: a PUT without it keeps the account's
    state (it never reactivates). An unknown manager is left unset and listed as skipped.
    With `if_match`, 412 unless it names the version the PUT applies to (RFC 7644 §3.14).
    """
    keeps_state = not any(str(key).lower() == "active" for key in body)

    def replaced(user: User, before: dict) -> dict:
        after = ScimUser.profile_from_resource(body)
        if keeps_state:
            after["is_active"] = user.is_active
        return after

    return _write(
        company_id=company_id,
        scim_id=scim_id,
        activity=activity,
        operation=Op.REPLACE_USER,
        new_profile=replaced,
        strict=False,
        if_match=if_match,
    )


def user_patch(
    *,
    company_id: int,
    scim_id: str,
    operations: list[Operation],
    activity: RequestActivity,
    with_groups: bool = True,
    if_match: str | None = None,
) -> ChangeRecord:
    """Apply normalised PATCH operations (scim.patch.normalize_patch) to a learner, atomically.

    The manager the operations name is looked up in the same query as the user; all
    operations are applied in memory and written by one UPDATE (none when nothing changes).
    An unknown manager is a 400 invalidValue: Entra counts it as a reference failure and sends
    it again once the manager exists.
    """

    def patched(user: User, before: dict) -> dict:
        after = copy.deepcopy(before)
        for operation in operations:
            ScimUser.apply(after, operation)
        return after

    return _write(
        company_id=company_id,
        scim_id=scim_id,
        activity=activity,
        operation=Op.UPDATE_USER,
        new_profile=patched,
        strict=True,
        manager_id=ScimUser.requested_manager(operations),
        with_groups=with_groups,
        if_match=if_match,
    )


def user_delete(
    *, company_id: int, scim_id: str, activity: RequestActivity, if_match: str | None = None
) -> ChangeRecord:
    """Delete a learner for good (Entra's hard delete); the userName is free again after.

    The user's row is locked first, so a concurrent team PATCH adding them either commits
    before the deletion collects the memberships or fails its foreign key check after it.
    With `if_match`, 412 unless it names the locked row's version.
    """
    with activity.change_recording(), transaction.atomic():
        user = selectors.user_get(
            company_id=company_id, scim_id=scim_id, with_groups=False, for_update=True
        )
        if user is None:
            raise NotFound(f"User {scim_id} not found.")
        activity.about(resource_name=user.user_name or "")
        require_version(if_match, version_of(user.updated_at))
        account_delete(user=user)
        # The users after this one move up a position: remembered page starts are wrong now.
        user_page_anchors_forget(company_id=company_id)
        change = ChangeRecord(operation=Op.DELETE_USER, resource=user)
        activity.record_change(change)
    return change


def _write(
    *,
    company_id: int,
    scim_id: str,
    activity: RequestActivity,
    operation: str,
    new_profile: Callable[[User, dict], dict],
    strict: bool,
    manager_id: str | None = None,
    with_groups: bool = True,
    if_match: str | None = None,
) -> ChangeRecord:
    """Read the user, compute its new profile and write the difference, then record it.

    First without a transaction, writing only if the row is unchanged since the read; when a
    concurrent request changed it meanwhile, once more with the row locked in a transaction
    (which then holds the activity row too). The operations are applied twice at most.
    `if_match` is checked against each read, so a change in between is a 412, not a retry.
    """

    def attempt(*, locked: bool) -> ChangeRecord:
        with (
            activity.change_recording(),
            referenced_users_may_vanish(_MANAGER_VANISHED),
            transaction.atomic() if locked else nullcontext(),
        ):
            user = selectors.user_get(
                company_id=company_id,
                scim_id=scim_id,
                manager_scim_id=manager_id,
                with_groups=with_groups,
                for_update=locked,
            )
            if user is None:
                raise NotFound(f"User {scim_id} not found.")
            activity.about(resource_name=user.user_name or "")
            require_version(if_match, version_of(user.updated_at))
            before = ScimUser(user).current_profile()
            change = _update(
                user,
                before=before,
                after=new_profile(user, before),
                strict=strict,
                operation=operation,
                activity=activity,
                prefetched_manager=(manager_id, user.requested_manager_pk) if manager_id else None,
                unmodified_since=None if locked else user.updated_at,
            )
            return change

    try:
        return attempt(locked=False)
    except UserChangedMeanwhile:
        return attempt(locked=True)


def _update(
    user: User,
    *,
    before: dict,
    after: dict,
    strict: bool,
    operation: str,
    activity: RequestActivity,
    prefetched_manager: tuple[str, int | None] | None = None,
    unmodified_since: datetime | None = None,
) -> ChangeRecord:
    """Write what differs between `before` and `after` with the activity row (one statement),
    or only the row when nothing differs, and say what changed.

    `prefetched_manager` is (id, primary key or None) of a manager looked up with the user;
    with `unmodified_since`, UserChangedMeanwhile when the row changed since it was read.
    """
    changes = {field: value for field, value in after.items() if before.get(field) != value}
    skipped: tuple[SkippedReference, ...] = ()
    if "manager" in changes:
        manager_id = changes["manager"]
        manager = _manager_get(user, manager_id, prefetched_manager) if manager_id else None
        if manager_id and manager is None:
            if strict:
                raise InvalidValue(f"manager {manager_id} is not a user of this company.")
            skipped = (SkippedReference(attribute="manager", value=manager_id),)
        if manager is None and before["manager"] is None:
            del changes["manager"]  # an unknown manager where there was none: nothing to do
        else:
            changes["manager"] = manager
            user.manager_scim_id = str(manager.scim_id) if manager else None
        after = {**after, "manager": getattr(user, "manager_scim_id", None)}
    if "is_active" in changes:
        operation = Op.REACTIVATE_USER if changes["is_active"] else Op.DEACTIVATE_USER
    change_set = ChangeSet(
        attributes=attribute_changes(
            {field: before.get(field) for field in changes},
            {field: after.get(field) for field in changes},
            USER_ATTRIBUTE_NAMES,
        ),
        skipped=skipped,
    )
    changed = user_update(
        user=user,
        changes=changes,
        unmodified_since=unmodified_since,
        execute=activity.write_with_row(operation=operation, changes=change_set),
    )
    change = ChangeRecord(operation=operation, resource=user, changes=change_set)
    if not changed:
        activity.record_change(change)  # nothing to write: the log row alone says so
    return change


def _manager_get(
    user: User, manager_id: str, prefetched: tuple[str, int | None] | None
) -> User | None:
    """The company's user with this id, from the locked read when it looked it up."""
    if prefetched is not None and prefetched[0] == manager_id:
        pk = prefetched[1]
        if pk is None:
            return None
        return User(pk=pk, company_id=user.company_id, scim_id=selectors.parse_scim_id(manager_id))
    return manager_get(company_id=user.company_id, manager_id=manager_id)


def _created(profile: dict) -> dict:
    """The attributes a new user was given (empty ones left out)."""
    return {field: value for field, value in profile.items() if value not in ("", None, [])}
