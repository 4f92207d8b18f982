"""Template context shared by every page."""

from django.conf import settings
from django.http import HttpRequest


def support(request: HttpRequest) -> dict:
    """QA support's address, for the pages that tell a stuck admin where to get help (the
    lockout, 403 and two-factor pages)."""
    return {"support_email": settings.QA_SUPPORT_EMAIL}
