"""Deployment checks of the services integrations needs (`manage.py check --deploy`)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register


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
    return warnings
