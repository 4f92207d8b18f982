"""The Content-Security-Policy breaks nothing in a real Chromium: walking the portal with the
policy enforced reports no violation."""

import re
import shutil

import pytest

from tests.browser.test_entra_setup_journey import page, sign_in  # noqa: F401 - fixture
from tests.conftest import ADMIN_PASSWORD

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is missing"),
]

# Records every violation the browser reports, before any page script runs.
_RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def test_walking_the_portal_reports_no_policy_violation(page, live_server, admin_user):  # noqa: F811
    page.add_init_script(_RECORD_VIOLATIONS)
    console = []
    page.on("console", lambda message: console.append(message.text))
    violations = []

    def collect() -> None:
        violations.extend(page.evaluate("window.__cspViolations"))

    sign_in(page, live_server, admin_user)
    collect()
    page.get_by_role("button", name=re.compile("profile")).click()
    page.locator("#profile-menu").get_by_role("link", name="Settings & Integrations").click()
    collect()
    page.get_by_role("link", name="Integrations", exact=True).click()
    page.get_by_role("link", name="View Integration").click()
    collect()
    page.get_by_role("button", name="Generate a new API Key").click()
    expect(page.get_by_text("This key will not be shown again.")).to_be_visible()
    collect()
    for path in (
        "/teams/",
        "/people/",
        "/settings/integrations/entra-id/activity/",
        "/settings/integrations/entra-id/keys/",
        "/confirm-password/",
    ):
        page.goto(f"{live_server.url}{path}")
        collect()
    # drf-spectacular's Swagger UI, rendered by its own scripts under the same policy.
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.get_by_role("heading", name=re.compile("QA Portal admin API"))).to_be_visible()
    collect()

    assert violations == []
    assert [text for text in console if "Content Security Policy" in text] == []


def test_the_policy_really_blocks_an_inline_script(page, live_server, admin_user):  # noqa: F811
    """The check above would see a violation: an injected inline script is refused."""
    page.add_init_script(_RECORD_VIOLATIONS)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email", exact=True).fill(admin_user.email)
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    page.evaluate(
        """() => {
        const script = document.createElement("script");
        script.textContent = "window.__inlineRan = true";
        document.body.appendChild(script);
    }"""
    )
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.__inlineRan === undefined")
    assert any("script-src" in v for v in page.evaluate("window.__cspViolations"))
