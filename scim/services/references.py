"""References between resources in a SCIM write: a user's manager, a team's members."""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import IntegrityError

from qaportal.accounts.models import User

from .. import selectors
from ..errors import InvalidValue, unknown_members

_FOREIGN_KEY_VIOLATION = "23503"


@contextmanager
def referenced_users_may_vanish(detail: str) -> Iterator[None]:
    """400 invalidValue when a user referenced by the change was deleted meanwhile.

    Wrapped around a whole transaction: a user deleted by a concurrent request after its id
    was resolved fails the foreign key check at commit (PostgreSQL's SQLSTATE 23503; Django's
    foreign keys are deferred). The change is rolled back as a whole and Entra retries it, like
    any reference to a user that does not exist (docs/entra-behaviour.md).
    """
    try:
        yield
    except IntegrityError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != _FOREIGN_KEY_VIOLATION:
            raise
        raise InvalidValue(detail) from None


def manager_get(*, company_id: int, manager_id: str) -> User | None:
    """The company's user with this SCIM id, or None (another company's is None too)."""
    found = selectors.users_by_scim_ids(company_id=company_id, scim_ids=[manager_id])
    return found.get(str(selectors.parse_scim_id(manager_id)))


def members_get(*, company_id: int, ids: Iterable[str]) -> dict[str, User]:
    """The company's users among member `ids`, keyed by canonical id (one query)."""
    return selectors.users_by_scim_ids(company_id=company_id, scim_ids=ids)


def members_require(ids: Iterable[str], found: dict[str, User]) -> list[User]:
    """The users behind `ids`, in order without repeats, or 400 naming those not found."""
    ids = list(dict.fromkeys(ids))
    unknown = [member_id for member_id in ids if member_id not in found]
    if unknown:
        raise unknown_members(unknown)
    return [found[member_id] for member_id in ids]
