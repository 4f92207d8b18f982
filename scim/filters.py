"""SCIM filters (RFC 7644 §3.4.2.2) as Django Q objects, on scim2-filter-parser's Q transpiler.

Differences from the stock transpiler, on purpose:
- an attribute we do not store is a 400 invalidFilter (the stock one silently drops it and
  returns every user);
- case-insensitive `eq` is `LOWER(col) = LOWER(value)`, which the per-company functional
  indexes serve (the stock `iexact` becomes `UPPER(col)`, which no index serves);
- ids that are not UUIDs match nothing instead of raising.
"""

import datetime
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property

from django.db.models import Exists, OuterRef, Q, Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from scim2_filter_parser import ast as scim_ast
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser, SCIMParserError
from scim2_filter_parser.transpilers.django_q_object import Transpiler

from qaportal.accounts.models import GroupMembership

from . import selectors
from .constants import (
    ENTERPRISE_USER_URN,
    GROUP_URN,
    MAX_FILTER_DEPTH,
    MAX_FILTER_LENGTH,
    MAX_FILTER_TERMS,
    USER_URN,
)
from .errors import InvalidFilter

CI, EXACT, UUID, BOOL, DATE, REF, MEMBER = "ci", "exact", "uuid", "bool", "date", "ref", "member"
_STRING_OPS = {"co": "contains", "sw": "startswith", "ew": "endswith"}
_ORDER_OPS = {"gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}


@dataclass(frozen=True)
class FilterField:
    field: str
    kind: str

    def q(self, op: str, value: object) -> Q:
        if op == "pr":
            return self._present()
        if op == "ne":
            return ~self.q("eq", value)
        if self.kind in (UUID, REF, MEMBER):
            if op != "eq":
                raise InvalidFilter(f"The operator '{op}' is not supported on ids.")
            parsed = selectors.parse_scim_id(value)
            if parsed is None:
                return Q(pk__in=[])
            if self.kind == MEMBER:
                members = GroupMembership.objects.filter(
                    group_id=OuterRef("pk"), user__scim_id=parsed
                )
                return Q(Exists(members))
            return Q(**{self.field: parsed})
        if self.kind == BOOL:
            flag = {"true": True, "false": False}.get(str(value).lower())
            if op != "eq" or flag is None:
                raise InvalidFilter("A boolean attribute supports only eq true or eq false.")
            return Q(**{self.field: flag})
        if self.kind == DATE:
            try:
                moment = parse_datetime(str(value)) if op in _ORDER_OPS or op == "eq" else None
            except ValueError:  # well formed but impossible, e.g. month 13
                moment = None
            if moment is None:
                raise InvalidFilter("Dates support eq, gt, ge, lt and le with an ISO 8601 value.")
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment, datetime.UTC)
            lookup = "exact" if op == "eq" else _ORDER_OPS[op]
            return Q(**{f"{self.field}__{lookup}": moment})
        if not isinstance(value, str):
            raise InvalidFilter("Compare this attribute with a string value.")
        if op == "eq":
            if self.kind == CI:
                return Q(Exact(Lower(self.field), Lower(Value(value))))
            return Q(**{self.field: value})
        if op in _STRING_OPS:
            lookup = _STRING_OPS[op] if self.kind == EXACT else "i" + _STRING_OPS[op]
            return Q(**{f"{self.field}__{lookup}": value})
        raise InvalidFilter(f"The operator '{op}' is not supported on this attribute.")

    def _present(self) -> Q:
        if self.kind in (CI, EXACT):
            return Q(**{f"{self.field}__gt": ""})
        if self.kind == REF:
            return Q(manager__isnull=False)
        if self.kind == MEMBER:
            return Q(Exists(GroupMembership.objects.filter(group_id=OuterRef("pk"))))
        return Q(pk__isnull=False)


def _with_core_urn(fields: dict, urn: str) -> dict:
    """Also accept each core attribute qualified by its schema URN (RFC 7644 §3.10)."""
    qualified = {
        (name, sub, urn.lower()): spec for (name, sub, uri), spec in fields.items() if uri is None
    }
    return {**fields, **qualified}


_ENT = ENTERPRISE_USER_URN.lower()
USER_FIELDS: dict[tuple, FilterField] = _with_core_urn(
    {
        ("id", None, None): FilterField("scim_id", UUID),
        ("username", None, None): FilterField("user_name", CI),
        ("externalid", None, None): FilterField("external_id", EXACT),
        ("displayname", None, None): FilterField("display_name", CI),
        ("nickname", None, None): FilterField("nick_name", CI),
        ("title", None, None): FilterField("title", CI),
        ("name", "givenname", None): FilterField("given_name", CI),
        ("name", "familyname", None): FilterField("family_name", CI),
        ("name", "formatted", None): FilterField("formatted_name", CI),
        ("active", None, None): FilterField("is_active", BOOL),
        ("manager", None, None): FilterField("manager__scim_id", REF),
        ("manager", "value", None): FilterField("manager__scim_id", REF),
        ("meta", "created", None): FilterField("created_at", DATE),
        ("meta", "lastmodified", None): FilterField("updated_at", DATE),
    },
    USER_URN,
) | {
    ("employeenumber", None, _ENT): FilterField("employee_number", EXACT),
    ("department", None, _ENT): FilterField("department", CI),
    ("manager", None, _ENT): FilterField("manager__scim_id", REF),
    ("manager", "value", _ENT): FilterField("manager__scim_id", REF),
}
# emails[type eq "work"].value, served by the denormalised work_email column and its index.
WORK_EMAIL = FilterField("work_email", CI)

GROUP_FIELDS: dict[tuple, FilterField] = _with_core_urn(
    {
        ("id", None, None): FilterField("scim_id", UUID),
        ("displayname", None, None): FilterField("display_name", CI),
        ("externalid", None, None): FilterField("external_id", EXACT),
        ("members", None, None): FilterField("members", MEMBER),
        ("members", "value", None): FilterField("members", MEMBER),
        ("meta", "created", None): FilterField("created_at", DATE),
        ("meta", "lastmodified", None): FilterField("updated_at", DATE),
    },
    GROUP_URN,
)


class _QTranspiler(Transpiler):
    def __init__(self, fields: Mapping[tuple, FilterField]):
        super().__init__({})
        self.fields = fields
        # (attribute, value) of each eq comparison, for the activity log's resource name.
        self.eq_values: list[tuple[str, str]] = []
        self.last_field: FilterField | None = None

    def visit_LogExpr(self, node):  # noqa: N802  (the parser's visitor naming)
        left, right = self.visit(node.expr1), self.visit(node.expr2)
        return left & right if node.op.lower() == "and" else left | right

    def visit_AttrExpr(self, node):  # noqa: N802
        op = node.value.lower()
        value = self.visit(node.comp_value) if node.comp_value else None
        path = node.attr_path
        if isinstance(path.attr_name, scim_ast.Filter):
            spec = self._value_path_field(path.attr_name)
            name = "emails"
        else:
            sub = path.sub_attr.value.lower() if path.sub_attr else None
            uri = path.uri.lower() if path.uri else None
            name = path.attr_name
            spec = self.fields.get((name.lower(), sub, uri))
            if spec is None:
                label = ".".join(part for part in (path.uri, name, sub) if part)
                raise InvalidFilter(f"Filtering on '{label}' is not supported.")
        if op == "eq" and isinstance(value, str):
            self.eq_values.append((name.lower(), value))
        self.last_field = spec
        return spec.q(op, value)

    def _value_path_field(self, value_path: scim_ast.Filter) -> FilterField:
        namespace, inner = value_path.namespace, value_path.expr
        if isinstance(inner, scim_ast.Filter) and not inner.negated:
            inner = inner.expr
        if (
            self.fields is USER_FIELDS
            and namespace is not None
            and namespace.attr_name.lower() == "emails"
            and namespace.sub_attr is not None
            and namespace.sub_attr.value.lower() == "value"
            and isinstance(inner, scim_ast.AttrExpr)
            and inner.value.lower() == "eq"
            and isinstance(inner.attr_path.attr_name, str)
            and inner.attr_path.attr_name.lower() == "type"
            and str(self.visit(inner.comp_value)).lower() == "work"
        ):
            return WORK_EMAIL
        raise InvalidFilter(
            'Of the filtered attributes only emails[type eq "work"].value is supported.'
        )


def _sole_comparison(tree: scim_ast.AST) -> scim_ast.AttrExpr | None:
    """The filter's only comparison when it is one (in parentheses or not), else None."""
    while isinstance(tree, scim_ast.Filter) and not tree.negated and tree.namespace is None:
        tree = tree.expr
    return tree if isinstance(tree, scim_ast.AttrExpr) else None


@dataclass
class ParsedFilter:
    # The SQL condition, built when first asked for (a unique `eq` is answered by a compiled
    # lookup that never needs it).
    build_condition: Callable[[], Q]
    eq_values: list[tuple[str, str]]
    # (model field, value) when the filter is one `eq` on a unique attribute.
    unique_eq: tuple[str, str] | None = None

    @cached_property
    def condition(self) -> Q:
        return self.build_condition()

    def eq_value(self, *attributes: str) -> str:
        """The compared value of the first `eq` on one of `attributes` (lower-case names)."""
        for attribute, value in self.eq_values:
            if attribute in attributes:
                return value
        return ""


# Entra's match lookups are one comparison: `userName eq "…"` (or externalId, displayName,
# id). Read by this pattern they cost no lexer and parser run (which were most of a lookup's
# CPU); values with a backslash, and anything else, go to the grammar. The result is the
# grammar's for the same text (tests/scim/test_filters_and_pagination.py compares them).
_SIMPLE_EQ = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s+eq\s+"([^"\\]*)"\s*', re.IGNORECASE)


# Tokens that open a level of nesting, and those that are one comparison's operator.
_OPENING = frozenset({"LPAREN", "LBRACKET"})
_CLOSING = frozenset({"RPAREN", "RBRACKET"})
_OPERATORS = frozenset({"EQ", "NE", "CO", "SW", "EW", "PR", "GT", "GE", "LT", "LE"})


def _bounded_tokens(filter_query: str) -> list:
    """The filter's tokens, once they are known to be within MAX_FILTER_TERMS comparisons and
    MAX_FILTER_DEPTH levels of nesting: the parser and the transpiler recurse once per level
    and per `and`/`or`, so a filter 600 levels deep or of 400 `or` terms never reaches them.
    The lexer itself is a loop over regular expressions (linear in the text).
    """
    tokens = []
    depth = terms = 0
    for token in SCIMLexer().tokenize(filter_query):
        if token.type in _OPENING:
            depth += 1
            if depth > MAX_FILTER_DEPTH:
                raise InvalidFilter(
                    f"A filter can nest at most {MAX_FILTER_DEPTH} levels of parentheses "
                    "and brackets."
                )
        elif token.type in _CLOSING:
            depth -= 1
        elif token.type in _OPERATORS:
            terms += 1
            if terms > MAX_FILTER_TERMS:
                raise InvalidFilter(f"A filter can hold at most {MAX_FILTER_TERMS} comparisons.")
        tokens.append(token)
    return tokens


class FilterQuery:
    """Parse a filter into a Q of the company's users or teams (the caller scopes the company)."""

    fields: Mapping[tuple, FilterField] = {}
    # Columns unique within a company (by a unique index): an `eq` on one of them matches at
    # most one row, read without ORDER BY, LIMIT/OFFSET or COUNT.
    unique_fields: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, filter_query: str) -> ParsedFilter:
        """The Q of a filter; raises InvalidFilter (400 invalidFilter) for anything else."""
        if "\x00" in filter_query:
            raise InvalidFilter("NUL characters are not allowed in a filter.")
        if len(filter_query) > MAX_FILTER_LENGTH:
            raise InvalidFilter(f"A filter can be at most {MAX_FILTER_LENGTH} characters long.")
        simple = cls._simple_eq(filter_query)
        if simple is not None:
            return simple
        try:
            tokens = _bounded_tokens(filter_query)
            tree = SCIMParser().parse(iter(tokens))
        except (SCIMParserError, ValueError, IndexError, AttributeError) as exc:
            raise InvalidFilter(f"Invalid filter: {exc}") from None
        except RecursionError:  # not reached within the limits; never a 500 if it were
            raise InvalidFilter("The filter is nested too deeply.") from None
        if tree is None:
            raise InvalidFilter("Empty filter.")
        transpiler = _QTranspiler(cls.fields)
        try:
            condition = transpiler.transpile(tree)
        # scim2-filter-parser's Q transpiler signals a construct it cannot express (e.g. a
        # namespace it cannot pass on) with NotImplementedError: a 400, not a 500.
        except NotImplementedError as exc:
            raise InvalidFilter(f"Unsupported filter: {exc}") from None
        except RecursionError:
            raise InvalidFilter("The filter is nested too deeply.") from None
        if not isinstance(condition, Q):
            raise InvalidFilter("Unsupported filter.")
        return ParsedFilter(
            build_condition=lambda: condition,
            eq_values=transpiler.eq_values,
            unique_eq=cls._unique_eq(tree, transpiler),
        )

    @classmethod
    def _simple_eq(cls, filter_query: str) -> ParsedFilter | None:
        match = _SIMPLE_EQ.fullmatch(filter_query)
        if match is None:
            return None
        name, value = match.group(1).lower(), match.group(2)
        spec = cls.fields.get((name, None, None))
        if spec is None or value.lower() in ("true", "false", "null"):
            # The grammar names an unknown attribute in its error, and reads these words as
            # JSON literals even in quotes.
            return None
        return ParsedFilter(
            build_condition=lambda: spec.q("eq", value),
            eq_values=[(name, value)],
            unique_eq=(spec.field, value) if spec.field in cls.unique_fields else None,
        )

    @classmethod
    def _unique_eq(cls, tree: scim_ast.AST, transpiler: "_QTranspiler") -> tuple[str, str] | None:
        comparison = _sole_comparison(tree)
        if comparison is None or comparison.value.lower() != "eq" or not transpiler.eq_values:
            return None
        spec = transpiler.last_field
        if spec is None or spec.field not in cls.unique_fields:
            return None
        return spec.field, transpiler.eq_values[-1][1]


class UserFilterQuery(FilterQuery):
    fields = USER_FIELDS
    unique_fields = frozenset({"scim_id", "user_name"})


class GroupFilterQuery(FilterQuery):
    fields = GROUP_FIELDS
    unique_fields = frozenset({"scim_id", "display_name"})
