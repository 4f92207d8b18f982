"""Writes of the accounts app: one function per use case, atomic."""

from django.db import transaction

from ..models import Company, User


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
