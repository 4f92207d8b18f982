"""Resource versions and HTTP preconditions (RFC 7644 §3.14).

A resource's version is its `updated_at` in microseconds, as a weak entity tag: the column the
user's optimistic update already compares, written with every change (a new row's equals its
`created_at`), read with the resource, so versions cost no query. Tags compare weakly (RFC 7232
§2.3.2: `W/` is ignored), as RFC 7644's own If-Match examples do with weak tags.
"""

from datetime import UTC, datetime, timedelta

from .errors import PreconditionFailed

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# A header naming more tags than this is not a list of versions of one resource.
_MAX_TAGS = 20


def version_of(updated_at: datetime) -> str:
    """meta.version and the ETag header of a resource last changed at `updated_at`."""
    return f'W/"{(updated_at - _EPOCH) // _MICROSECOND:x}"'


def _opaque(tag: str) -> str:
    tag = tag.strip()
    if tag[:2] in ("W/", "w/"):
        tag = tag[2:]
    return tag.strip()


def matches(header: str, version: str) -> bool:
    """Whether an If-Match / If-None-Match value (`*` or a comma-separated list of tags)
    names `version`."""
    if header.strip() == "*":
        return True
    current = _opaque(version)
    return any(_opaque(tag) == current for tag in header.split(",", _MAX_TAGS)[:_MAX_TAGS])


def require_version(if_match: str | None, version: str) -> None:
    """412 unless `if_match` is absent or names `version` (or is `*`)."""
    if if_match is not None and not matches(if_match, version):
        raise PreconditionFailed(
            f"The resource has changed: its version is {version}, not {if_match.strip()}. "
            "Read it again and retry."
        )
