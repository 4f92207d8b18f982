"""Where the pages of a company's unfiltered user list start, remembered between requests.

A SCIM list page is addressed by position (`startIndex`), and OFFSET walks every index entry
before it: the last page of 100,000 users walked 99,900 entries each time. Clients page in
order (Microsoft's validator asks for startIndex 1, 6, 11, …) or ask for the same page again,
so each page remembers its last id as the start of the next one: the next request seeks from
that id (a keyset seek) instead of walking.

Positions only move when a user of the company is deleted (new users get higher ids and come
last), so a deletion through the SCIM services forgets the company's anchors; anchors also
expire after ANCHOR_SECONDS, which bounds how long a deletion made elsewhere (a staff member in
Django admin) can shift a remembered page by the rows it removed. A cache that is down just
means walking again: anchors are an optimisation, never needed for a right answer. They are
positions in the id order only: a sorted page (sortBy) or a filtered one never uses them.
"""

import logging

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

ANCHOR_SECONDS = 60
# Anchors kept per company (the most recent), so one company's cache entry stays small.
MAX_ANCHORS = 200
_CACHE_ERRORS = (RedisError, OSError)


class UserPageAnchors:
    """The anchors of one company's user list: start position -> id of the row before it."""

    def __init__(self, *, company_id: int) -> None:
        self.key = f"scim:user-page-anchors:{company_id}"
        self._anchors: dict[int, int] | None = None

    def _known(self) -> dict[int, int]:
        if self._anchors is None:
            try:
                self._anchors = cache.get(self.key) or {}
            except _CACHE_ERRORS:
                logger.warning("Page anchors unavailable (cache down): walking the index.")
                self._anchors = {}
        return self._anchors

    def get(self, start: int) -> int | None:
        return self._known().get(start)

    def remember(self, anchors: dict[int, int]) -> None:
        """Store {start position: id of the row before it}, keeping what is already known."""
        known = {**self._known(), **anchors}
        if known == self._anchors:
            return
        if len(known) > MAX_ANCHORS:
            known = dict(sorted(known.items())[-MAX_ANCHORS:])
        try:
            cache.set(self.key, known, ANCHOR_SECONDS)
        except _CACHE_ERRORS:
            return
        self._anchors = known


def user_page_anchors_forget(*, company_id: int) -> None:
    """Forget a company's anchors: a deletion moved the positions of the users after it."""
    try:
        cache.delete(UserPageAnchors(company_id=company_id).key)
    except _CACHE_ERRORS:
        logger.warning("Could not forget the page anchors of company %s.", company_id)
