"""Reads of the accounts app. Every function takes the company and filters on it in SQL."""

from django.db.models import QuerySet

from .models import Company, Group, User


def company_admin_list(*, company: Company) -> QuerySet[User]:
    return User.objects.filter(company=company, role=User.Role.ADMIN).order_by("email")


def learner_list(*, company: Company) -> QuerySet[User]:
    return User.objects.filter(company=company, role=User.Role.LEARNER).order_by("id")


def team_list(*, company: Company) -> QuerySet[Group]:
    return Group.objects.filter(company=company).order_by("display_name")
