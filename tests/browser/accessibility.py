"""axe-core (bundled with axe-playwright-python) run in the page, at a phone's width."""

import pytest

axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")

PHONE = {"width": 390, "height": 844}
SERIOUS = {"serious", "critical"}


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the current page, viewed 390 px wide,
    plus a check that nothing scrolls sideways at that width; the viewport is restored."""
    original = page.viewport_size
    page.set_viewport_size(PHONE)
    try:
        results = axe_module.Axe().run(page)
        found = [
            f"{violation['id']}: {violation['help']} ({len(violation['nodes'])} node(s))"
            for violation in results.response["violations"]
            if violation.get("impact") in SERIOUS
        ]
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 1:
            found.append(f"the page scrolls sideways by {overflow} px at 390 px")
        return found
    finally:
        page.set_viewport_size(original)
