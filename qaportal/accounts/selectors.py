"""Reads of the accounts app. Every function takes the company and filters on it in SQL."""

from dataclasses import dataclass

from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Lower, NullIf

from .models import Company, CompanyUserCount, Group, User


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


def team_overview_list(*, company: Company, preview_size: int = 8) -> QuerySet[Group]:
    """The company's teams, each with `member_count` and its first members in `preview_members`.

    The preview is one windowed prefetch query for a whole page of teams (no query per team),
    so a team of 5,000 members costs the same as a team of 5.
    """
    preview = User.objects.filter(company=company).order_by(*_BY_SHOWN_NAME)
    return (
        team_list(company=company)
        .annotate(member_count=Count("memberships"))
        .prefetch_related(
            Prefetch("members", queryset=preview[:preview_size], to_attr="preview_members")
        )
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
