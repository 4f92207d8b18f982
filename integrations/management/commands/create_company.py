"""`manage.py create_company SLUG --name NAME --admin-email EMAIL --admin-password PASSWORD`.

Staff tool: creates a company (tenant), its first company admin and its integrations in one
transaction. Non-interactive; every user error is a CommandError (no traceback).
"""

import sys

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.views.decorators.debug import sensitive_variables

from integrations.services import integrations_ensure
from qaportal.accounts.models import Company, User
from qaportal.accounts.services.companies import company_admin_create, company_create

READ_FROM_STDIN = "-"


def _messages(error: ValidationError) -> str:
    return " ".join(error.messages)


class Command(BaseCommand):
    help = (
        "Create a company with its first company admin and its integrations. "
        "Pass --admin-password - to read the password from standard input, "
        "which keeps it out of the process list and the shell history."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="Short identifier: lower-case letters, digits, hyphens.")
        parser.add_argument("--name", required=True, help="The company's display name.")
        parser.add_argument(
            "--admin-email", required=True, help="Sign-in email of the company admin."
        )
        parser.add_argument(
            "--admin-password",
            required=True,
            help="Password of the company admin ('-' reads it from standard input).",
        )

    @sensitive_variables("password")
    def handle(self, *args: object, **options: str) -> None:
        slug = options["slug"].strip()
        name = options["name"].strip()
        email = User.objects.normalize_sign_in_email(options["admin_email"])
        password = options["admin_password"]
        if password == READ_FROM_STDIN:
            password = sys.stdin.readline().rstrip("\r\n")

        self._validate_company(slug=slug, name=name)
        self._validate_admin(email=email, password=password)

        try:
            with transaction.atomic():
                company = company_create(slug=slug, name=name)
                admin = company_admin_create(company=company, email=email, password=password)
                integrations = integrations_ensure(company=company)
        except IntegrityError as error:
            # Only a concurrent creation of the same slug or email gets here.
            raise CommandError(
                f"Could not create the company: the slug {slug!r} or the email {email!r} "
                "was taken meanwhile."
            ) from error

        providers = ", ".join(integration.get_provider_display() for integration in integrations)
        self.stdout.write(
            f"Created company {company.name} ({company.slug}) with company admin {admin.email} "
            f"and its integrations: {providers}."
        )
        self.stdout.write(
            f"The admin signs in to the portal, or staff run "
            f"`manage.py generate_api_key {company.slug}` for its first API key."
        )

    def _validate_company(self, *, slug: str, name: str) -> None:
        if not name:
            raise CommandError("--name must not be empty.")
        if slug != slug.lower():
            raise CommandError(f"Invalid slug {slug!r}: use lower-case letters.")
        if Company.objects.filter(slug=slug).exists():
            raise CommandError(f"A company with the slug {slug!r} already exists.")
        try:
            Company(slug=slug, name=name).full_clean(exclude=["created_at"])
        except ValidationError as error:
            fields = error.message_dict
            if "slug" in fields:
                raise CommandError(f"Invalid slug {slug!r}: {' '.join(fields['slug'])}") from None
            raise CommandError(f"Invalid company: {_messages(error)}") from None

    @sensitive_variables("password")
    def _validate_admin(self, *, email: str, password: str) -> None:
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"Invalid --admin-email {email!r}: not an email address.") from None
        if User.objects.filter(email=email).exists():
            raise CommandError(f"The email {email!r} is already used by another account.")
        try:
            validate_password(password, user=User(email=email))
        except ValidationError as error:
            raise CommandError(f"The admin password is too weak: {_messages(error)}") from None
