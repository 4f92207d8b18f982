"""factory_boy factories. Keys are made through api_key_generate, never by hand."""

import factory

from integrations.changes import ChangeSet, MemberChanges
from qaportal.accounts.models import Company, Group, User


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n}")
    slug = factory.Sequence(lambda n: f"company-{n}")


class CompanyAdminFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    company = factory.SubFactory(CompanyFactory)
    email = factory.Sequence(lambda n: f"admin{n}@example.com")
    role = User.Role.ADMIN
    password = factory.django.Password("correct horse battery staple")


class LearnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    company = factory.SubFactory(CompanyFactory)
    email = None
    role = User.Role.LEARNER
    user_name = factory.Sequence(lambda n: f"learner{n}@contoso.com")
    given_name = "Lee"
    family_name = factory.Sequence(lambda n: f"Learner{n}")
    password = factory.django.Password(None)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group

    company = factory.SubFactory(CompanyFactory)
    display_name = factory.Sequence(lambda n: f"Team {n}")


def member_changes(*, added: int = 0, removed: int = 0, replaced: bool = False) -> dict:
    """The stored change set of a team's membership change (ProvisioningEvent.changes)."""
    members = MemberChanges(added_count=added, removed_count=removed, replaced=replaced)
    return ChangeSet(members=members).as_json()
