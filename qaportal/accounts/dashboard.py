"""Dashboard sections contributed by the apps that build on accounts.

accounts owns the Dashboard but must not import the apps that depend on it (docs/architecture.md:
scim → integrations → accounts), so those apps register their sections in
AppConfig.ready() and the Dashboard renders whatever is registered.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest


@dataclass(frozen=True)
class DashboardSection:
    """A template included in one slot of the Dashboard, with the context it needs."""

    slot: str  # "alerts" (above the counts) or "main" (below them)
    template_name: str
    get_context: Callable[[HttpRequest], dict]


@dataclass(frozen=True)
class RenderedSection:
    template_name: str
    context: dict


_sections: list[DashboardSection] = []


def dashboard_section_register(*, slot: str, template_name: str, get_context) -> None:
    """Add a section; registering the same template twice (a re-run ready()) is a no-op."""
    if any(section.template_name == template_name for section in _sections):
        return
    _sections.append(DashboardSection(slot, template_name, get_context))


def dashboard_sections_build(*, request: HttpRequest) -> dict[str, list[RenderedSection]]:
    """The registered sections by slot, each with its context computed once per request."""
    contexts: dict[Callable, dict] = {}
    slots: dict[str, list[RenderedSection]] = {"alerts": [], "main": []}
    for section in _sections:
        if section.get_context not in contexts:
            contexts[section.get_context] = section.get_context(request)
        slots.setdefault(section.slot, []).append(
            RenderedSection(section.template_name, contexts[section.get_context])
        )
    return slots
