"""Writes of the accounts app: one function per use case, atomic."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q

from ..exceptions import CompanyHasProvisionedUsers
from ..models import Company, CompanyUserCount, Group, GroupMembership, User


@transaction.atomic
def company_create(*, slug: str, name: str) -> Company:
    """Create a company (tenant). Raises django.db.IntegrityError if the slug is taken."""
    return Company.objects.create(slug=slug, name=name)


@transaction.atomic
def company_admin_create(*, company: Company, email: str, password: str) -> User:
    """Create a company admin who signs in with email + password."""
    return User.objects.create_user(
        email=email, password=password, company=company, role=User.Role.ADMIN
    )


@transaction.atomic
def company_rename(*, company: Company, name: str) -> Company:
    """Change the company's display name; the slug is fixed once the company exists."""
    company.name = name
    company.save(update_fields=["name"])
    return company


@dataclass(frozen=True)
class CompanyDeletion:
    """What `company_delete` removed. `cascaded` counts the rows that went with the company
    row itself (integrations, API keys, audit and provisioning events), by model label."""

    learner_count: int
    admin_count: int
    team_count: int
    membership_count: int
    cascaded: dict[str, int]


@transaction.atomic
def company_delete(
    *, company: Company, confirmed_provisioned_user_count: int | None
) -> CompanyDeletion:
    """Delete the company with its teams, memberships, admins and provisioned users.

    Provisioned users (learners) belong to the customer's Microsoft Entra ID, so a company
    that has any is deleted only when `confirmed_provisioned_user_count` equals their current
    number: the staff member confirms the number they saw, and a number that changed since
    refuses. Raises CompanyHasProvisionedUsers then, with nothing deleted. A company without
    learners needs no count. Staff accounts linked to the company are kept, unlinked.
    Integrations, API keys, audit and provisioning events go by their CASCADE foreign keys.
    """
    # FOR UPDATE conflicts with the FOR KEY SHARE lock that inserting a user of this company
    # takes on the row: a SCIM create in flight is counted (it commits first), and a later
    # one waits for this transaction and then fails its foreign key check.
    Company.objects.select_for_update().filter(pk=company.pk).get()
    users = User.objects.filter(company=company)
    people = users.aggregate(
        learners=Count("id", filter=Q(role=User.Role.LEARNER)),
        admins=Count("id", filter=Q(role=User.Role.ADMIN)),
    )
    if people["learners"] and confirmed_provisioned_user_count != people["learners"]:
        raise CompanyHasProvisionedUsers(
            learner_count=people["learners"], confirmed_count=confirmed_provisioned_user_count
        )
    membership_count, _ = GroupMembership.objects.filter(
        Q(group__company=company) | Q(user__company=company)
    ).delete()
    _, teams = Group.objects.filter(company=company).delete()
    # User.company is PROTECT so that nothing else deletes people with their company; a staff
    # account is QA's, not the company's, so it survives the company.
    users.exclude(role__in=[User.Role.LEARNER, User.Role.ADMIN]).update(company=None)
    users.delete()
    _, cascaded = company.delete()
    return CompanyDeletion(
        learner_count=people["learners"],
        admin_count=people["admins"],
        team_count=teams.get("accounts.Group", 0),
        membership_count=membership_count,
        # CompanyUserCount rows are bookkeeping (a trigger-kept count), not the company's data.
        cascaded={
            label: count
            for label, count in cascaded.items()
            if count and label != CompanyUserCount._meta.label
        },
    )
