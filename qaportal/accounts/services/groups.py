"""Writes of teams (SCIM Groups) and their memberships: set-based, bounded query counts.

Member changes take User instances resolved inside the team's company (the scim services
resolve them); adding is one INSERT … ON CONFLICT DO NOTHING and removing one DELETE, whatever
the number of members. Changes join the caller's transaction (`savepoint=False`), so the
operations of one SCIM PATCH commit or roll back together; a lone INSERT opens no transaction of
its own.
"""

from collections.abc import Collection, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..exceptions import GroupNameTaken, InvalidProfile, UnknownMembers
from ..models import Group, GroupMembership, User
from .users import single_statement

GROUP_NAME_CONSTRAINT = "accounts_group_company_display_name_ci_uniq"
GROUP_FIELDS = frozenset({"display_name", "external_id"})


def _check_members(*, group: Group, users: Collection[User]) -> None:
    strangers = [user for user in users if user.company_id != group.company_id]
    if strangers:
        raise UnknownMembers(str(user.scim_id) for user in strangers)


def _check_fields(changes: Mapping[str, Any]) -> None:
    unknown = set(changes) - GROUP_FIELDS
    if unknown:
        raise ValueError(f"Not team fields: {sorted(unknown)}")
    if "display_name" in changes and not (changes["display_name"] or "").strip():
        raise InvalidProfile("displayName is required and cannot be empty.")


def _save(group: Group, *, joining: bool = False, **kwargs: Any) -> None:
    # `joining`: part of the caller's transaction, which a uniqueness error aborts as a whole.
    try:
        with transaction.atomic(savepoint=False) if joining else single_statement():
            group.save(**kwargs)
    except IntegrityError as exc:
        if GROUP_NAME_CONSTRAINT in str(exc):
            raise GroupNameTaken(group.display_name) from None
        raise


def group_create(
    *, company_id: int, display_name: str, external_id: str = "", members: Collection[User] = ()
) -> Group:
    """Create a team, with its initial members (Entra creates teams empty).

    Raises GroupNameTaken when the company already has the displayName (case-insensitively),
    UnknownMembers when a member is not a user of the company; nothing is written then.
    """
    group = Group(company_id=company_id, display_name=display_name, external_id=external_id)
    _check_fields({"display_name": display_name})
    _check_members(group=group, users=members)
    if not members:
        _save(group, force_insert=True)  # one INSERT, atomic on its own
        return group
    with transaction.atomic():
        _save(group, joining=True, force_insert=True)
        _insert_memberships(group=group, users=members)
    return group


@transaction.atomic(savepoint=False)
def group_update(*, group: Group, changes: Mapping[str, Any], touch: bool = False) -> list[str]:
    """Rename a team or change its externalId with one UPDATE; returns the changed fields.

    `touch` also bumps `updated_at` when only memberships changed (SCIM meta.lastModified).
    Raises GroupNameTaken when the new displayName is taken in the company.
    """
    _check_fields(changes)
    changed = [field for field, value in changes.items() if getattr(group, field) != value]
    for field in changed:
        setattr(group, field, changes[field])
    if changed or touch:
        group.updated_at = timezone.now()
        _save(group, joining=True, update_fields=[*changed, "updated_at"])
    return changed


def _insert_memberships(*, group: Group, users: Collection[User]) -> None:
    now = timezone.now()
    GroupMembership.objects.bulk_create(
        [GroupMembership(group=group, user_id=user.pk, created_at=now) for user in users],
        ignore_conflicts=True,
    )


@transaction.atomic(savepoint=False)
def group_members_add(*, group: Group, users: Collection[User]) -> None:
    """Add members (one INSERT; members already in the team are left alone).

    Raises UnknownMembers, without writing, when a user belongs to another company.
    """
    _check_members(group=group, users=users)
    if users:
        _insert_memberships(group=group, users=users)


@transaction.atomic(savepoint=False)
def group_members_remove(*, group: Group, users: Collection[User]) -> int:
    """Remove the given members (one DELETE); users who are not members are ignored.

    Returns how many memberships were removed.
    """
    if not users:
        return 0
    removed, _ = GroupMembership.objects.filter(
        group=group, user_id__in=[u.pk for u in users]
    ).delete()
    return removed


@transaction.atomic(savepoint=False)
def group_members_replace(*, group: Group, users: Collection[User]) -> list[str]:
    """Make `users` the team's exact member list (a SELECT and a DELETE of those dropped, and
    one INSERT at most). Returns the SCIM ids of the members dropped.

    Raises UnknownMembers, without writing, when a user belongs to another company.
    """
    _check_members(group=group, users=users)
    dropped = GroupMembership.objects.filter(group=group).exclude(
        user_id__in=[user.pk for user in users]
    )
    dropped_ids = dict(dropped.values_list("user_id", "user__scim_id"))
    if dropped_ids:
        GroupMembership.objects.filter(group=group, user_id__in=list(dropped_ids)).delete()
    if users:
        _insert_memberships(group=group, users=users)
    return [str(scim_id) for scim_id in dropped_ids.values()]


@transaction.atomic(savepoint=False)
def group_delete(*, group: Group) -> None:
    """Delete a team; its members stay users of the company."""
    group.delete()
