"""PATCH requests in both Microsoft Entra ID dialects, normalised before anything is applied.

docs/entra-behaviour.md, Users: ops in any case (`Replace`, `replace`); path-less value objects with
dotted (`name.givenName`) and URN-qualified keys, expanded into one operation per path;
filtered paths (`emails[type eq "work"].value`, `members[value eq "…"]`); attribute names in
any case. Booleans and the manager are coerced by the adapters, which know the attributes.
"""

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from .constants import (
    ENTERPRISE_USER_URN,
    GROUP_URN,
    MAX_BODY_ATTRIBUTES,
    MAX_PATCH_OPERATIONS,
    PATCH_OP_URN,
    USER_URN,
)
from .errors import InvalidPath, InvalidSyntax, NoTarget, TooMany

KNOWN_URNS = (ENTERPRISE_USER_URN.lower(), USER_URN.lower(), GROUP_URN.lower())
_ATTR = r"[A-Za-z$][\w$-]*"
_REST = re.compile(rf"^(?P<attr>{_ATTR})(?:\[(?P<filter>.*)\])?(?:\.(?P<sub>{_ATTR}))?$", re.S)
_FILTER = re.compile(rf'^\s*(?P<attr>{_ATTR})\s+eq\s+(?P<value>"(?:[^"\\]|\\.)*")\s*$', re.I | re.S)


@dataclass(frozen=True)
class Path:
    """A PATCH path, lower-cased where SCIM is case-insensitive (RFC 7643 §2.1)."""

    attribute: str  # "" when the path is an extension URN alone
    urn: str | None = None
    filter_attribute: str | None = None  # [type eq "work"] -> ("type", "work")
    filter_value: str | None = None
    sub_attribute: str | None = None
    raw: str = ""

    @property
    def has_filter(self) -> bool:
        return self.filter_attribute is not None


@dataclass(frozen=True)
class Operation:
    op: str  # add | replace | remove
    path: Path | None
    value: Any


def has_lone_surrogate(document: object) -> bool:
    """Whether any key or string of a parsed JSON document cannot be encoded as UTF-8."""
    pending = [document]  # iterative: json.loads accepts nesting deeper than the stack
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
            pending.extend(item.keys())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


def parse_path(raw: str) -> Path:
    """Parse `[urn:]attr[filter][.sub]`; raises InvalidPath for anything else."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPath("The path must be a non-empty string.")
    return _parse_path(raw)


# Clients send the same few paths and attribute keys on every request; a Path is immutable.
@functools.lru_cache(maxsize=1024)
def _parse_path(raw: str) -> Path:
    text = raw.strip()
    urn = None
    if text.lower().startswith("urn:"):
        lowered = text.lower()
        known = next((u for u in KNOWN_URNS if lowered == u or lowered.startswith(u + ":")), None)
        if known is not None:
            urn, text = known, text[len(known) + 1 :]
        else:
            head = text.split("[", 1)[0]
            if ":" not in head:
                raise InvalidPath(f"Invalid path '{raw}'.")
            urn_part, _, _ = head.rpartition(":")
            urn, text = urn_part.lower(), text[len(urn_part) + 1 :]
        if not text:
            return Path(attribute="", urn=urn, raw=raw)
    match = _REST.match(text)
    if match is None:
        raise InvalidPath(f"Invalid path '{raw}'.")
    filter_attribute = filter_value = None
    if match.group("filter") is not None:
        value_filter = _FILTER.match(match.group("filter"))
        if value_filter is None:
            raise InvalidPath(f"Only [attribute eq \"value\"] filters are supported: '{raw}'.")
        filter_attribute = value_filter.group("attr").lower()
        try:
            filter_value = json.loads(value_filter.group("value"))
        except ValueError:  # a bad escape such as \q
            raise InvalidPath(f"Invalid string in the filter of '{raw}'.") from None
        if "\x00" in filter_value or has_lone_surrogate(filter_value):
            raise InvalidPath(f"The filter of '{raw}' holds a NUL or an unpaired UTF-16 surrogate.")
    sub = match.group("sub")
    return Path(
        attribute=match.group("attr").lower(),
        urn=urn,
        filter_attribute=filter_attribute,
        filter_value=filter_value,
        sub_attribute=sub.lower() if sub else None,
        raw=raw,
    )


def _get(mapping: dict, key: str) -> Any:
    """A member of a JSON object by case-insensitive key (Entra and Postman vary the case)."""
    for name, value in mapping.items():
        if isinstance(name, str) and name.lower() == key:
            return value
    return None


def expand_value_object(op: str, value: dict) -> list[Operation]:
    """One operation per key of a path-less value object (the aadOptscim062020 dialect).

    Keys are paths: `name.givenName`, `urn:…:enterprise:2.0:User:employeeNumber`; an extension
    URN key holding an object stands for each of its members.
    """
    _limit_attributes(len(value))
    operations = []
    for key, member in value.items():
        path = parse_path(key)
        if path.attribute == "" and path.urn:
            if not isinstance(member, dict):
                raise InvalidSyntax(f"'{key}' must hold an object.")
            _limit_attributes(len(operations) + len(member))
            operations += [
                Operation(op, parse_path(f"{path.urn}:{name}"), inner)
                for name, inner in member.items()
            ]
        else:
            operations.append(Operation(op, path, member))
    return operations


def normalize_patch(body: Any) -> list[Operation]:
    """The operations of a PatchOp body, in order, path-less objects expanded.

    Raises InvalidSyntax for a body that is not a PatchOp, NoTarget for a remove without a
    path (RFC 7644 §3.5.2.2), InvalidPath for a path this server cannot parse.
    """
    if not isinstance(body, dict):
        raise InvalidSyntax("The body must be a JSON object.")
    schemas = _get(body, "schemas")
    if schemas is not None and (
        not isinstance(schemas, list)
        or PATCH_OP_URN.lower() not in [str(s).lower() for s in schemas]
    ):
        raise InvalidSyntax(f"A PATCH body must list the schema {PATCH_OP_URN}.")
    raw_operations = _get(body, "operations")
    if not isinstance(raw_operations, list) or not raw_operations:
        raise InvalidSyntax("A PATCH body needs a non-empty Operations array.")
    operations: list[Operation] = []
    for raw in raw_operations:
        _limit_operations(len(operations) + 1)  # expanded value objects count one per key
        if not isinstance(raw, dict):
            raise InvalidSyntax("Each operation must be a JSON object.")
        op = str(_get(raw, "op") or "").lower()
        if op not in ("add", "replace", "remove"):
            raise InvalidSyntax(
                f"Unknown PATCH op '{_get(raw, 'op')}'; use add, replace or remove."
            )
        raw_path = _get(raw, "path")
        value = _get(raw, "value")
        if raw_path in (None, ""):
            if op == "remove":
                raise NoTarget("A remove operation needs a path.")
            if not isinstance(value, dict):
                raise InvalidSyntax(f"A path-less {op} needs an object value.")
            operations += expand_value_object(op, value)
            continue
        path = parse_path(raw_path)
        if path.attribute == "" and path.urn and op != "remove":
            if not isinstance(value, dict):
                raise InvalidSyntax(f"'{raw_path}' needs an object value.")
            operations += expand_value_object(op, {path.urn: value})
            continue
        operations.append(Operation(op, path, value))
    _limit_operations(len(operations))
    return operations


def _limit_attributes(count: int) -> None:
    # Checked before each key is parsed as a path: a 2 MB body of short unknown keys is
    # about 150,000 of them.
    if count > MAX_BODY_ATTRIBUTES:
        raise TooMany(
            f"A resource or value object can hold at most {MAX_BODY_ATTRIBUTES} attributes."
        )


def _limit_operations(count: int) -> None:
    if count > MAX_PATCH_OPERATIONS:
        raise TooMany(
            f"A PATCH can hold at most {MAX_PATCH_OPERATIONS} operations; "
            "send the rest in another PATCH."
        )


def coerce_boolean(value: Any) -> bool | None:
    """True/False from JSON booleans or Entra's strings "True"/"False" (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.strip().lower())
    return None
