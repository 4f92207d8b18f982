"""The admin journey of the Microsoft Entra ID set-up guide, in a real Chromium.

Debian's `chromium` drives the pages through Playwright's sync API against pytest-django's
live server; locators are by role and label, as an admin (or a screen reader) finds things.
"""

import re
import shutil

import pytest
from django.utils import timezone

from integrations.models import ApiKey
from tests.browser.chromium import SCREENS, chromium_page, expect
from tests.conftest import ADMIN_PASSWORD
from tests.factories import LearnerFactory, TeamFactory
from tests.keys import authenticate_api_key

KEY_RE = re.compile(r"^qa_scim_[0-9A-Za-z]{8}_[0-9A-Za-z]{36}$")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is missing"),
]


@pytest.fixture
def page():
    with chromium_page() as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        yield page


def key_row(page, api_key: ApiKey):
    return page.get_by_role("row").filter(has=page.get_by_text(api_key.masked, exact=True))


def test_admin_connects_microsoft_entra_id_and_rotates_the_key(
    page, live_server, admin_user, entra_integration
):
    # Sign in.
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.screenshot(path=str(SCREENS / "00-sign-in.png"))
    page.get_by_label("Email", exact=True).fill(admin_user.email)
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()

    # Dashboard -> profile -> Settings & Integrations -> Integrations -> View Integration.
    page.get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.get_by_role("heading", name="People", exact=True)).to_be_visible()
    page.screenshot(path=str(SCREENS / "01-dashboard.png"), full_page=True)

    profile = page.get_by_role("button", name=re.compile("profile", re.IGNORECASE))
    profile.click()
    expect(profile).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")  # the menu closes with Escape and gives focus back
    expect(profile).to_have_attribute("aria-expanded", "false")
    expect(profile).to_be_focused()
    profile_menu = page.locator("#profile-menu")
    expect(profile_menu.get_by_role("link", name="Settings & Integrations")).to_be_hidden()
    profile.click()
    page.screenshot(path=str(SCREENS / "02-profile-menu.png"))
    profile_menu.get_by_role("link", name="Settings & Integrations").click()
    expect(page.get_by_role("heading", name="Settings & Integrations")).to_be_visible()

    page.get_by_role("link", name="Integrations", exact=True).click()
    entra = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name="Microsoft Entra ID")
    )
    expect(entra.get_by_text("Not connected")).to_be_visible()
    page.screenshot(path=str(SCREENS / "03-integrations-tab.png"), full_page=True)
    entra.get_by_role("link", name="View Integration").click()

    # The Tenant URL is absolute, built from the host the browser reached.
    expect(page.get_by_label("Tenant URL", exact=True)).to_have_value(
        f"{live_server.url}/webhooks/ad/v1/scim"
    )
    expect(page.get_by_role("button", name="Copy the Tenant URL")).to_be_visible()

    # Generate a new API Key: shown once, and it authenticates.
    page.get_by_role("button", name="Generate a new API Key").click()
    expect(page.get_by_text("This key will not be shown again.")).to_be_visible()
    first_plaintext = page.get_by_label("New API key", exact=True).input_value()
    assert KEY_RE.match(first_plaintext)
    copy = page.get_by_role("button", name="Copy the new API key")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == first_plaintext
    first_key = authenticate_api_key(first_plaintext)
    assert first_key is not None
    assert first_key.integration == entra_integration
    page.screenshot(path=str(SCREENS / "04-key-revealed.png"), full_page=True)

    # Reload: a GET of the integration page (the reveal replaced the history entry), so the
    # key is gone and nothing new was generated.
    page.reload()
    expect(page).to_have_url(f"{live_server.url}/settings/integrations/entra-id/")
    expect(page.get_by_label("New API key", exact=True)).to_have_count(0)
    assert first_plaintext not in page.content()
    expect(key_row(page, first_key)).to_have_count(1)
    expect(key_row(page, first_key).get_by_text("Active", exact=True)).to_be_visible()
    assert ApiKey.objects.filter(integration=entra_integration).count() == 1

    # A second key: with a working key the button asks first, saying when the key stops.
    page.get_by_role("link", name="Generate a new API Key").click()
    expect(page.get_by_role("heading", name="Generate a new API key?")).to_be_visible()
    expect(page.get_by_text("Then it stops working.")).to_be_visible()
    page.screenshot(path=str(SCREENS / "05a-rotation-confirm.png"), full_page=True)
    page.get_by_role("button", name="Generate a new API Key").click()
    # The one-time display has the Tenant URL beside the key; the badge is not an alarm.
    expect(page.locator("#reveal-tenant-url")).to_have_value(re.compile(r"/webhooks/ad/v1/scim$"))
    expect(page.locator(".badge--info", has_text="Key rotation in progress")).to_be_visible()
    # The first key is now expiring, with the time it has left.
    second_plaintext = page.get_by_label("New API key", exact=True).input_value()
    assert KEY_RE.match(second_plaintext)
    assert second_plaintext != first_plaintext
    first_row = key_row(page, first_key)
    expect(first_row.get_by_text("Expiring", exact=True)).to_be_visible()
    expect(first_row.locator("time[data-countdown]")).to_have_text(
        re.compile(r"^7\shours,\s59\sminutes$")
    )
    expect(
        page.get_by_text(re.compile(r"Your previous key keeps working for 8\shours"))
    ).to_be_visible()
    page.screenshot(path=str(SCREENS / "05-second-key.png"), full_page=True)

    # Both keys work during the grace period.
    assert authenticate_api_key(first_plaintext) == first_key
    assert authenticate_api_key(second_plaintext) is not None
    first_key.refresh_from_db()
    assert first_key.status_at(timezone.now()) == ApiKey.Status.EXPIRING

    # The Dashboard tells the admin the old key is on its way out.
    page.get_by_role("link", name="Dashboard", exact=True).click()
    expect(
        page.get_by_text(re.compile(r"An older Microsoft Entra ID key expires in"))
    ).to_be_visible()
    page.screenshot(path=str(SCREENS / "06-dashboard-expiring.png"), full_page=True)


def sign_in(page, live_server, admin_user) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email", exact=True).fill(admin_user.email)
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


def test_admin_revokes_a_key_after_confirming_in_a_dialog(
    page, live_server, admin_user, generated_key
):
    sign_in(page, live_server, admin_user)
    page.goto(f"{live_server.url}/settings/integrations/entra-id/")
    revoke = key_row(page, generated_key.api_key).get_by_role("link", name=re.compile("^Revoke"))

    # Cancel changes nothing.
    revoke.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(generated_key.api_key.masked)
    page.screenshot(path=str(SCREENS / "07-revoke-dialog.png"))
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert authenticate_api_key(generated_key.plaintext) is not None

    revoke.click()
    dialog.get_by_role("button", name="Revoke key").click()
    expect(page.get_by_role("status").filter(has_text="Revoked")).to_be_visible()
    expect(key_row(page, generated_key.api_key).get_by_text("Revoked", exact=True)).to_be_visible()
    assert authenticate_api_key(generated_key.plaintext) is None
    page.screenshot(path=str(SCREENS / "08-revoked.png"), full_page=True)


def test_admin_opens_the_teams_of_the_company_from_the_dashboard(
    page, live_server, admin_user, company
):
    sales = TeamFactory(company=company, display_name="Sales")
    sales.members.add(
        *[
            LearnerFactory(company=company, display_name=name)
            for name in ("Alice Adams", "Bob Brown", "Chen Wei", "Dana Diaz")
        ],
        LearnerFactory(company=company, display_name="Eve Former", is_active=False),
    )
    TeamFactory(company=company, display_name="Engineering")

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email", exact=True).fill(admin_user.email)
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("4 active")).to_be_visible()
    expect(page.get_by_text("1 deactivated")).to_be_visible()
    page.screenshot(path=str(SCREENS / "09-dashboard-with-people.png"), full_page=True)

    page.get_by_role("link", name="View teams").click()
    expect(page.get_by_role("heading", name="Teams", level=1)).to_be_visible()
    members = page.get_by_role("list", name="Members of Sales")
    expect(members.get_by_role("listitem")).to_have_count(5)
    page.screenshot(path=str(SCREENS / "10-teams.png"), full_page=True)

    page.get_by_role("link", name="Sales", exact=True).click()
    expect(page.get_by_role("heading", name="Sales", level=1)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Eve Former")).to_contain_text("Deactivated")
    page.screenshot(path=str(SCREENS / "11-team-detail.png"), full_page=True)


def test_without_javascript_the_pages_still_work(live_server, admin_user, generated_key):
    with chromium_page(java_script_enabled=False) as page:
        sign_in(page, live_server, admin_user)

        # The profile menu needs JavaScript; its links show in the header instead.
        profile = page.get_by_role("button", name=re.compile("profile", re.IGNORECASE))
        expect(profile).to_be_hidden()
        page.get_by_role("link", name="Settings & Integrations").click()
        expect(page.get_by_role("heading", name="Settings & Integrations")).to_be_visible()
        page.screenshot(path=str(SCREENS / "12-no-javascript.png"))

        # Revoke confirms on its own page.
        page.get_by_role("link", name="Integrations", exact=True).click()
        page.get_by_role("link", name="View Integration").click()
        key_row(page, generated_key.api_key).get_by_role("link", name=re.compile("^Revoke")).click()
        expect(page.get_by_role("heading", name=re.compile("^Revoke"))).to_be_visible()
        page.screenshot(path=str(SCREENS / "13-revoke-confirm-page.png"))
        page.get_by_role("button", name="Revoke key").click()
        expect(
            key_row(page, generated_key.api_key).get_by_text("Revoked", exact=True)
        ).to_be_visible()
        assert authenticate_api_key(generated_key.plaintext) is None

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
