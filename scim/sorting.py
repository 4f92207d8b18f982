"""`sortBy` and `sortOrder` (RFC 7644 §3.4.2.3): the order of a list or search page.

Each sortable attribute is one SQL expression that a per-company index of accounts' models
holds in the same form, ending in id, so a sorted page is an index scan (read backwards for
`descending`) and never a sort of the company's rows:

- case-insensitive strings (userName, displayName) sort on LOWER(column), case-exact ones
  (externalId) on the column (RFC 7644 §3.4.2.3: "according to the attribute type");
- an unassigned value ("" in our columns) is NULL in the expression, so it sorts last when
  ascending and first when descending, as the RFC asks, which is PostgreSQL's own NULL order
  for a forward and a backward scan of one index;
- ties are broken by id in the same direction, so every page is stable; userName and a
  group's displayName are unique in a company (by their unique indexes) and need no id.

An attribute this server does not sort on is a 400 invalidValue naming those it does: a
client that asked for an order and silently got another would page through the wrong one.
"""

from dataclasses import dataclass

from django.db.models import F, OrderBy, Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Lower, NullIf

from .constants import GROUP_URN, USER_URN
from .errors import InvalidPath, InvalidValue
from .patch import parse_path

ASCENDING, DESCENDING = "ascending", "descending"


def _unassigned_as_null(field: str) -> NullIf:
    return NullIf(F(field), Value(""))


@dataclass(frozen=True)
class SortKey:
    """The expression one attribute sorts on, and whether it alone is unique in a company."""

    expression: Combinable
    unique: bool = False


# (attribute, sub-attribute) in lower case -> key. The indexes that serve them are declared
# on User and Group (qaportal/accounts/models.py) with exactly these expressions.
USER_SORT_KEYS = {
    ("username", None): SortKey(Lower("user_name"), unique=True),
    ("displayname", None): SortKey(Lower(_unassigned_as_null("display_name"))),
    ("externalid", None): SortKey(_unassigned_as_null("external_id")),
    ("meta", "created"): SortKey(F("created_at")),
    ("meta", "lastmodified"): SortKey(F("updated_at")),
}
GROUP_SORT_KEYS = {
    ("displayname", None): SortKey(Lower("display_name"), unique=True),
    ("externalid", None): SortKey(_unassigned_as_null("external_id")),
    ("meta", "created"): SortKey(F("created_at")),
    ("meta", "lastmodified"): SortKey(F("updated_at")),
}
_NAMES = {
    ("username", None): "userName",
    ("displayname", None): "displayName",
    ("externalid", None): "externalId",
    ("meta", "created"): "meta.created",
    ("meta", "lastmodified"): "meta.lastModified",
}


@dataclass(frozen=True)
class Sort:
    """A parsed sortBy/sortOrder; `order_by()` is what a queryset is ordered by."""

    key: SortKey
    descending: bool = False

    def order_by(self) -> tuple[OrderBy, ...]:
        if self.descending:
            ordering = (self.key.expression.desc(nulls_first=True),)
            return ordering if self.key.unique else (*ordering, F("id").desc())
        ordering = (self.key.expression.asc(nulls_last=True),)
        return ordering if self.key.unique else (*ordering, F("id").asc())


def parse_sort(sort_by: object, sort_order: object, *, keys: dict, core_urn: str) -> Sort | None:
    """The Sort of `sortBy` and `sortOrder`, None when no sortBy is given.

    `sortOrder` alone orders nothing (it is the direction of sortBy) and is ignored, as is an
    empty sortBy. Raises InvalidValue for an attribute not in `keys` or a sortOrder that is
    neither "ascending" nor "descending" (any case).
    """
    if sort_order not in (None, "") and (
        not isinstance(sort_order, str) or sort_order.strip().lower() not in (ASCENDING, DESCENDING)
    ):
        raise InvalidValue(f'sortOrder must be "ascending" or "descending", not {sort_order!r}.')
    if sort_by is None or (isinstance(sort_by, str) and not sort_by.strip()):
        return None
    if not isinstance(sort_by, str):
        raise InvalidValue("sortBy must be an attribute name, such as userName.")
    supported = ", ".join(_NAMES[name] for name in keys)
    try:
        path = parse_path(sort_by)
    except InvalidPath:
        path = None
    key = None
    if path is not None and not path.has_filter and path.urn in (None, core_urn.lower()):
        key = keys.get((path.attribute, path.sub_attribute))
    if key is None:
        raise InvalidValue(f"Cannot sort by '{sort_by.strip()}'; sortBy can be one of {supported}.")
    descending = isinstance(sort_order, str) and sort_order.strip().lower() == DESCENDING
    return Sort(key=key, descending=descending)


def parse_user_sort(sort_by: object, sort_order: object) -> Sort | None:
    return parse_sort(sort_by, sort_order, keys=USER_SORT_KEYS, core_urn=USER_URN)


def parse_group_sort(sort_by: object, sort_order: object) -> Sort | None:
    return parse_sort(sort_by, sort_order, keys=GROUP_SORT_KEYS, core_urn=GROUP_URN)
