"""Connection health and provisioning activity in a real Chromium.

Microsoft Entra ID is played by real HTTP requests to the live server's SCIM endpoint with the
key as its Secret Token; the admin watches the integration page, filters the activity log,
downloads the CSV and opens the audit trail, as in the set-up journey of the foundation issue.
"""

import csv
import io
import json
import re
import shutil
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.services import api_key_revoke, provisioning_event_record
from tests.browser.chromium import SCREENS, chromium_page, expect
from tests.browser.test_entra_setup_journey import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is missing"),
]

SCIM = "/webhooks/ad/v1/scim"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def page():
    with chromium_page(accept_downloads=True) as page:
        yield page


class Entra:
    """Microsoft Entra ID's provisioning service, as far as the live server can tell."""

    def __init__(self, base_url: str, secret_token: str) -> None:
        self.base_url = base_url + SCIM
        self.secret_token = secret_token

    def send(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(  # noqa: S310 (the live server's own http URL)
            self.base_url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={
                "Authorization": f"Bearer {self.secret_token}",
                "Content-Type": "application/scim+json",
            },
        )
        try:
            with urllib.request.urlopen(request) as response:  # noqa: S310
                raw = response.read()
                return response.status, json.loads(raw) if raw else {}
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def sync(self) -> None:
        """A first cycle: create two users, a group with them, deactivate one, a conflict."""
        assert self.send("GET", '/Users?filter=userName+eq+"alice@contoso.com"')[0] == 200
        status, alice = self.send("POST", "/Users", {"userName": "alice@contoso.com"})
        assert status == 201
        status, bob = self.send("POST", "/Users", {"userName": "bob@contoso.com"})
        assert status == 201
        status, sales = self.send("POST", "/Groups", {"schemas": [GROUP], "displayName": "Sales"})
        assert status == 201
        members = {"op": "Add", "path": "members", "value": [{"value": alice["id"]}]}
        members["value"].append({"value": bob["id"]})
        status, _ = self.send(
            "PATCH", f"/Groups/{sales['id']}", {"schemas": [PATCH_OP], "Operations": [members]}
        )
        assert status == 204
        deactivate = {"op": "Replace", "path": "active", "value": "False"}
        status, _ = self.send(
            "PATCH", f"/Users/{bob['id']}", {"schemas": [PATCH_OP], "Operations": [deactivate]}
        )
        assert status == 200
        assert self.send("POST", "/Users", {"userName": "ALICE@contoso.com"})[0] == 409


def health(page):
    return page.get_by_role("region", name="Connection health")


def activity_rows(page):
    return page.locator("table.table--activity tbody tr")


def test_admin_sees_provisioning_arrive_filters_it_and_spots_an_expired_key(
    page, live_server, admin_user, generated_key
):
    sign_in(page, live_server, admin_user)
    integration_url = f"{live_server.url}/settings/integrations/entra-id/"

    # A key exists and Entra has sent nothing yet.
    page.goto(integration_url)
    expect(health(page).get_by_text("Waiting for Microsoft Entra ID")).to_be_visible()
    page.screenshot(path=str(SCREENS / "20-health-waiting.png"), full_page=True)

    # Entra runs its first cycle with the key as its Secret Token.
    entra = Entra(live_server.url, generated_key.plaintext)
    entra.sync()
    page.reload()
    expect(health(page).get_by_text("Connected", exact=True)).to_be_visible()
    expect(
        health(page).get_by_text(
            re.compile(r"Last successful request (just now|\d+\sminutes? ago)")
        )
    ).to_be_visible()
    expect(health(page).get_by_text("1 of the last 7 requests failed")).to_be_visible()
    summary = page.get_by_role("region", name="Provisioning activity")
    expect(summary.get_by_text("Deactivated bob@contoso.com")).to_be_visible()
    expect(summary.get_by_text("Added 2 members to Sales")).to_be_visible()
    page.screenshot(path=str(SCREENS / "21-health-connected.png"), full_page=True)

    # The whole log, newest first.
    summary.get_by_role("link", name="View all activity").first.click()
    expect(page.get_by_role("heading", name="Provisioning activity")).to_be_visible()
    # Changes and failures first; the lookup is one choice away.
    expect(activity_rows(page)).to_have_count(6)
    expect(activity_rows(page).first).to_contain_text("Create person ALICE@contoso.com")
    expect(activity_rows(page).first).to_contain_text("409 uniqueness")
    expect(activity_rows(page).first).to_contain_text("Someone with this username already")
    expect(activity_rows(page).last).to_contain_text("Created person alice@contoso.com")
    page.get_by_label("Show").select_option(label="Everything, lookups included")
    page.get_by_role("button", name="Apply").click()
    expect(activity_rows(page)).to_have_count(7)
    expect(activity_rows(page).last).to_contain_text("Looked up person alice@contoso.com")
    page.screenshot(path=str(SCREENS / "22-activity.png"), full_page=True)

    # Each row opens its detail: why it failed and what to do in Entra.
    activity_rows(page).first.get_by_role("link", name="Create person ALICE@contoso.com").click()
    failure = page.get_by_role("region", name="Why it failed")
    expect(failure).to_contain_text("Someone with this username already exists in QA.")
    expect(failure).to_contain_text("make userName the matching attribute")
    expect(page.get_by_role("region", name="The request")).to_contain_text("POST")
    page.screenshot(path=str(SCREENS / "22b-activity-detail.png"), full_page=True)
    page.go_back()

    # Filter: failed requests only.
    page.get_by_label("Outcome").select_option(label="Failed")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"outcome=failed"))
    expect(activity_rows(page)).to_have_count(1)
    expect(activity_rows(page).first).to_contain_text("Failed")
    page.screenshot(path=str(SCREENS / "23-activity-failed.png"), full_page=True)

    # The CSV of this filter.
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("^Export CSV")).click()
    with open(download_info.value.path(), encoding="utf-8-sig") as exported:
        rows = list(csv.reader(io.StringIO(exported.read())))
    assert [row[1] for row in rows[1:]] == ["Create person ALICE@contoso.com"]

    # Search by userName, any case, among all outcomes.
    page.get_by_label("Outcome").select_option(label="All outcomes")
    page.get_by_label("Search").fill("Alice@Contoso.com")
    page.get_by_role("button", name="Apply").click()
    expect(activity_rows(page)).to_have_count(3)
    page.get_by_label("Operation").select_option(label="Create person")
    page.get_by_role("button", name="Apply").click()
    expect(activity_rows(page)).to_have_count(2)
    page.get_by_role("link", name="Clear").click()
    expect(activity_rows(page)).to_have_count(6)

    # The key is revoked but Entra keeps sending it.
    api_key_revoke(api_key=generated_key.api_key, revoked_by=admin_user)
    assert entra.send("GET", "/Users")[0] == 401
    page.goto(integration_url)
    card = health(page)
    expect(card.get_by_text("Using an expired key")).to_be_visible()
    expect(card).to_contain_text(f"Microsoft Entra ID is using {generated_key.api_key.masked}")
    expect(card).to_contain_text("a key that was revoked on")
    page.screenshot(path=str(SCREENS / "24-health-expired-key.png"), full_page=True)
    card.get_by_role("link", name="See refused requests").click()
    expect(activity_rows(page)).to_have_count(1)
    expect(activity_rows(page).first).to_contain_text("Rejected key")
    expect(activity_rows(page).first).to_contain_text("This API key was revoked.")

    # The Dashboard says so too, with the counts and the chart (earlier days seeded).
    for days_ago, changes, failures in ((1, 6, 1), (3, 9, 0), (4, 2, 3), (8, 12, 0), (12, 4, 1)):
        for i in range(changes + failures):
            provisioning_event_record(
                company_id=admin_user.company_id,
                api_key_id=generated_key.api_key.pk,
                method="POST",
                path=f"{SCIM}/Users",
                operation="create_user",
                status_code=201 if i < changes else 409,
                outcome="success" if i < changes else "failed",
                now=timezone.now() - timedelta(days=days_ago, minutes=i),
            )
    page.get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("sending a revoked or expired key")
    expect(health(page).get_by_text("Using an expired key")).to_be_visible()
    activity = page.get_by_role("region", name="Provisioning activity")
    expect(activity.get_by_text("Team members")).to_be_visible()
    expect(activity.get_by_role("img", name=re.compile("Changes per day"))).to_be_visible()
    page.screenshot(path=str(SCREENS / "25-dashboard-health-and-chart.png"), full_page=True)

    # And the audit trail shows who revoked the key.
    page.goto(integration_url)
    page.get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Revoked API key")).to_contain_text(
        generated_key.api_key.prefix
    )
    page.screenshot(path=str(SCREENS / "26-audit-trail.png"), full_page=True)

    # On a phone the filters stack and the log stays readable.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{integration_url}activity/?outcome=failed")
    expect(page.get_by_role("button", name="Apply")).to_be_visible()
    expect(activity_rows(page)).to_have_count(6)
    page.screenshot(path=str(SCREENS / "29-activity-phone.png"), full_page=True)


def test_during_a_rotation_the_card_says_which_key_entra_uses(
    page, live_server, admin_user, generated_key
):
    old = Entra(live_server.url, generated_key.plaintext)
    assert old.send("GET", "/Users")[0] == 200
    sign_in(page, live_server, admin_user)
    page.goto(f"{live_server.url}/settings/integrations/entra-id/")
    page.get_by_role("link", name="Generate a new API Key").click()
    page.get_by_role("button", name="Generate a new API Key").click()
    new_key = page.get_by_label("New API key", exact=True).input_value()
    expect(page.get_by_role("status").filter(has_text="An older key expires in")).to_have_count(0)

    assert old.send("GET", "/Users")[0] == 200
    page.reload()
    expect(page.get_by_text(re.compile(r"An older key expires in 7 h 5\d min\."))).to_be_visible()
    card = health(page)
    expect(card.get_by_text("Entra is still using the old key.")).to_be_visible()
    expect(card).to_contain_text("Not used yet")
    page.screenshot(path=str(SCREENS / "27-rotation-old-key.png"), full_page=True)

    assert Entra(live_server.url, new_key).send("GET", "/Users")[0] == 200
    page.reload()
    expect(card.get_by_text("Entra has switched to the new key.")).to_be_visible()
    expect(card).to_contain_text("First used")
    page.screenshot(path=str(SCREENS / "28-rotation-new-key.png"), full_page=True)
