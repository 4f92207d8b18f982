"""`manage.py seed_demo`: the demo company of `make run`. Idempotent.

Creates the company "Demo" (slug `demo`), its company admin `admin@demo.qa` with the published
password `demo-admin-password`, and its integrations. Running it again changes nothing (an
existing admin keeps the password it has). It refuses to run with DEBUG off, so a production
deployment never gets an account whose password is in the README.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from integrations.services import integrations_ensure
from qaportal.accounts.models import Company, User
from qaportal.accounts.services.companies import company_admin_create, company_create

DEMO_SLUG = "demo"
DEMO_NAME = "Demo"
DEMO_ADMIN_EMAIL = "admin@demo.qa"
DEMO_ADMIN_PASSWORD = "demo-admin-password"  # noqa: S105 - published in the README on purpose
SIGN_IN_URL = "http://127.0.0.1:8000/login/"


class Command(BaseCommand):
    help = (
        "Create the demo company 'Demo' and its admin for local development (DEBUG only). "
        "Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url", default=SIGN_IN_URL, help="Sign-in URL to print (default: %(default)s)."
        )

    def handle(self, *args: object, **options: str) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo creates an admin whose password is published; it only runs with "
                "DJANGO_DEBUG=1 (local development). Use create_company for a real company."
            )
        with transaction.atomic():
            company = Company.objects.filter(slug=DEMO_SLUG).first()
            created_company = company is None
            if company is None:
                company = company_create(slug=DEMO_SLUG, name=DEMO_NAME)
            integrations_ensure(company=company)

            admin = User.objects.filter(email=DEMO_ADMIN_EMAIL).first()
            created_admin = admin is None
            if admin is None:
                admin = company_admin_create(
                    company=company, email=DEMO_ADMIN_EMAIL, password=DEMO_ADMIN_PASSWORD
                )
            elif admin.company_id != company.pk:
                raise CommandError(
                    f"{DEMO_ADMIN_EMAIL} already exists and does not belong to the demo company."
                )

        state = "Created" if created_company or created_admin else "Already seeded:"
        self.stdout.write(f"{state} demo company {company.name} ({company.slug}).")
        self.stdout.write(f"Sign in at {options['url']}")
        self.stdout.write(f"  Email:    {DEMO_ADMIN_EMAIL}")
        self.stdout.write(f"  Password: {DEMO_ADMIN_PASSWORD}")
        if not created_admin and not admin.check_password(DEMO_ADMIN_PASSWORD):
            self.stdout.write("  (the demo admin's password was changed since it was seeded)")
