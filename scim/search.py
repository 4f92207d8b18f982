"""What a list asks for, from a GET's query string or a POST .search's SearchRequest.

RFC 7644 §3.4.3: a SearchRequest carries the query parameters of §3.4.2 in a body (so that a
filter holding personal data stays out of URLs and their logs) and gets the same ListResponse.
Both are read into one ListQuery, which the views answer with the same selectors, so a search
costs exactly the queries of the GET it stands for.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .constants import MAX_RESULTS, SEARCH_REQUEST_URN
from .errors import InvalidSyntax, InvalidValue
from .projection import Projection
from .sorting import Sort

# startIndex is bounded so that OFFSET always fits a PostgreSQL bigint.
MAX_START_INDEX = 10**9

# SearchRequest member (lower case, as JSON keys are read case-insensitively) -> its name.
_SEARCH_MEMBERS = {
    name.lower(): name
    for name in (
        "schemas",
        "filter",
        "startIndex",
        "count",
        "attributes",
        "excludedAttributes",
        "sortBy",
        "sortOrder",
    )
}

SortParser = Callable[[object, object], Sort | None]


@dataclass(frozen=True)
class ListQuery:
    """The parameters of one list page (RFC 7644 §3.4.2): filter, paging, projection, order."""

    filter: str = ""
    start: int = 1
    count: int = MAX_RESULTS
    projection: Projection = field(default_factory=Projection)
    sort: Sort | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str], *, parse_sort: SortParser) -> "ListQuery":
        """From a GET's query string. An empty `filter` or `attributes` is none (the reference
        Postman collection sends `/Users/?filter=`)."""
        return cls(
            filter=params.get("filter") or "",
            start=_start_index(params.get("startIndex")),
            count=_count(params.get("count")),
            projection=Projection.from_values(
                params.get("attributes"), params.get("excludedAttributes")
            ),
            sort=parse_sort(params.get("sortBy"), params.get("sortOrder")),
        )

    @classmethod
    def from_search_request(cls, body: dict, *, parse_sort: SortParser) -> "ListQuery":
        """From a SearchRequest body (RFC 7644 §3.4.3).

        `schemas` may be left out or empty (as some scripts send it) but, when it names
        something, must list the SearchRequest schema; a member the schema does not define is
        refused rather than ignored, so a misspelt `filtre` never searches everything. Names
        are read in any case.
        Raises InvalidSyntax for the shape, InvalidValue for a value of the wrong type.
        """
        members: dict[str, object] = {}
        for key, value in body.items():
            name = _SEARCH_MEMBERS.get(key.lower())
            if name is None:
                allowed = ", ".join(_SEARCH_MEMBERS.values())
                raise InvalidSyntax(
                    f"A SearchRequest has no member '{key}'; it may hold {allowed}."
                )
            members[name] = value
        schemas = members.get("schemas")
        if schemas not in (None, []) and (
            not isinstance(schemas, list)
            or SEARCH_REQUEST_URN.lower() not in [str(s).lower() for s in schemas]
        ):
            raise InvalidSyntax(
                f'The schemas of a SearchRequest must be ["{SEARCH_REQUEST_URN}"] (or be left out).'
            )
        filter_text = members.get("filter")
        if filter_text is not None and not isinstance(filter_text, str):
            raise InvalidValue('filter must be a string, such as "userName eq \\"a@b.c\\"".')
        for name in ("sortBy", "sortOrder"):
            if members.get(name) is not None and not isinstance(members[name], str):
                raise InvalidValue(f"{name} must be a string.")
        return cls(
            filter=filter_text or "",
            start=_start_index(members.get("startIndex")),
            count=_count(members.get("count")),
            projection=Projection.from_values(
                _attribute_list(members, "attributes"),
                _attribute_list(members, "excludedAttributes"),
            ),
            sort=parse_sort(members.get("sortBy"), members.get("sortOrder")),
        )


def _integer(name: str, raw: object) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        try:
            return int(raw)
        except ValueError:
            pass
    raise InvalidValue(f"{name} must be an integer.")


def _start_index(raw: object) -> int:
    """RFC 7644 §3.4.2.4: a startIndex below 1 is read as 1."""
    value = _integer("startIndex", raw)
    return min(max(value if value is not None else 1, 1), MAX_START_INDEX)


def _count(raw: object) -> int:
    """RFC 7644 §3.4.2.4: never negative, capped at MAX_RESULTS (filter.maxResults)."""
    value = _integer("count", raw)
    return min(max(value if value is not None else MAX_RESULTS, 0), MAX_RESULTS)


def _attribute_list(members: dict, name: str) -> str | None:
    """`attributes` of a SearchRequest: an array of names (RFC 7644 §3.4.3), or the query
    string's comma-separated form, which scripts send."""
    value = members.get(name)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ",".join(value)
    raise InvalidValue(f'{name} must be an array of attribute names, such as ["userName"].')
