"""System checks of the SSO settings (`manage.py check`, and `check --deploy`)."""

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Tags, register


@register()
def encryption_keys_check(app_configs, **kwargs) -> list:
    errors = []
    for position, key in enumerate(settings.QA_SSO_ENCRYPTION_KEYS, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            errors.append(
                Error(
                    f"QA_SSO_ENCRYPTION_KEYS entry {position} is not a Fernet key.",
                    hint='Make one with: python -c "from cryptography.fernet import Fernet; '
                    'print(Fernet.generate_key().decode())"',
                    id="sso.E001",
                )
            )
    return errors


@register(Tags.security, deploy=True)
def encryption_keys_deploy_check(app_configs, **kwargs) -> list:
    if settings.QA_SSO_ENCRYPTION_KEYS_FROM_ENV:
        return []
    # An error, not a warning: the derived key changes with DJANGO_SECRET_KEY, and a rotation
    # that forgets DJANGO_SECRET_KEY_FALLBACKS silently breaks every company's sign-in.
    return [
        Error(
            "QA_SSO_ENCRYPTION_KEYS is not set: SSO client secrets are encrypted with a key "
            "derived from DJANGO_SECRET_KEY, so changing that key without keeping the old one "
            "in DJANGO_SECRET_KEY_FALLBACKS makes them unreadable and stops Microsoft sign-in.",
            hint="Set QA_SSO_ENCRYPTION_KEYS to a Fernet key of its own (see README).",
            id="sso.E002",
        )
    ]
