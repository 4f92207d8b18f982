"""Reads of the accounts app. Every function takes the company and filters on it in SQL,
except the few that serve a person who is not signed in yet (an invitation link, a password
reset), which say so."""

import hmac
import uuid
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    F,
    IntegerField,
    JSONField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.expressions import OrderBy, RawSQL
from django.db.models.functions import Coalesce, Lower, NullIf

from .models import (
    AccountAuditEvent,
    AdminInvitation,
    Company,
    CompanyUserCount,
    Group,
    GroupMembership,
    User,
    invitation_token_digest,
)


@dataclass(frozen=True)
class CompanySummary:
    """Head counts of one company, as the Dashboard shows them."""

    admin_count: int
    active_learner_count: int
    deactivated_learner_count: int
    team_count: int

    @property
    def learner_count(self) -> int:
        return self.active_learner_count + self.deactivated_learner_count


def company_admin_list(*, company: Company) -> QuerySet[User]:
    return User.objects.filter(company=company, role=User.Role.ADMIN).order_by("email")


def active_admin_list(*, company: Company) -> QuerySet[User]:
    """The company's admins who can sign in (removed admins are kept, deactivated)."""
    return company_admin_list(company=company).filter(is_active=True)


def admin_invitation_list(*, company: Company) -> QuerySet[AdminInvitation]:
    """The company's open invitations (pending or expired, not accepted or revoked), newest
    first."""
    return AdminInvitation.objects.filter(
        company=company, accepted_at__isnull=True, revoked_at__isnull=True
    ).order_by("-created_at", "-id")


def admin_invitation_for_link(*, public_id: str, token: str) -> AdminInvitation | None:
    """The invitation an emailed link names, if its secret is that invitation's current one.

    For the invitee, who is not signed in: the link itself is the proof, so no company is
    given. The digest is compared in constant time; a malformed id, an unknown one, a wrong
    or replaced secret all give None. The invitation may still be expired, accepted or
    revoked (`status_at`).
    """
    try:
        parsed = uuid.UUID(str(public_id))
    except ValueError:
        return None
    invitation = (
        AdminInvitation.objects.select_related("company", "invited_by")
        .filter(public_id=parsed)
        .first()
    )
    if invitation is None or not invitation.token_hash:
        return None
    if not hmac.compare_digest(invitation.token_hash, invitation_token_digest(token)):
        return None
    return invitation


def account_audit_event_list(*, company: Company) -> QuerySet[AccountAuditEvent]:
    return (
        AccountAuditEvent.objects.filter(company=company)
        .select_related("actor")
        .order_by("-created_at", "-id")
    )


def sign_in_account_list(*, email: str) -> QuerySet[User]:
    """Active admins and staff who sign in with `email` (any case) and a password: the people
    a password reset or a guessing warning is for. Learners have no QA password.

    For people who are not signed in (forgot password), so no company is given.
    """
    return User.objects.filter(
        Q(role__in=[User.Role.ADMIN, User.Role.STAFF]) | Q(is_staff=True),
        email=User.objects.normalize_sign_in_email(email),
        is_active=True,
    ).select_related("company")


def learner_list(*, company: Company) -> QuerySet[User]:
    return User.objects.filter(company=company, role=User.Role.LEARNER).order_by("id")


def company_summary_get(*, company: Company) -> CompanySummary:
    """Count the company's admins, provisioned users (active/deactivated) and teams.

    Two aggregate queries whatever the company's size, served by the (company, role, id) index.
    """
    people = User.objects.filter(company=company).aggregate(
        admins=Count("id", filter=Q(role=User.Role.ADMIN)),
        active=Count("id", filter=Q(role=User.Role.LEARNER, is_active=True)),
        deactivated=Count("id", filter=Q(role=User.Role.LEARNER, is_active=False)),
    )
    return CompanySummary(
        admin_count=people["admins"],
        active_learner_count=people["active"],
        deactivated_learner_count=people["deactivated"],
        team_count=Group.objects.filter(company=company).count(),
    )


def team_list(*, company: Company) -> QuerySet[Group]:
    return Group.objects.filter(company=company).order_by("display_name")


# People by the name the portal shows: displayName, else userName (Entra may send either).
_BY_SHOWN_NAME = (Lower(Coalesce(NullIf(F("display_name"), Value("")), F("user_name"))), "id")


def team_member_list(*, company: Company, team: Group) -> QuerySet[User]:
    """The team's members, by name. Filters on the company as well as the team."""
    return User.objects.filter(company=company, memberships__group=team).order_by(*_BY_SHOWN_NAME)


def team_overview_list(
    *, company: Company, search: str = "", preview_size: int = 8
) -> QuerySet[Group]:
    """The company's teams (those whose name contains `search`, any case, if given), each with
    `member_count` and its first members in `preview_members`.

    The preview is one windowed prefetch query for a whole page of teams (no query per team),
    so a team of 5,000 members costs the same as a team of 5.
    """
    preview = User.objects.filter(company=company).order_by(*_BY_SHOWN_NAME)
    teams = team_list(company=company)
    if search:
        teams = teams.filter(display_name__icontains=search)
    return teams.annotate(member_count=Count("memberships")).prefetch_related(
        Prefetch("members", queryset=preview[:preview_size], to_attr="preview_members")
    )


def learner_team_list(*, user: User) -> QuerySet[Group]:
    """The teams `user` is a member of, in their company, by name."""
    return Group.objects.filter(company_id=user.company_id, memberships__user=user).order_by(
        Lower("display_name"), "id"
    )


def user_count_get(*, company_id: int, role: str) -> int:
    """How many users of `role` the company has: a sum over a few trigger-kept rows
    (CompanyUserCount), the same at 100 users as at 100,000."""
    counted = CompanyUserCount.objects.filter(company_id=company_id, role=role).aggregate(
        total=Sum("count")
    )
    return counted["total"] or 0


# --- People: the company's provisioned users (learners) ------------------------------------


@dataclass(frozen=True)
class PeopleFilter:
    """What the People page and its CSV export filter and sort on; blank means all.

    `sort` is a key of PEOPLE_SORTS, "-" in front for the reverse order.
    """

    search: str = ""  # any part of a display name, userName or work email, any case
    status: str = ""  # "active" or "deactivated"
    team_id: int | None = None
    sort: str = "name"

    @property
    def is_blank(self) -> bool:
        return not (self.search or self.status or self.team_id)


# Each order is the expression of a per-company index of accounts_user, so a page of 100,000
# people reads 50 index entries, not a sort of every row: the display name (the index SCIM's
# sortBy uses; people without one come last), userName, work email, last change. Status has
# no index of its own (two values): its order is a sort of the matching rows.
PEOPLE_SORTS = {
    "name": (Lower(NullIf(F("display_name"), Value(""))),),
    "user_name": (Lower("user_name"),),
    "email": (Lower("work_email"),),
    "status": ("-is_active",),
    "changed": ("updated_at",),
}


class _TeamPairs(Aggregate):
    """A JSON array of [team id, team name] pairs, on PostgreSQL and SQLite."""

    function = "JSONB_AGG"
    template = "%(function)s(JSONB_BUILD_ARRAY(%(expressions)s))"
    output_field = JSONField()

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(
            compiler,
            connection,
            function="JSON_GROUP_ARRAY",
            template="%(function)s(JSON_ARRAY(%(expressions)s))",
            **extra,
        )


def person_list(*, company: Company, filters: PeopleFilter | None = None) -> QuerySet[User]:
    """The company's provisioned people matching `filters`, sorted, each with `team_pairs`
    (a list of [team id, name], in no order).

    The teams are a correlated subquery, so a page of people costs one query. The
    search is a case-insensitive substring match on three columns; on PostgreSQL each has a
    trigram GIN index on UPPER(column) (accounts.0007), which is what Django's icontains
    compares, so a search of 100,000 people reads the matching rows only.
    """
    filters = filters or PeopleFilter()
    people = _people_matching(company=company, filters=filters)
    teams = (
        GroupMembership.objects.filter(user=OuterRef("pk"), group__company=company)
        .values("user")
        .annotate(pairs=_TeamPairs("group_id", "group__display_name"))
        .values("pairs")
    )
    return people.annotate(team_pairs=Subquery(teams, output_field=JSONField())).order_by(
        *_people_order(filters)
    )


def _people_order(filters: PeopleFilter) -> tuple:
    key = filters.sort.removeprefix("-")
    order = (*PEOPLE_SORTS.get(key, PEOPLE_SORTS["name"]), "id")
    if filters.sort.startswith("-") and key in PEOPLE_SORTS:
        # Every term reversed, the id too: the same index read backwards.
        order = tuple(_reversed(term) for term in order)
    return order


def _people_matching(*, company: Company, filters: PeopleFilter) -> QuerySet[User]:
    people = User.objects.filter(company=company, role=User.Role.LEARNER)
    if filters.search:
        term = filters.search
        people = people.filter(
            Q(display_name__icontains=term)
            | Q(user_name__icontains=term)
            | Q(work_email__icontains=term)
        )
    if filters.status == "active":
        people = people.filter(is_active=True)
    elif filters.status == "deactivated":
        people = people.filter(is_active=False)
    if filters.team_id:
        people = people.filter(
            memberships__group_id=filters.team_id, memberships__group__company=company
        )
    return people


@dataclass(frozen=True)
class PeoplePage:
    """One page of `person_list`: its people, how many match in all, and where it is."""

    people: list[User]
    total: int
    number: int
    size: int

    @property
    def page_count(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.page_count


# Far past any company's last page, and small enough that its OFFSET fits a bigint.
MAX_PEOPLE_PAGE_NUMBER = 10**9


def person_page(
    *, company: Company, filters: PeopleFilter | None = None, number: int = 1, size: int = 50
) -> PeoplePage:
    """Page `number` (from 1) of `person_list`, in one query: the total rides along as an
    uncorrelated sub-select, computed once (a window count would read and sort every
    matching row for a page of 50). Without a filter it is the trigger-kept count
    (CompanyUserCount), the same at 100 people as at 100,000; with only a status, that count
    and the deactivated people's small partial index; with a team, a COUNT of the matches.

    A search takes two queries: its matches are counted first (from the trigram indexes), and
    when few people match (NARROW_SEARCH) their page is sorted from those matches instead of
    walking the sort's index (`_narrow_page_ids`).

    A page past the end (a shared link after people left) is the last page instead; so is a
    number whose OFFSET would not fit a PostgreSQL bigint.
    """
    filters = filters or PeopleFilter()
    matching = person_list(company=company, filters=filters)
    number = min(max(1, number), MAX_PEOPLE_PAGE_NUMBER)
    if filters.search:
        total = _people_matching(company=company, filters=filters).count()
        number = min(number, max(1, -(-total // size)))
        if total <= NARROW_SEARCH and connection.vendor == "postgresql":
            page_ids = _narrow_page_ids(
                company=company, filters=filters, offset=(number - 1) * size, size=size
            )
            rows = list(matching.filter(pk__in=page_ids))
            return PeoplePage(people=rows, total=total, number=number, size=size)
        counted_total = Value(total)
    elif filters.status in ("active", "deactivated") and not filters.team_id:
        # Deactivated people are counted from their small partial index; active ones are
        # the kept count less those.
        deactivated = Subquery(
            _people_matching(company=company, filters=PeopleFilter(status="deactivated"))
            .order_by()
            .values("company_id")
            .annotate(total=Count("id"))
            .values("total"),
            output_field=IntegerField(),
        )
        deactivated = Coalesce(deactivated, Value(0))
        if filters.status == "active":
            counted_total = Coalesce(_kept_count(company), Value(0)) - deactivated
        else:
            counted_total = deactivated
    elif filters.status or filters.team_id:
        counted = (
            _people_matching(company=company, filters=filters)
            .order_by()
            .values("company_id")
            .annotate(total=Count("id"))
            .values("total")
        )
        counted_total = Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))
    else:
        counted_total = Coalesce(_kept_count(company), Value(0))
    # The page's ids first, from the sort's index alone: OFFSET then skips index entries, not
    # rows whose teams PostgreSQL would look up and throw away (page 2,000 of 100,000).
    page_ids = (
        _people_matching(company=company, filters=filters)
        .order_by(*_people_order(filters))
        .values("id")[(number - 1) * size : number * size]
    )
    people = matching.filter(pk__in=page_ids).annotate(total=counted_total)
    rows = list(people)
    if not rows and number > 1:
        total = _people_matching(company=company, filters=filters).count()
        last = max(1, -(-total // size))
        if last < number:
            return person_page(company=company, filters=filters, number=last, size=size)
    total = rows[0].total if rows else 0
    return PeoplePage(people=rows, total=total, number=number, size=size)


# At most this many matches, a search's page is sorted from the matches themselves.
NARROW_SEARCH = 5000


def _narrow_page_ids(*, company: Company, filters: PeopleFilter, offset: int, size: int) -> RawSQL:
    """The ids of one page of a search that few people match, in the page's order.

    Walking the sort's index and filtering is a gamble on where the matches lie: the planner
    takes it when it expects many matches, and a search whose matches sit together in the
    order (or number fewer than a page) then reads the whole company: ~100 ms at 100,000
    people, where the trigram indexes find the same matches in a few. So the matches are
    collected first, behind an `OFFSET 0` (PostgreSQL never merges such a subquery into the
    outer query, so no index order can be walked for it), and sorted in memory: at most
    NARROW_SEARCH rows.
    """
    keys, directions = {}, []
    for position, term in enumerate(_people_order(filters)):
        descending = False
        if isinstance(term, str):
            descending, term = term.startswith("-"), F(term.removeprefix("-"))
        elif isinstance(term, OrderBy):
            descending, term = term.descending, term.expression
        keys[f"sort_key_{position}"] = term
        directions.append(f"sort_key_{position}{' DESC' if descending else ''}")
    matches = (
        _people_matching(company=company, filters=filters)
        .order_by()
        .annotate(**keys)
        .values("id", *keys)
    )
    sql, params = matches.query.sql_with_params()
    # Django's own SQL and parameters, our sort keys' names: no text from the request.
    return RawSQL(  # noqa: S611
        f"SELECT id FROM ({sql} OFFSET 0) AS matches "  # noqa: S608
        f"ORDER BY {', '.join(directions)} LIMIT %s OFFSET %s",
        (*params, size, offset),
    )


def _kept_count(company: Company) -> Subquery:
    """The company's number of people from the trigger-kept CompanyUserCount rows."""
    return Subquery(
        CompanyUserCount.objects.filter(company_id=company.pk, role=User.Role.LEARNER)
        .order_by()
        .values("company_id")
        .annotate(total=Sum("count"))
        .values("total"),
        output_field=IntegerField(),
    )


def _reversed(term):
    if isinstance(term, str):
        return term[1:] if term.startswith("-") else f"-{term}"
    return term.desc()


def person_get(*, company: Company, person_id: int) -> User | None:
    """One provisioned person of the company with their manager and teams, or None (another
    company's person is None like a missing one)."""
    return (
        User.objects.filter(company=company, role=User.Role.LEARNER, pk=person_id)
        .select_related("manager")
        .prefetch_related(
            Prefetch(
                "teams",
                queryset=Group.objects.filter(company=company).order_by(Lower("display_name")),
            )
        )
        .first()
    )


def person_id_by_scim_id(*, company: Company, scim_id: str) -> int | None:
    """The id of the company's provisioned person with this SCIM id (a link target), or None
    (no such person, deleted, another company's, or not a UUID)."""
    try:
        parsed = uuid.UUID(str(scim_id))
    except ValueError:
        return None
    return (
        User.objects.filter(company=company, role=User.Role.LEARNER, scim_id=parsed)
        .values_list("pk", flat=True)
        .first()
    )


def team_id_by_scim_id(*, company: Company, scim_id: str) -> int | None:
    """The id of the company's team with this SCIM id, or None."""
    try:
        parsed = uuid.UUID(str(scim_id))
    except ValueError:
        return None
    return (
        Group.objects.filter(company=company, scim_id=parsed).values_list("pk", flat=True).first()
    )
