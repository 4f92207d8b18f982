"""Accessibility checks of a page with axe-core (node_modules, installed by `make test`)."""

from pathlib import Path

import pytest

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# Serious and critical are the impacts that block people; moderate and minor are reported by
# axe too, and left to review.
BLOCKING_IMPACTS = {"serious", "critical"}


def serious_accessibility_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, in words.

    The script is evaluated through the DevTools protocol, which the page's
    Content-Security-Policy does not apply to (a script tag would be refused, as it should).
    """
    if not AXE_SCRIPT.exists():
        pytest.fail(f"{AXE_SCRIPT} is missing: run `npm ci` at the repository root first.")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(f"() => {{ {AXE_SCRIPT.read_text(encoding='utf-8')} }}")
    results = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations'],"
        " runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',"
        " 'best-practice']}})"
    )
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:5])
        for violation in results["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]


def page_fits_width(page) -> bool:
    """No horizontal scrolling of the whole page (tables may scroll inside their wrapper)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
