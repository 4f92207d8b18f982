"""Template context shared by every page."""

from django.conf import settings
from django.http import HttpRequest


def support(request: HttpRequest) -> dict:
    """QA support's address, for the pages that tell a stuck admin where to get help (the
    lockout, 403 and two-factor pages)."""
    return {"support_email": settings.QA_SUPPORT_EMAIL}


# The main navigation's sections, by the view names that belong to each (no query).
NAV_SECTIONS = {
    "accounts:dashboard": "dashboard",
    "people:person_list": "people",
    "people:person_detail": "people",
    "accounts:team_list": "teams",
    "accounts:team_detail": "teams",
    "integrations:activity": "activity",
    "integrations:provisioning_activity": "activity",
    "integrations:provisioning_event_detail": "activity",
}


def navigation(request: HttpRequest) -> dict:
    """Which section of the main navigation the page belongs to, for its aria-current."""
    match = getattr(request, "resolver_match", None)
    view_name = match.view_name if match else ""
    section = NAV_SECTIONS.get(view_name, "")
    if not section and view_name.startswith("integrations:"):
        section = "settings"
    return {"nav_section": section}
