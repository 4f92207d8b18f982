"""Adapters: SCIM resources <-> our models.

An adapter renders a resource and turns SCIM input (POST/PUT bodies, normalised PATCH
operations) into plain profile values; it never writes (the scim services do, through the
accounts services). django-scim2's adapter classes are not used: they save models directly,
filter tenants in Python and parse PATCH on the model, all of which QA does otherwise.
"""

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from django.http import HttpRequest
from django.urls import reverse

from qaportal.accounts.models import Group, User

from .constants import (
    ENTERPRISE_USER_URN,
    GROUP_URN,
    MAX_MULTI_VALUED_ITEMS,
    MAX_VALUES_PER_OPERATION,
    RESOURCE_TYPE_URN,
    USER_URN,
)
from .errors import InvalidPath, InvalidSyntax, InvalidValue, MutabilityError, TooMany
from .patch import Operation, Path, coerce_boolean, expand_value_object
from .versions import version_of

_ENT = ENTERPRISE_USER_URN.lower()
# SCIM attribute (lower case) -> model field, for single-valued strings.
_CORE_STRINGS = {
    "username": "user_name",
    "externalid": "external_id",
    "displayname": "display_name",
    "nickname": "nick_name",
    "title": "title",
}
_ENTERPRISE_STRINGS = {"employeenumber": "employee_number", "department": "department"}
_NAME_PARTS = {
    "givenname": "given_name",
    "familyname": "family_name",
    "formatted": "formatted_name",
}
_MULTI_VALUED = {"emails": "emails", "phonenumbers": "phone_numbers", "addresses": "addresses"}
_SUB_ATTRIBUTES = {
    "emails": ("value", "type", "primary", "display"),
    "phone_numbers": ("value", "type", "primary", "display"),
    "addresses": (
        "formatted",
        "streetAddress",
        "locality",
        "region",
        "postalCode",
        "country",
        "type",
        "primary",
    ),
}
# Read-only or unsupported attributes that clients send and that are accepted and ignored
# (docs/entra-behaviour.md, Users: client `meta`, empty `roles`; RFC 7643 `groups` is read-only).
_IGNORED = {
    "schemas",
    "id",
    "meta",
    "groups",
    "password",
    "roles",
    "entitlements",
    "x509certificates",
}
_STRING_FIELDS = [*_CORE_STRINGS.values(), *_ENTERPRISE_STRINGS.values(), *_NAME_PARTS.values()]
PROFILE_FIELDS = [*_STRING_FIELDS, "is_active", *_MULTI_VALUED.values(), "manager"]
# Profile field -> SCIM attribute name, in the order a change lists them.
USER_ATTRIBUTE_NAMES = {
    "user_name": "userName",
    "external_id": "externalId",
    "is_active": "active",
    "given_name": "name.givenName",
    "family_name": "name.familyName",
    "formatted_name": "name.formatted",
    "display_name": "displayName",
    "nick_name": "nickName",
    "title": "title",
    "emails": "emails",
    "phone_numbers": "phoneNumbers",
    "addresses": "addresses",
    "employee_number": "employeeNumber",
    "department": "department",
    "manager": "manager",
}
GROUP_ATTRIBUTE_NAMES = {"display_name": "displayName", "external_id": "externalId"}


_COLLECTION_PATHS: dict[str, str] = {}


def base_location(request: HttpRequest | None) -> str:
    """The origin the request came to (the Tenant URL's origin), for meta.location.

    The scheme is the request's: https behind the TLS-terminating proxy (SECURE_PROXY_SSL_HEADER),
    http on the plain development server, so every location can be followed as given.
    """
    if request is None:
        return "https://localhost"
    return f"{request.scheme}://{request.get_host()}"


def _isoformat(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _canonical_scim_id(value: Any) -> str:
    return str(uuid.UUID(str(value)))


def _single_string(path_label: str, value: Any) -> str:
    """A string attribute's new value; null and "" clear it; a [{"value": …}] list unwraps."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        value = value[0].get("value")
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    if value is None:
        return ""
    if isinstance(value, (bool, dict, list)):
        raise InvalidValue(f"'{path_label}' must be a string.")
    return str(value)


def _manager_id(value: Any) -> str | None:
    """The manager's id from a bare string, {"value": id} or [{"value": id}]; None clears."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = next((v for k, v in value.items() if k.lower() == "value"), None)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InvalidValue("manager must be a user id.")
    return value.strip()


class _Adapter:
    url_name = ""
    resource_type = ""
    endpoint = ""
    description = ""
    schema = ""
    schema_extensions: list = []

    def __init__(self, obj, request: HttpRequest | None = None):
        self.obj = obj
        self.request = request

    @property
    def id(self) -> str:
        return str(self.obj.scim_id)

    @property
    def location(self) -> str:
        return self.location_of(self.request, self.id)

    @classmethod
    def location_of(cls, request: HttpRequest, scim_id: str) -> str:
        # Every resource and reference of a response has one: the collection's path is
        # reversed once per process, not per id (reverse() was ~5% of a create's CPU).
        collection = _COLLECTION_PATHS.get(cls.url_name)
        if collection is None:
            marker = "00000000-0000-0000-0000-000000000000"
            collection = reverse(cls.url_name, kwargs={"uuid": marker}).removesuffix(marker)
            _COLLECTION_PATHS[cls.url_name] = collection
        return base_location(request) + collection + scim_id

    @property
    def version(self) -> str:
        """meta.version and the ETag header (scim/versions.py)."""
        return version_of(self.obj.updated_at)

    @property
    def meta(self) -> dict:
        return {
            "resourceType": self.resource_type,
            "created": _isoformat(self.obj.created_at),
            "lastModified": _isoformat(self.obj.updated_at),
            "location": self.location,
            "version": self.version,
        }

    @classmethod
    def resource_type_dict(cls, request: HttpRequest | None = None) -> dict:
        location = urljoin(
            base_location(request),
            reverse("scim:resource-types", kwargs={"uuid": cls.resource_type}),
        )
        doc = {
            "schemas": [RESOURCE_TYPE_URN],
            "id": cls.resource_type,
            "name": cls.resource_type,
            "endpoint": cls.endpoint,
            "description": cls.description,
            "schema": cls.schema,
            "meta": {"location": location, "resourceType": "ResourceType"},
        }
        if cls.schema_extensions:
            doc["schemaExtensions"] = cls.schema_extensions
        return doc


class ScimUser(_Adapter):
    """A learner as a SCIM User (core + enterprise extension)."""

    url_name = "scim:users"
    resource_type = "User"
    endpoint = "/Users"
    description = "User Account"
    schema = USER_URN
    schema_extensions = [{"schema": ENTERPRISE_USER_URN, "required": False}]

    @property
    def display_name(self) -> str:
        return self.obj.display_name or self.obj.user_name or ""

    def groups(self) -> list[dict]:
        rows = getattr(self.obj, "scim_groups", None) or []
        groups = [
            {
                "value": _canonical_scim_id(row["value"]),
                "$ref": ScimGroup.location_of(self.request, _canonical_scim_id(row["value"])),
                "display": row["display"],
                "type": "direct",
            }
            for row in rows
        ]
        return sorted(groups, key=lambda group: (group["display"].lower(), group["value"]))

    def to_dict(self) -> dict:
        user = self.obj
        doc: dict[str, Any] = {"schemas": [USER_URN], "id": self.id}
        if user.external_id:
            doc["externalId"] = user.external_id
        doc["userName"] = user.user_name
        name = {
            key: value
            for key, value in (
                ("formatted", user.formatted_name),
                ("familyName", user.family_name),
                ("givenName", user.given_name),
            )
            if value
        }
        if name:
            doc["name"] = name
        for key, value in (
            ("displayName", user.display_name),
            ("nickName", user.nick_name),
            ("title", user.title),
        ):
            if value:
                doc[key] = value
        doc["active"] = user.is_active
        for key, field in (
            ("emails", "emails"),
            ("phoneNumbers", "phone_numbers"),
            ("addresses", "addresses"),
        ):
            if getattr(user, field):
                doc[key] = _as_returned(field, getattr(user, field))
        groups = self.groups()
        if groups:
            doc["groups"] = groups
        enterprise: dict[str, Any] = {}
        if user.employee_number:
            enterprise["employeeNumber"] = user.employee_number
        if user.department:
            enterprise["department"] = user.department
        manager_id = getattr(user, "manager_scim_id", None)
        if manager_id:
            manager_id = str(manager_id)
            enterprise["manager"] = {
                "value": manager_id,
                "$ref": self.location_of(self.request, manager_id),
            }
        if enterprise:
            doc["schemas"] = [USER_URN, ENTERPRISE_USER_URN]
            doc[ENTERPRISE_USER_URN] = enterprise
        doc["meta"] = self.meta
        return doc

    # --- input -------------------------------------------------------------------------

    def current_profile(self) -> dict[str, Any]:
        profile: dict[str, Any] = {
            field: getattr(self.obj, field) for field in PROFILE_FIELDS if field != "manager"
        }
        for field in _MULTI_VALUED.values():
            profile[field] = [
                dict(item) if isinstance(item, dict) else item for item in profile[field] or []
            ]
        manager_id = getattr(self.obj, "manager_scim_id", None)
        profile["manager"] = str(manager_id) if manager_id else None
        return profile

    @staticmethod
    def empty_profile() -> dict[str, Any]:
        profile: dict[str, Any] = dict.fromkeys(_STRING_FIELDS, "")
        profile.update(is_active=True, emails=[], phone_numbers=[], addresses=[], manager=None)
        return profile

    @classmethod
    def profile_from_resource(cls, body: Any) -> dict[str, Any]:
        """A full profile from a POST/PUT body: nulls, unknown attributes and URNs ignored."""
        if not isinstance(body, dict):
            raise InvalidSyntax("The body must be a JSON object.")
        profile = cls.empty_profile()
        present = {key: value for key, value in body.items() if value is not None}
        for operation in expand_value_object("replace", present):
            cls.apply(profile, operation)
        if not profile["user_name"].strip():
            raise InvalidValue("userName is required.")
        return profile

    @classmethod
    def apply(cls, profile: dict[str, Any], operation: Operation) -> None:
        """Apply one normalised operation to `profile` (model field names -> values)."""
        op, path, value = operation.op, operation.path, operation.value
        if path is None:  # normalize_patch expands path-less operations first
            raise InvalidSyntax("Each operation needs a path.")
        attribute = path.attribute
        if path.urn and path.urn not in (_ENT, USER_URN.lower()):
            return  # a custom extension this server does not store
        if attribute in _IGNORED and not path.urn:
            return
        if path.urn == _ENT or (attribute in _ENTERPRISE_STRINGS or attribute == "manager"):
            if attribute == "" and op == "remove":
                # The whole extension object (RFC 7644 §3.5.2.2): every attribute unassigned.
                profile.update(employee_number="", department="", manager=None)
                return
            if attribute == "manager":
                profile["manager"] = None if op == "remove" else _manager_id(value)
                return
            field = _ENTERPRISE_STRINGS.get(attribute)
            if field is None:
                return  # an enterprise attribute this server does not store
            cls._set_string(profile, field, path, op, value)
            return
        if attribute in _CORE_STRINGS:
            cls._set_string(profile, _CORE_STRINGS[attribute], path, op, value)
        elif attribute == "active":
            if op == "remove":
                # Required (see /Schemas): the account is active or not, never unassigned.
                raise MutabilityError("active is required; replace it with true or false.")
            flag = coerce_boolean(value)
            if flag is None:
                raise InvalidValue(f"active must be true or false, not {value!r}.")
            profile["is_active"] = flag
        elif attribute == "name":
            cls._set_name(profile, path, op, value)
        elif attribute in _MULTI_VALUED:
            field = _MULTI_VALUED[attribute]
            profile[field] = _apply_multi_valued(field, profile[field], path, op, value)
        # Any other core attribute (preferredLanguage, locale, …) is accepted and not stored.

    @staticmethod
    def _set_string(profile: dict, field: str, path: Path, op: str, value: Any) -> None:
        if path.sub_attribute or path.has_filter:
            raise InvalidPath(f"'{path.raw}' has no sub-attributes.")
        new = "" if op == "remove" else _single_string(path.raw or field, value)
        max_length = User._meta.get_field(field).max_length
        if max_length and len(new) > max_length:
            raise InvalidValue(f"'{path.raw or field}' is longer than {max_length} characters.")
        if field == "user_name" and not new.strip():
            raise InvalidValue("userName is required and cannot be empty.")
        profile[field] = new

    @classmethod
    def _set_name(cls, profile: dict, path: Path, op: str, value: Any) -> None:
        if path.sub_attribute:
            field = _NAME_PARTS.get(path.sub_attribute)
            if field is not None:
                cls._set_string(
                    profile, field, Path(attribute=path.sub_attribute, raw=path.raw), op, value
                )
            return
        if op == "remove" or value is None:
            for field in _NAME_PARTS.values():
                profile[field] = ""
            return
        if not isinstance(value, dict):
            raise InvalidValue("name must be an object.")
        for key, part in value.items():
            field = _NAME_PARTS.get(str(key).lower())
            if field is not None:
                cls._set_string(
                    profile, field, Path(attribute=str(key).lower(), raw=f"name.{key}"), op, part
                )

    @staticmethod
    def requested_manager(operations: list[Operation]) -> str | None:
        """The manager id the operations end on, when they set one (read with the user)."""
        manager_id = None
        for operation in operations:
            path = operation.path
            if path is None or (path.urn and path.urn != _ENT) or path.attribute != "manager":
                continue
            manager_id = None if operation.op == "remove" else _manager_id(operation.value)
        return manager_id


# Per multi-valued field: its sub-attributes by lower-case name, and the canonical names.
_SUB_NAMES = {
    field: {name.lower(): name for name in names} for field, names in _SUB_ATTRIBUTES.items()
}
# A string, or a number (an email or phone number sent unquoted); exact types, so a bool (an
# int subclass), an object or an array is refused.
_STRING_TYPES = (str, int, float)


def _canonical_item(field: str, item: Any) -> dict:
    """A multi-valued item with canonical sub-attribute names; values stored as sent."""
    if not isinstance(item, dict):
        raise InvalidValue(f"Each value of {field} must be an object.")
    names = _SUB_NAMES[field]
    result = {}
    for key, value in item.items():
        if value is None:
            continue
        name = names.get(key.lower(), key)
        if name == "primary":
            flag = coerce_boolean(value)
            if flag is None:
                raise InvalidValue(f"{field}.primary must be true or false.")
            value = flag
        elif type(value) not in _STRING_TYPES and name in _SUB_ATTRIBUTES[field]:
            # Every other sub-attribute we know is a string (RFC 7643 §4.1.2): an
            # object or array would end up as str(dict) in work_email or the admin.
            raise InvalidValue(f"{field}.{name} must be a string.")
        result[name] = value
    return result


def _matches(item: dict, path: Path) -> bool:
    wanted = str(path.filter_value).lower()
    for key, value in item.items():
        if key.lower() == path.filter_attribute:
            return str(value).lower() == wanted
    return False


def _item_key(field: str, item: dict) -> tuple:
    """What makes two items of a multi-valued attribute the same one: (type, value), in any
    case (RFC 7643 §2.4); an address, which has no value, by all its parts but `primary`."""
    kind = str(item.get("type", "")).lower()
    if field == "addresses":
        parts = tuple(
            sorted((key, str(value).lower()) for key, value in item.items() if key != "primary")
        )
        return kind, parts
    return kind, str(item.get("value", "")).lower()


def _require_one_primary(field: str, items: list[dict]) -> None:
    """400 when the values of one request mark more than one item primary (RFC 7643 §2.4)."""
    if sum(1 for item in items if item.get("primary") is True) > 1:
        raise InvalidValue(f'At most one value of {field} can be "primary": true.')


def _as_returned(field: str, items: list) -> list:
    """Stored values as returned: each (type, value) once and one primary at most, also for
    values stored before those rules (written again, they are stored so)."""
    if not all(isinstance(item, dict) for item in items):
        return items  # not values this server wrote; returned as they are
    return _normalised(field, [dict(item) for item in items], limit=False)


def _normalised(
    field: str, items: list[dict], preferred: dict | None = None, *, limit: bool = True
) -> list[dict]:
    """`items` without duplicate (type, value) pairs, with at most one primary, within the
    limit on items; linear in the number of items.

    A duplicate is merged into the first item with its pair. `preferred` is the item the
    request made primary: every other primary is set false (RFC 7644 §3.5.2.1); otherwise a
    stored list with several primaries (written before this rule) keeps the first.
    """
    first_of: dict[tuple, dict] = {}
    result: list[dict] = []
    for item in items:
        key = _item_key(field, item)
        kept = first_of.get(key)
        if kept is None:
            first_of[key] = item
            result.append(item)
        else:
            if item is preferred:
                preferred = kept
            kept.update({name: value for name, value in item.items() if name != "primary"})
            if item.get("primary") is True:
                kept["primary"] = True
    if limit and len(result) > MAX_MULTI_VALUED_ITEMS:
        raise InvalidValue(f"A user can have at most {MAX_MULTI_VALUED_ITEMS} {field}.")
    primary_seen = preferred is not None and preferred.get("primary") is True
    for item in result:
        if item.get("primary") is True and item is not preferred:
            if primary_seen:
                item["primary"] = False
            primary_seen = True
    return result


def _apply_multi_valued(field: str, items: list, path: Path, op: str, value: Any) -> list:
    """RFC 7644 §3.5.2 on emails/phoneNumbers/addresses, with Entra's filtered paths.

    A filtered add/replace with no matching element creates it (`{"type": "work", …}`), as
    Entra and its validator expect (docs/entra-behaviour.md), instead of failing with noTarget.
    A null or "" value clears, like a remove (the validator's "null update"). Every result is
    _normalised: one primary at most, no duplicate (type, value), at most
    MAX_MULTI_VALUED_ITEMS items; each step is linear in the items and values.
    """
    names = {name.lower(): name for name in _SUB_ATTRIBUTES[field]}
    sub = names.get(path.sub_attribute, path.sub_attribute) if path.sub_attribute else None
    clearing = op == "remove" or value is None or value == ""
    if path.has_filter:
        filter_key = names.get(path.filter_attribute, path.filter_attribute)
        if clearing and not sub:
            return [item for item in items if not _matches(item, path)]
        if clearing:
            kept = []
            for item in items:
                if _matches(item, path):
                    item.pop(sub, None)
                    if not set(item) - {filter_key, "primary"}:
                        continue  # nothing left but how it was selected
                kept.append(item)
            return kept
        update = _canonical_item(field, {sub: value} if sub else _as_item(value))
        matching = [item for item in items if _matches(item, path)]
        for item in matching:
            item.update(update)
        if not matching:
            matching = [{filter_key: path.filter_value, **update}]
            items = [*items, *matching]
        preferred = matching[0] if update.get("primary") is True else None
        return _normalised(field, items, preferred)
    if sub:
        if clearing:
            for item in items:
                item.pop(sub, None)
            return [item for item in items if set(item) - {"type", "primary"}]
        update = _canonical_item(field, {sub: value})
        target = next((item for item in items if item.get("primary") is True), None)
        target = target or (items[0] if items else None)
        if target is None:
            return [update]
        target.update(update)
        return _normalised(field, items, target if update.get("primary") is True else None)
    if op == "remove" or value is None:
        return []
    values = value if isinstance(value, list) else [value]
    if len(values) > MAX_MULTI_VALUED_ITEMS:
        raise InvalidValue(f"A user can have at most {MAX_MULTI_VALUED_ITEMS} {field}.")
    new_items = [_canonical_item(field, _as_item(item)) for item in values if item is not None]
    _require_one_primary(field, new_items)
    preferred = next((item for item in new_items if item.get("primary") is True), None)
    if op == "replace":
        return _normalised(field, new_items, preferred)
    # add: type values are unique within an attribute (docs/entra-behaviour.md), so a new
    # item of a type already there overwrites it; one index by type, one by (type, value).
    result = list(items)
    by_type = {}
    by_key = {}
    for index, old in enumerate(result):
        kind = str(old.get("type", "")).lower()
        if kind:
            by_type.setdefault(kind, index)
        by_key.setdefault(_item_key(field, old), index)
    for new in new_items:
        kind = str(new.get("type", "")).lower()
        index = by_type.get(kind) if kind else by_key.get(_item_key(field, new))
        if index is None:
            index = len(result)
            result.append(new)
            if kind:
                by_type[kind] = index
            by_key.setdefault(_item_key(field, new), index)
        else:
            result[index] = {**result[index], **new}
        if new is preferred:
            preferred = result[index]
    return _normalised(field, result, preferred)


def _as_item(value: Any) -> Any:
    return value if isinstance(value, dict) else {"value": value}


class ScimGroup(_Adapter):
    """A team as a SCIM Group."""

    url_name = "scim:groups"
    resource_type = "Group"
    endpoint = "/Groups"
    description = "Group"
    schema = GROUP_URN
    schema_extensions: list = []

    @property
    def display_name(self) -> str:
        return self.obj.display_name

    def members(self) -> list[dict]:
        rows = getattr(self.obj, "scim_members", None) or []
        members = []
        for row in rows:
            member_id = _canonical_scim_id(row["value"])
            members.append(
                {
                    "value": member_id,
                    "$ref": ScimUser.location_of(self.request, member_id),
                    "display": row.get("displayName") or row.get("userName") or "",
                    "type": "User",
                }
            )
        return sorted(members, key=lambda member: member["value"])

    def to_dict(self, *, with_members: bool = True) -> dict:
        group: Group = self.obj
        doc: dict[str, Any] = {"schemas": [GROUP_URN], "id": self.id}
        if group.external_id:
            doc["externalId"] = group.external_id
        doc["displayName"] = group.display_name
        if with_members:
            doc["members"] = self.members()
        doc["meta"] = self.meta
        return doc


@dataclass
class GroupChanges:
    """The net effect of a group PATCH/PUT: field changes and membership changes (by id)."""

    fields: dict[str, str] = dataclasses.field(default_factory=dict)
    replace_members: bool = False
    add: dict[str, None] = dataclasses.field(default_factory=dict)  # an ordered set
    remove: set[str] = dataclasses.field(default_factory=set)

    def add_members(self, ids: list[str]) -> None:
        for member_id in ids:
            self.add[member_id] = None
            self.remove.discard(member_id)

    def remove_members(self, ids: list[str]) -> None:
        for member_id in ids:
            self.add.pop(member_id, None)
            if not self.replace_members:
                self.remove.add(member_id)

    def clear_members(self, ids: list[str] | None = None) -> None:
        self.replace_members = True
        self.add = dict.fromkeys(ids or [])
        self.remove = set()

    @property
    def touches_members(self) -> bool:
        return self.replace_members or bool(self.add) or bool(self.remove)


def _canonical_or_raw(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return value


def member_ids(value: Any) -> list[str]:
    """Member ids from `[{"value": id, "$ref": null}, …]`, one object or bare strings."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_VALUES_PER_OPERATION:
        raise TooMany(
            f"At most {MAX_VALUES_PER_OPERATION} members can be sent in one operation or body; "
            "send the rest in further requests."
        )
    ids = []
    for item in items:
        if isinstance(item, dict):
            item = next((v for k, v in item.items() if str(k).lower() == "value"), None)
        if not isinstance(item, str) or not item.strip():
            raise InvalidValue('Each member needs a "value" with a user id.')
        ids.append(_canonical_or_raw(item.strip()))
    return ids


def _group_string(attribute: str, value: Any) -> str:
    field_name = "display_name" if attribute == "displayname" else "external_id"
    label = "displayName" if attribute == "displayname" else "externalId"
    text = _single_string(label, value)
    max_length = Group._meta.get_field(field_name).max_length
    if max_length and len(text) > max_length:
        raise InvalidValue(f"{label} is longer than {max_length} characters.")
    if attribute == "displayname" and not text.strip():
        raise InvalidValue("displayName is required and cannot be empty.")
    return text


def _group_apply(changes: GroupChanges, operation: Operation) -> None:
    op, path, value = operation.op, operation.path, operation.value
    if path is None:  # normalize_patch expands path-less operations first
        raise InvalidSyntax("Each operation needs a path.")
    if path.urn and path.urn != GROUP_URN.lower():
        return  # e.g. Entra's ADSCIM extension: accepted, not stored
    attribute = path.attribute
    if attribute in ("displayname", "externalid"):
        if op == "remove" and attribute == "displayname":
            raise InvalidValue("displayName is required and cannot be removed.")
        new = "" if op == "remove" else _group_string(attribute, value)
        changes.fields["display_name" if attribute == "displayname" else "external_id"] = new
    elif attribute == "members":
        if path.has_filter:
            if path.filter_attribute != "value":
                raise InvalidPath('Select members with members[value eq "<id>"].')
            ids = [_canonical_or_raw(str(path.filter_value))]
            if op == "remove":
                changes.remove_members(ids)
            else:
                changes.add_members(ids)
        elif op == "remove":
            # Without a value, RFC 7644 §3.5.2.2 removes every member; with a value list
            # (Entra's default dialect) only the listed ones (docs/entra-behaviour.md).
            ids = member_ids(value)
            if ids:
                changes.remove_members(ids)
            else:
                changes.clear_members()
        elif op == "replace":
            changes.clear_members(member_ids(value))
        else:
            changes.add_members(member_ids(value))
    # Other attributes (schemas, meta, id, …) are accepted and ignored.


def group_changes_from_patch(operations: list[Operation]) -> GroupChanges:
    """The net effect of PATCH operations applied in order."""
    changes = GroupChanges()
    for operation in operations:
        _group_apply(changes, operation)
    return changes


def group_changes_from_resource(body: Any) -> GroupChanges:
    """POST/PUT body -> fields and the full member list; nulls and unknown URNs ignored."""
    if not isinstance(body, dict):
        raise InvalidSyntax("The body must be a JSON object.")
    present = {key: value for key, value in body.items() if value is not None}
    changes = GroupChanges()
    changes.clear_members()
    for operation in expand_value_object("add", present):
        _group_apply(changes, operation)
    if "display_name" not in changes.fields:
        raise InvalidValue("displayName is required.")
    return changes
