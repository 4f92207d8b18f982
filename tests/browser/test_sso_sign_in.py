"""Sign in with Microsoft in a real Chromium.

A learner that SCIM provisioned types their work email on the sign-in page, chooses
"Sign in with Microsoft", signs in on the local OpenID Connect provider's own page (a second
process, tests/oidc_provider) and lands on their dashboard. After Entra deactivates them over
SCIM, their session ends and the next Microsoft sign-in is refused with a clear page.
"""

import json
import re
import shutil
import uuid
from urllib.request import Request, urlopen

import pytest

from integrations.models import ProvisioningEvent
from sso.models import VerifiedDomain
from tests.browser.axe import page_fits_width, serious_accessibility_violations
from tests.browser.chromium import SCREENS, chromium_page, expect
from tests.browser.test_entra_setup_journey import sign_in
from tests.factories import LearnerFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is missing"),
]

TENANT_ID = "5a1c3d2e-8b7f-4c6d-9e0a-1b2c3d4e5f60"
CLIENT_ID = "0f9e8d7c-6b5a-4493-8271-605f4e3d2c1b"
CLIENT_SECRET = "browser-test-client-secret"
PROVIDER_PASSWORD = "microsoft password"


@pytest.fixture
def sso_page(entra, settings):
    """A Chromium page; the portal's policy lets its sign-in form go to the local provider."""
    settings.QA_SSO_AUTHORITY = entra.authority
    policy = settings.CONTENT_SECURITY_POLICY
    directives = {**policy["DIRECTIVES"], "form-action": ["'self'", entra.authority]}
    settings.CONTENT_SECURITY_POLICY = {**policy, "DIRECTIVES": directives}
    with chromium_page() as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        yield page


def _scim_deactivate(live_server, key: str, scim_id) -> int:
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    }
    request = Request(  # noqa: S310 - the live server on 127.0.0.1
        f"{live_server.url}/webhooks/ad/v1/scim/Users/{scim_id}",
        data=json.dumps(body).encode(),
        method="PATCH",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/scim+json"},
    )
    with urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status


def _sign_in_with_microsoft(page, live_server, email: str, *, at_provider: bool) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_role("button", name="Sign in with Microsoft").click()
    if at_provider:
        # The provider's own page: like Microsoft's, it asks for the account's password.
        page.get_by_label("Email, phone, or Skype").fill(email)
        page.get_by_label("Password", exact=True).fill(PROVIDER_PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()


def test_a_provisioned_learner_signs_in_with_microsoft_until_entra_deactivates_them(
    sso_page, entra, live_server, company, admin_user, entra_integration, generated_key
):
    page = sso_page
    VerifiedDomain.objects.create(company=company, domain="contoso.com")

    # The company admin registers QA in Entra with the Redirect URI shown, then switches SSO on.
    sign_in(page, live_server, admin_user)
    page.goto(f"{live_server.url}/settings/integrations/entra-id/")
    sso = page.get_by_role("region", name="Single sign-on")
    redirect_uri = sso.get_by_label("Redirect URI", exact=True)
    expect(redirect_uri).to_have_value(f"{live_server.url}/sso/callback/")
    entra.register_client(CLIENT_ID, CLIENT_SECRET, [redirect_uri.input_value()])
    sso.get_by_label("Directory (tenant) ID").fill(TENANT_ID)
    sso.get_by_label("Application (client) ID").fill(CLIENT_ID)
    sso.get_by_label("Client secret value").fill(CLIENT_SECRET)
    sso.get_by_label("Turn on single sign-on").check()
    sso.get_by_label("Require single sign-on for people").check()
    sso.get_by_role("button", name="Save single sign-on").click()
    expect(page.get_by_text("Single sign-on settings saved.")).to_be_visible()
    expect(sso.get_by_text("On", exact=True)).to_be_visible()
    assert serious_accessibility_violations(page) == []
    # The company's own sign-in link, for the admin to share with learners.
    sso.get_by_role("button", name="Copy the sign-in link for your people").click()
    sign_in_link = page.evaluate("navigator.clipboard.readText()")
    assert re.fullmatch(rf"{re.escape(live_server.url)}/sso/c/[A-Za-z0-9_-]{{22}}/", sign_in_link)
    page.screenshot(path=str(SCREENS / "29-sso-settings.png"), full_page=True)
    page.get_by_role("button", name=re.compile("profile", re.IGNORECASE)).click()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/"))
    oid = str(uuid.uuid4())
    learner = LearnerFactory(
        company=company,
        user_name="nora@contoso.com",
        external_id=oid,
        given_name="Nora",
        family_name="North",
    )
    entra.add_user("nora@contoso.com", PROVIDER_PASSWORD, oid=oid, name="Nora North")

    _sign_in_with_microsoft(page, live_server, "nora@contoso.com", at_provider=True)
    expect(page.get_by_role("heading", name="Welcome, Nora North", level=1)).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/")
    page.screenshot(path=str(SCREENS / "30-sso-learner-home.png"), full_page=True)
    # A learner's menu has no admin pages.
    page.get_by_role("button", name=re.compile("profile", re.IGNORECASE)).click()
    expect(page.get_by_role("link", name="Settings & Integrations")).to_have_count(0)

    # Signed out, Nora signs in again through her company's link (Microsoft remembers her).
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/"))
    page.goto(sign_in_link)
    expect(page.get_by_text("Contoso signs in with Microsoft Entra ID.")).to_be_visible()
    assert serious_accessibility_violations(page) == []
    page.set_viewport_size({"width": 390, "height": 844})
    assert page_fits_width(page)
    page.screenshot(path=str(SCREENS / "30b-sso-sign-in-link-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Sign in with Microsoft").click()
    expect(page.get_by_role("heading", name="Welcome, Nora North", level=1)).to_be_visible()

    # Entra deactivates Nora: her session ends at once.
    assert _scim_deactivate(live_server, generated_key.plaintext, learner.scim_id) == 200
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))

    # Signing in again is refused, though Microsoft still knows her (she is signed in there).
    _sign_in_with_microsoft(page, live_server, "nora@contoso.com", at_provider=False)
    expect(page.get_by_role("heading", name="You were not signed in")).to_be_visible()
    expect(page.get_by_text("Your QA account has been deactivated.")).to_be_visible()
    page.screenshot(path=str(SCREENS / "31-sso-refused.png"), full_page=True)
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))

    outcomes = list(
        ProvisioningEvent.objects.filter(company=company, operation="sso_sign_in")
        .order_by("id")
        .values_list("outcome", "scim_type")
    )
    assert outcomes == [("success", ""), ("success", ""), ("failed", "deactivated_user")]
