"""SCIM writes of groups (teams) and their members: create, replace, patch, delete.

Each function takes the company of the request's API key, owns one transaction (the change and
its activity row commit together, or neither does), locks the team it changes, resolves every
member id it references within the company with one query, and returns a ChangeRecord. Member
changes are set-based: adding or removing 5,000 members is one INSERT or one DELETE.
"""

from django.db import transaction

from integrations.changes import (
    ChangeRecord,
    ChangeSet,
    MemberChanges,
    attribute_changes,
    member_ids,
)
from integrations.models import ProvisioningEvent
from qaportal.accounts.models import Group
from qaportal.accounts.services.groups import (
    group_create as team_create,
)
from qaportal.accounts.services.groups import (
    group_delete as team_delete,
)
from qaportal.accounts.services.groups import (
    group_members_add,
    group_members_remove,
    group_members_replace,
    group_update,
)

from .. import selectors
from ..activity import RequestActivity
from ..adapters import GROUP_ATTRIBUTE_NAMES, GroupChanges
from ..errors import NotFound
from ..versions import require_version, version_of
from .references import members_get, members_require, referenced_users_may_vanish

Op = ProvisioningEvent.Operation

_MEMBER_VANISHED = "A member was deleted while the group was being changed; nothing changed."


def _locked_group(*, company_id: int, scim_id: str, if_match: str | None) -> Group:
    """The team, locked; 412 when `if_match` does not name its version (RFC 7644 §3.14)."""
    group = selectors.group_get(
        company_id=company_id, scim_id=scim_id, with_members=False, for_update=True
    )
    if group is None:
        raise NotFound(f"Group {scim_id} not found.")
    require_version(if_match, version_of(group.updated_at))
    return group


def group_create(
    *, company_id: int, changes: GroupChanges, activity: RequestActivity
) -> ChangeRecord:
    """Create a team from a POST body (adapters.group_changes_from_resource), with its members.

    Entra creates teams empty and adds members later. Raises GroupNameTaken (409) when the
    company has the displayName in any case, and 400 invalidValue naming member ids that are
    not users of the company; nothing is written then.
    """
    display_name = changes.fields["display_name"]
    activity.about(resource_name=display_name)
    if not changes.add:
        # One INSERT, atomic on its own (Entra creates teams empty); the activity row follows.
        group = team_create(
            company_id=company_id,
            display_name=display_name,
            external_id=changes.fields.get("external_id", ""),
        )
        change = _created(group, changes, members=[])
        activity.record_change(change)
        return change
    with (
        activity.change_recording(),
        referenced_users_may_vanish(_MEMBER_VANISHED),
        transaction.atomic(),
    ):
        found = members_get(company_id=company_id, ids=changes.add)
        members = members_require(changes.add, found)
        group = team_create(
            company_id=company_id,
            display_name=display_name,
            external_id=changes.fields.get("external_id", ""),
            members=members,
        )
        change = _created(group, changes, members=members)
        activity.record_change(change)
    return change


def _created(group: Group, changes: GroupChanges, *, members: list) -> ChangeRecord:
    group.scim_members = [
        {"value": str(u.scim_id), "userName": u.user_name, "displayName": u.display_name}
        for u in members
    ]
    after = {field: value for field, value in changes.fields.items() if value}
    return ChangeRecord(
        operation=Op.CREATE_GROUP,
        resource=group,
        changes=ChangeSet(
            attributes=attribute_changes({}, after, GROUP_ATTRIBUTE_NAMES),
            members=MemberChanges(added=member_ids(members)) if members else None,
        ),
    )


def group_replace(
    *,
    company_id: int,
    scim_id: str,
    changes: GroupChanges,
    activity: RequestActivity,
    if_match: str | None = None,
) -> ChangeRecord:
    """Replace a team's displayName, externalId and whole member list with a PUT body."""
    return _group_change(
        company_id=company_id,
        scim_id=scim_id,
        changes=changes,
        activity=activity,
        put=True,
        if_match=if_match,
    )


def group_patch(
    *,
    company_id: int,
    scim_id: str,
    changes: GroupChanges,
    activity: RequestActivity,
    if_match: str | None = None,
) -> ChangeRecord:
    """Apply the net effect of PATCH operations (adapters.group_changes_from_patch).

    Adding a member twice and removing someone who is not a member are no-ops, as Entra
    expects; adding an id that is not a user of the company is a 400 invalidValue naming it,
    and nothing changes.
    """
    return _group_change(
        company_id=company_id,
        scim_id=scim_id,
        changes=changes,
        activity=activity,
        put=False,
        if_match=if_match,
    )


def group_delete(
    *, company_id: int, scim_id: str, activity: RequestActivity, if_match: str | None = None
) -> ChangeRecord:
    """Delete a team; its members stay users of the company.

    Locked first, so a concurrent PATCH's new memberships are committed (and then collected)
    or not yet written: none is left pointing at a deleted team.
    """
    with activity.change_recording(), transaction.atomic():
        group = _locked_group(company_id=company_id, scim_id=scim_id, if_match=if_match)
        activity.about(resource_name=group.display_name)
        team_delete(group=group)
        change = ChangeRecord(operation=Op.DELETE_GROUP, resource=group)
        activity.record_change(change)
    return change


def _group_change(
    *,
    company_id: int,
    scim_id: str,
    changes: GroupChanges,
    activity: RequestActivity,
    put: bool,
    if_match: str | None,
) -> ChangeRecord:
    with (
        activity.change_recording(),
        referenced_users_may_vanish(_MEMBER_VANISHED),
        transaction.atomic(),
    ):
        group = _locked_group(company_id=company_id, scim_id=scim_id, if_match=if_match)
        activity.about(resource_name=group.display_name)
        before = {field: getattr(group, field) for field in changes.fields}
        resolved = members_get(company_id=company_id, ids=[*changes.add, *changes.remove])
        to_add = members_require(changes.add, resolved)
        # Removing someone who is not a member (or not a user) is a no-op, as Entra expects.
        to_remove = [resolved[member_id] for member_id in changes.remove if member_id in resolved]
        changed = group_update(group=group, changes=changes.fields, touch=changes.touches_members)
        members = None
        if changes.replace_members:
            dropped = group_members_replace(group=group, users=to_add)
            members = MemberChanges(added=member_ids(to_add), removed=tuple(dropped), replaced=True)
        elif changes.touches_members:
            removed_count = group_members_remove(group=group, users=to_remove)
            group_members_add(group=group, users=to_add)
            members = MemberChanges(
                added=member_ids(to_add),
                removed=member_ids(to_remove),
                removed_count=removed_count,
            )
        change = ChangeRecord(
            operation=_operation(changes, members, put=put),
            resource=group,
            changes=ChangeSet(
                attributes=attribute_changes(
                    {field: before[field] for field in changed},
                    {field: changes.fields[field] for field in changed},
                    GROUP_ATTRIBUTE_NAMES,
                ),
                members=members,
            ),
        )
        activity.record_change(change)
    return change


def _operation(changes: GroupChanges, members: MemberChanges | None, *, put: bool) -> str:
    """What a team change is called in the activity log."""
    if put:
        return Op.REPLACE_GROUP
    if changes.fields or members is None:
        return Op.UPDATE_GROUP
    if members.replaced:
        return Op.REPLACE_MEMBERS
    if not members.removed:
        return Op.ADD_MEMBERS
    if not members.added:
        return Op.REMOVE_MEMBERS
    return Op.UPDATE_MEMBERS
