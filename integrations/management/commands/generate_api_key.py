"""`manage.py generate_api_key SLUG`: the portal's "Generate a new API Key", for staff.

Applies the same rotation as the button (the current key enters its grace period, earlier
deadlines are never extended, every change is audited, with no actor). The explanation goes to
stderr and the new key alone to stdout, so `KEY=$(manage.py generate_api_key contoso)` holds
exactly the key.
"""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from integrations.models import Integration
from integrations.selectors.keys import api_key_list, integration_get
from integrations.services import api_key_generate, integrations_ensure
from qaportal.accounts.models import Company


class Command(BaseCommand):
    help = (
        "Generate a new API key (the Secret Token for Microsoft Entra ID) for a company, "
        "exactly like the portal's button. The key is printed once, alone on the last line "
        "of standard output; nothing else keeps it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The company's slug.")
        parser.add_argument(
            "--provider",
            default=Integration.Provider.ENTRA_ID,
            choices=Integration.Provider.values,
            help="The integration to generate the key for (default: %(default)s).",
        )

    @sensitive_variables("generated")
    def handle(self, *args: object, **options: str) -> None:
        company = Company.objects.filter(slug=options["slug"]).first()
        if company is None:
            raise CommandError(f"No company with the slug {options['slug']!r}.")
        # A company created in Django admin before its integrations existed still gets one.
        integrations_ensure(company=company)
        integration = integration_get(company=company, provider=options["provider"])
        if integration is None:  # pragma: no cover - integrations_ensure made it
            raise CommandError(f"{company} has no {options['provider']} integration.")

        generated = api_key_generate(
            integration=integration, created_by=None, source="manage.py generate_api_key"
        )

        expiring = api_key_list(company=company, integration=integration).filter(
            expires_at__gt=timezone.now(), revoked_at__isnull=True
        )
        self._note(
            f"Generated API key {generated.api_key.masked} for {integration}. "
            "It is shown once: paste it into Microsoft Entra ID as the Secret Token."
        )
        for key in expiring:
            self._note(
                f"Older key {key.masked} keeps working until {key.expires_at:%Y-%m-%d %H:%M:%S %Z}."
            )
        self.stdout.write(generated.plaintext)

    def _note(self, message: str) -> None:
        # Explanations go to stderr, unstyled: Django colours stderr as an error on a terminal.
        self.stderr.write(message, style_func=str)
