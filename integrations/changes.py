"""What one provisioning change did, as data: written by the SCIM services, stored on the
activity row (ProvisioningEvent.changes), read back by the activity pages and the API.

A ChangeRecord holds the resource itself (for the response) and, for the log, each changed
attribute with its old and new value and the members added or removed. `as_json()` is what is
stored: bounded in size whatever the change (a 5,000-member PATCH stores the counts and the
first MEMBER_IDS_KEPT ids; long values are cut), so the activity log never grows by megabytes
for one request. `ChangeSet.from_json()` reads a stored value back, including rows written
before the change set existed (counts only, attribute names without values).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from qaportal.accounts.models import Group, User

# Bounds of one stored change set.
MEMBER_IDS_KEPT = 50
VALUE_CHARACTERS_KEPT = 256
VALUE_ITEMS_KEPT = 10


@dataclass(frozen=True)
class AttributeChange:
    """One attribute, by its SCIM name ("name.givenName", "department"), from old to new.

    Values are JSON: strings, booleans, None, lists of objects (emails), or the manager's id.
    """

    name: str
    old: Any = None
    new: Any = None


@dataclass(frozen=True)
class MemberChanges:
    """Members added to or removed from a team, by SCIM id, in request order.

    `replaced`: the request set the whole member list (PUT, or a replace of `members`), so
    `added` is every member it named and `removed` every member it dropped.
    """

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    replaced: bool = False
    # Counts when the id lists were cut (a stored change set); else the lists' lengths.
    added_count: int | None = None
    removed_count: int | None = None

    @property
    def number_added(self) -> int:
        return len(self.added) if self.added_count is None else self.added_count

    @property
    def number_removed(self) -> int:
        return len(self.removed) if self.removed_count is None else self.removed_count

    def as_json(self) -> dict:
        return {
            "added": {"count": self.number_added, "ids": list(self.added[:MEMBER_IDS_KEPT])},
            "removed": {
                "count": self.number_removed,
                "ids": list(self.removed[:MEMBER_IDS_KEPT]),
            },
            "replaced": self.replaced,
        }

    @classmethod
    def from_json(cls, data: Mapping) -> "MemberChanges":
        added, removed = data.get("added") or {}, data.get("removed") or {}
        return cls(
            added=tuple(added.get("ids") or ()),
            removed=tuple(removed.get("ids") or ()),
            replaced=bool(data.get("replaced")),
            added_count=int(added.get("count") or 0),
            removed_count=int(removed.get("count") or 0),
        )


@dataclass(frozen=True)
class SkippedReference:
    """A reference the change could not make and left out, e.g. an unknown manager on create."""

    attribute: str
    value: str


@dataclass(frozen=True)
class ChangeSet:
    """The stored, resource-free part of a change: what the activity pages show."""

    attributes: tuple[AttributeChange, ...] = ()
    members: MemberChanges | None = None
    skipped: tuple[SkippedReference, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.attributes or self.members or self.skipped)

    def as_json(self) -> dict:
        data: dict[str, Any] = {}
        if self.attributes:
            data["attributes"] = [
                {"name": a.name, "old": _bounded(a.old), "new": _bounded(a.new)}
                for a in self.attributes
            ]
        if self.members is not None:
            data["members"] = self.members.as_json()
        if self.skipped:
            data["skipped"] = [{"attribute": s.attribute, "value": s.value} for s in self.skipped]
        return data

    @classmethod
    def from_json(cls, data: Mapping | None) -> "ChangeSet":
        """A stored change set; {} or None is an empty one."""
        data = data or {}
        return cls(
            attributes=tuple(
                AttributeChange(name=item["name"], old=item.get("old"), new=item.get("new"))
                for item in data.get("attributes") or ()
            ),
            members=MemberChanges.from_json(data["members"]) if data.get("members") else None,
            skipped=tuple(
                SkippedReference(attribute=item["attribute"], value=item["value"])
                for item in data.get("skipped") or ()
            ),
        )


@dataclass(frozen=True)
class ChangeRecord:
    """The result of a SCIM write: the resource as it now is, what was done, what changed.

    `operation` is a ProvisioningEvent.Operation value. After a deletion `resource` is the
    deleted instance (its id and name as they were).
    """

    operation: str
    resource: User | Group
    changes: ChangeSet = field(default_factory=ChangeSet)

    @property
    def resource_type(self) -> str:
        return "Group" if isinstance(self.resource, Group) else "User"

    @property
    def resource_id(self) -> str:
        return str(self.resource.scim_id)

    @property
    def resource_name(self) -> str:
        if isinstance(self.resource, Group):
            return self.resource.display_name
        return self.resource.user_name or ""


def attribute_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], names: Mapping[str, str]
) -> tuple[AttributeChange, ...]:
    """The attributes that differ between two profiles, in `names` order.

    `names` maps a profile key (a model field) to its SCIM attribute name; keys not in it
    (derived columns such as work_email) are not reported.
    """
    return tuple(
        AttributeChange(name=scim_name, old=before.get(key), new=after.get(key))
        for key, scim_name in names.items()
        if key in after and before.get(key) != after.get(key)
    )


def _bounded(value: Any) -> Any:
    if isinstance(value, str):
        return value[:VALUE_CHARACTERS_KEPT]
    if isinstance(value, list):
        return [_bounded(item) for item in value[:VALUE_ITEMS_KEPT]]
    if isinstance(value, dict):
        return {str(key)[:64]: _bounded(item) for key, item in list(value.items())[:20]}
    return value


def member_ids(users: Iterable[User]) -> tuple[str, ...]:
    return tuple(str(user.scim_id) for user in users)
