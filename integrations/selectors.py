"""Reads of the integrations app. Every function takes the company and filters on it in SQL."""

from django.db.models import QuerySet

from qaportal.accounts.models import Company

from .models import ApiKey, AuditEvent, Integration


def integration_list(*, company: Company) -> QuerySet[Integration]:
    return Integration.objects.filter(company=company).order_by("provider")


def integration_get(*, company: Company, provider: str) -> Integration | None:
    return integration_list(company=company).filter(provider=provider).first()


def api_key_list(*, company: Company, integration: Integration | None = None) -> QuerySet[ApiKey]:
    keys = ApiKey.objects.filter(integration__company=company).select_related(
        "created_by", "revoked_by", "integration"
    )
    if integration is not None:
        keys = keys.filter(integration=integration)
    return keys.order_by("-created_at", "-id")


def audit_event_list(*, company: Company) -> QuerySet[AuditEvent]:
    return (
        AuditEvent.objects.filter(company=company)
        .select_related("actor")
        .order_by("-created_at", "-id")
    )
