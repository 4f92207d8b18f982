"""What the integrations app shows on the Dashboard (registered in IntegrationsConfig.ready)."""

from django.http import HttpRequest
from django.utils import timezone

from .selectors import integration_overview_list


def dashboard_context(request: HttpRequest) -> dict:
    company = request.user.company
    return {"overviews": integration_overview_list(company=company, now=timezone.now())}
