"""Re-encrypt every SSO client secret with the newest QA_SSO_ENCRYPTION_KEYS key."""

from django.core.management.base import BaseCommand, CommandError

from sso.crypto import SecretUnreadable
from sso.services import sso_secrets_reencrypt


class Command(BaseCommand):
    help = (
        "After putting a new key in front of QA_SSO_ENCRYPTION_KEYS: re-encrypt every stored "
        "client secret with it, so the old key can then be removed."
    )

    def handle(self, *args, **options) -> None:
        try:
            count = sso_secrets_reencrypt()
        except SecretUnreadable as error:
            raise CommandError(
                "A stored secret cannot be read with any configured key; nothing was changed. "
                "Put the key it was encrypted with back in QA_SSO_ENCRYPTION_KEYS."
            ) from error
        self.stdout.write(f"Re-encrypted {count} client secret(s) with the newest key.")
