"""Reads of the accounts app. Every function takes the company and filters on it in SQL,
except the few that serve a person who is not signed in yet (an invitation link, a password
reset), which say so."""

import hmac
import uuid
from dataclasses import dataclass

from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Lower, NullIf

from .models import (
    AccountAuditEvent,
    AdminInvitation,
    Company,
    CompanyUserCount,
    Group,
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
