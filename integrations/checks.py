"""Deployment checks of the services integrations needs (`manage.py check --deploy`)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register

# Backends that keep email on the machine (or drop it): nobody receives what they "send".
_UNDELIVERED_EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
}


@register(Tags.security, deploy=True)
def services_deploy_check(app_configs, **kwargs) -> list:
    warnings = []
    if not settings.REDIS_URL:
        warnings.append(
            Warning(
                "REDIS_URL is not set: Celery uses the filesystem broker under var/, which "
                "only works when the web process, the worker and beat share one machine.",
                hint="Set REDIS_URL (redis://host:6379/0) for the broker and the cache.",
                id="integrations.W001",
            )
        )
    portal = urlsplit(settings.QA_PORTAL_URL)
    if portal.scheme != "https" or portal.hostname in {"localhost", "127.0.0.1", None}:
        warnings.append(
            Warning(
                f"QA_PORTAL_URL is {settings.QA_PORTAL_URL!r}: the links in the key-expiry "
                "emails would not reach the portal.",
                hint="Set QA_PORTAL_URL to the portal's public https address.",
                id="integrations.W002",
            )
        )
    if settings.EMAIL_BACKEND in _UNDELIVERED_EMAIL_BACKENDS:
        backend = settings.EMAIL_BACKEND.rsplit(".", 2)[-2]  # "console"
        warnings.append(
            Warning(
                f"Email goes to the {backend} backend: admins would never receive the "
                "key-expiry emails.",
                hint="Set EMAIL_URL (smtp+tls://user:password@host:587) to your mail server.",
                id="integrations.W003",
            )
        )
    return warnings
