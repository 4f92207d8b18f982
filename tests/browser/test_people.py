"""People and a person's History in a real Chromium, at a desktop's and a phone's width.

Microsoft Entra ID is played by real HTTP requests to the live server's SCIM endpoint (the
Entra of the activity tests); the admin finds a person through the main navigation, searches,
opens the person and reads what happened to them. Every page is scanned with axe-core at
1280 and 390 px.
"""

import re
import shutil

import pytest

from tests.browser.accessibility import serious_violations
from tests.browser.axe import page_fits_width, serious_accessibility_violations
from tests.browser.chromium import SCREENS, chromium_page, expect
from tests.browser.test_activity_and_health import Entra
from tests.browser.test_entra_setup_journey import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is missing"),
]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def page():
    with chromium_page(accept_downloads=True) as page:
        yield page


def assert_accessible_at_both_widths(page) -> None:
    assert serious_accessibility_violations(page) == []
    assert page_fits_width(page)
    assert serious_violations(page) == []  # at 390 px, with the sideways-scroll check


def main_nav(page):
    return page.get_by_role("navigation", name="Main")


def test_admin_finds_a_person_and_reads_their_history(page, live_server, admin_user, generated_key):
    Entra(live_server.url, generated_key.plaintext).sync()
    sign_in(page, live_server, admin_user)

    # The existing path to Settings still works: profile icon -> Settings & Integrations.
    page.get_by_role("button", name="Open your profile menu").click()
    expect(
        page.locator("#profile-menu").get_by_role("link", name="Settings & Integrations")
    ).to_be_visible()
    page.keyboard.press("Escape")

    main_nav(page).get_by_role("link", name="People", exact=True).click()
    expect(page.get_by_role("heading", name="People", level=1)).to_be_visible()
    expect(page.get_by_text("2 people", exact=True)).to_be_visible()
    expect(main_nav(page).get_by_role("link", name="People", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    assert_accessible_at_both_widths(page)
    page.screenshot(path=str(SCREENS / "40-people.png"), full_page=True)

    page.get_by_label("Search", exact=True).fill("BOB")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("1 person matches these filters")).to_be_visible()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Deactivated")
    expect(rows.first).to_contain_text("Sales")

    rows.first.get_by_role("link", name="bob@contoso.com").click()
    expect(page.get_by_role("heading", name="bob@contoso.com", level=1)).to_be_visible()
    history = page.get_by_role("region", name="History")
    expect(history.get_by_text("Deactivated by Microsoft Entra ID")).to_be_visible()
    expect(history.get_by_text("Added to team Sales")).to_be_visible()
    expect(history.get_by_text("Created by Microsoft Entra ID")).to_be_visible()
    assert_accessible_at_both_widths(page)
    page.screenshot(path=str(SCREENS / "41-person.png"), full_page=True)

    page.get_by_role("region", name="Teams").get_by_role("link", name="Sales").click()
    expect(page.get_by_role("heading", name="Sales", level=1)).to_be_visible()


def test_on_a_phone_the_navigation_is_a_menu(page, live_server, admin_user, generated_key):
    Entra(live_server.url, generated_key.plaintext).sync()
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, admin_user)

    menu = main_nav(page).get_by_role("button", name="Menu", exact=True)
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(main_nav(page).get_by_role("link", name="People", exact=True)).to_be_hidden()
    assert page_fits_width(page)
    page.screenshot(path=str(SCREENS / "42-phone-menu-closed.png"))

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.screenshot(path=str(SCREENS / "43-phone-menu-open.png"))
    assert serious_accessibility_violations(page) == []
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()

    menu.click()
    main_nav(page).get_by_role("link", name="People", exact=True).click()
    expect(page.get_by_role("heading", name="People", level=1)).to_be_visible()
    assert page_fits_width(page)
    page.locator("table tbody tr").filter(has_text="alice@contoso.com").get_by_role(
        "link"
    ).first.click()
    expect(page.get_by_role("region", name="History")).to_contain_text("Added to team Sales")
    assert page_fits_width(page)
    page.screenshot(path=str(SCREENS / "44-phone-person.png"), full_page=True)

    # The other sections are one tap away too.
    for label, heading in (("Teams", "Teams"), ("Activity", "Provisioning activity")):
        main_nav(page).get_by_role("button", name="Menu", exact=True).click()
        main_nav(page).get_by_role("link", name=label, exact=True).click()
        expect(page.get_by_role("heading", name=heading).first).to_be_visible()
        assert page_fits_width(page), label
    assert re.search(r"/activity/$", page.url)


def test_api_docs_open_from_settings_inside_the_portal(page, live_server, admin_user):
    sign_in(page, live_server, admin_user)
    main_nav(page).get_by_role("link", name="Settings & Integrations", exact=True).click()
    page.get_by_role("link", name="API documentation").click()
    expect(page.get_by_role("heading", name="Admin-automation API", level=1)).to_be_visible()
    expect(main_nav(page).get_by_role("link", name="People", exact=True)).to_be_visible()
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    page.screenshot(path=str(SCREENS / "45-api-docs.png"), full_page=True)
    assert serious_accessibility_violations(page) == []
    assert serious_violations(page) == []


def test_every_new_page_passes_axe_at_1280_and_390_px(page, live_server, admin_user, generated_key):
    from integrations.models import ProvisioningEvent
    from qaportal.accounts.models import Group, User

    Entra(live_server.url, generated_key.plaintext).sync()
    sign_in(page, live_server, admin_user)
    bob = User.objects.get(user_name="bob@contoso.com")
    sales = Group.objects.get(display_name="Sales")
    failed = ProvisioningEvent.objects.filter(outcome="failed").latest("created_at")
    changed = ProvisioningEvent.objects.filter(operation="add_members").latest("created_at")
    for path in (
        "/people/?q=contoso&status=active&sort=-name",
        f"/people/{bob.pk}/",
        f"/settings/activity/{failed.pk}/",
        f"/settings/activity/{changed.pk}/",
        "/settings/integrations/entra-id/activity/?show=all&since=2026-01-01",
        "/teams/?q=sal",
        f"/teams/{sales.pk}/",
        "/settings/integrations/entra-id/keys/",
        "/settings/integrations/entra-id/audit/",
        "/settings/admins/",
        "/settings/",
    ):
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        assert serious_accessibility_violations(page) == [], path
        assert page_fits_width(page), path
        assert serious_violations(page) == [], path
