"""Sections that apps building on integrations add to an integration's page.

integrations must not import those apps (sso builds on it; dependencies run one way, see
docs/architecture.md), so they register a template and a context function in
AppConfig.ready(), as the Dashboard's sections do (qaportal/accounts/dashboard.py).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest

from .models import Integration


@dataclass(frozen=True)
class IntegrationSection:
    provider: str
    template_name: str
    # (request, integration) -> the template's `section` context
    get_context: Callable[[HttpRequest, Integration], dict]


@dataclass(frozen=True)
class RenderedSection:
    template_name: str
    context: dict


_sections: list[IntegrationSection] = []


def integration_section_register(*, provider: str, template_name: str, get_context) -> None:
    """Add a section to `provider`'s page; the same template twice (a re-run ready()) is a no-op."""
    if any(section.template_name == template_name for section in _sections):
        return
    _sections.append(IntegrationSection(provider, template_name, get_context))


def integration_sections_build(
    *, request: HttpRequest, integration: Integration, overrides: dict[str, dict] | None = None
) -> list[RenderedSection]:
    """The sections of `integration`'s page; `overrides` replaces a section's context by
    template name (a section re-rendering its own form with errors)."""
    overrides = overrides or {}
    return [
        RenderedSection(
            section.template_name,
            overrides.get(section.template_name) or section.get_context(request, integration),
        )
        for section in _sections
        if section.provider == integration.provider
    ]
