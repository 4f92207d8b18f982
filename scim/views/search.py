"""/.search at the root: the company's users and teams in one ListResponse."""

from django.http import HttpRequest, HttpResponse

from .. import selectors
from ..adapters import ScimGroup, ScimUser
from ..constants import GROUP_URN, MAX_MEMBERS_PER_LIST_PAGE, USER_URN
from ..errors import InvalidValue
from ..filters import FILTERED_USER_ATTRIBUTES, GROUP_FIELDS, GroupFilterQuery, UserFilterQuery
from ..http import ScimView
from ..sorting import Sort


def _unsorted(sort_by: object, sort_order: object) -> Sort | None:
    if sort_by not in (None, ""):
        raise InvalidValue(
            "A search of users and groups together cannot be sorted; send sortBy to "
            "/Users/.search or /Groups/.search."
        )
    return None


class RootSearchView(ScimView):
    """POST /.search (RFC 7644 §3.4.3): every resource type this server has, Users and Groups.

    The results are every matching user in id order, then every matching group in id order;
    `startIndex` and `count` page through that one sequence (a page may hold both) and
    `totalResults` is the sum. The filter is applied to each type, an attribute only the other
    type has being unassigned, so a comparison on it is false (RFC 7644 §3.4.2.2): `userName
    eq "…"` finds users only. `sortBy` is refused (400 invalidValue): one order across two
    kinds of resource would be an unindexed sort of both, and the per-type searches sort. Its
    groups are held to the member limit of a /Groups page (a page may then hold fewer
    resources than `count`; itemsPerPage says how many).
    """

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        query = self.list_query(parse_sort=_unsorted)
        projection = query.projection
        user_condition = group_condition = None
        if query.filter.strip():
            user_condition = UserFilterQuery.parse(query.filter, unassigned=GROUP_FIELDS).condition
            group_condition = GroupFilterQuery.parse(
                query.filter, unassigned=FILTERED_USER_ATTRIBUTES
            ).condition
        company_id = self.company_id
        users, users_total = selectors.user_page(
            company_id=company_id,
            condition=user_condition,
            start=query.start,
            count=query.count,
            with_groups=projection.wants("groups"),
        )
        group_start, group_count = max(query.start - users_total, 1), query.count - len(users)
        if projection.wants("members"):
            # As on a /Groups page: at most MAX_MEMBERS_PER_LIST_PAGE members rendered.
            groups, groups_total = selectors.group_page_with_members(
                company_id=company_id,
                condition=group_condition,
                start=group_start,
                count=group_count,
                member_budget=MAX_MEMBERS_PER_LIST_PAGE,
            )
        else:
            groups, groups_total = selectors.group_page(
                company_id=company_id,
                condition=group_condition,
                start=group_start,
                count=group_count,
                with_members=False,
            )
        resources = [
            projection.apply(ScimUser(user, request=request).to_dict(), core_urn=USER_URN)
            for user in users
        ] + [
            projection.apply(
                ScimGroup(group, request=request).to_dict(with_members=projection.wants("members")),
                core_urn=GROUP_URN,
            )
            for group in groups
        ]
        return self.list_response(resources, total=users_total + groups_total, start=query.start)
