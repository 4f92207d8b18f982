"""Sign in with Microsoft, first half: from the typed email to the company's Entra tenant
, without telling anyone which accounts exist."""

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from sso.models import VerifiedDomain
from sso.views import FLOWS_SESSION_KEY
from tests.factories import LearnerFactory
from tests.sso.conftest import CLIENT_ID, OTHER_CLIENT_ID, TENANT_ID

pytestmark = pytest.mark.django_db

START = reverse("sso:start")
AUTHORITY = "https://login.microsoftonline.com"


def _start(client, email: str, **extra):
    return client.post(START, {"username": email, "password": "", "next": "", **extra})


def _query(response) -> dict[str, str]:
    assert response.status_code == 302
    return {
        key: values[0] for key, values in parse_qs(urlsplit(response["Location"]).query).items()
    }


def test_sign_in_page_offers_sign_in_with_microsoft_for_the_typed_email(client):
    html = client.get(reverse("accounts:login")).content.decode()
    button = re.search(
        r'<button type="submit"[^>]*formaction="([^"]+)"[^>]*>Sign in with Microsoft</button>', html
    )
    assert button is not None
    assert button.group(1) == START


def test_a_verified_domain_sends_anyone_at_it_to_the_company_tenant_with_pkce(
    client, sso_connection, contoso_domain
):
    response = _start(client, "Someone.New@Contoso.com")
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"{AUTHORITY}/{TENANT_ID}/oauth2/v2.0/authorize"
    )
    query = _query(response)
    assert query["client_id"] == CLIENT_ID
    assert query["response_type"] == "code"
    assert set(query["scope"].split()) == {"openid", "profile", "email"}
    assert query["redirect_uri"] == "http://testserver/sso/callback/"
    assert query["login_hint"] == "Someone.New@Contoso.com"
    assert query["code_challenge_method"] == "S256"
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    # The verifier stays in the session; only its S256 challenge leaves.
    stored = client.session["oidc_states"][query["state"]]
    verifier = stored["code_verifier"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert query["code_challenge"] == challenge.decode()
    assert stored["nonce"] == query["nonce"]
    assert client.session[FLOWS_SESSION_KEY][query["state"]]["connection_id"] == sso_connection.pk


def test_a_provisioned_user_name_or_work_email_finds_the_company_without_a_domain(
    client, sso_connection, company
):
    LearnerFactory(company=company, user_name="bob@partner.example", work_email="")
    LearnerFactory(company=company, user_name="carol@x.example", work_email="Carol@Mail.example")
    for email in ("BOB@partner.example", "carol@mail.example"):
        assert _query(_start(client, email))["client_id"] == CLIENT_ID


def test_each_company_signs_in_through_its_own_tenant(
    client, sso_connection, other_sso_connection, other_company
):
    VerifiedDomain.objects.create(company=other_company, domain="fabrikam.com")
    LearnerFactory(company=other_company, user_name="dan@partner.example")
    assert _query(_start(client, "eve@fabrikam.com"))["client_id"] == OTHER_CLIENT_ID
    assert _query(_start(client, "dan@partner.example"))["client_id"] == OTHER_CLIENT_ID


def _unavailable_text(response, email: str) -> str:
    assert response.status_code == 200
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return html.replace(email, "EMAIL")


def test_an_unknown_address_and_one_whose_company_has_sso_off_get_the_same_answer(
    client, company, other_company, other_entra_integration, sso_connection
):
    LearnerFactory(company=other_company, user_name="frank@fabrikam.com")  # SSO off there
    unknown = _unavailable_text(_start(client, "nobody@nowhere.example"), "nobody@nowhere.example")
    sso_off = _unavailable_text(_start(client, "frank@fabrikam.com"), "frank@fabrikam.com")
    assert unknown == sso_off
    assert "Microsoft sign-in is not available for" in unknown
    assert FLOWS_SESSION_KEY not in client.session


def test_an_address_provisioned_in_two_sso_companies_is_not_guessed(
    client, company, other_company, sso_connection, other_sso_connection
):
    LearnerFactory(company=company, user_name="shared@partner.example")
    LearnerFactory(company=other_company, user_name="shared@partner.example")
    response = _start(client, "shared@partner.example")
    assert response.status_code == 200
    assert "Microsoft sign-in is not available" in response.content.decode()


def test_a_switched_off_connection_sends_nobody_to_entra(client, sso_connection, contoso_domain):
    sso_connection.is_enabled = False
    sso_connection.save()
    assert _start(client, "alice@contoso.com").status_code == 200


@pytest.mark.parametrize("email", ["", "not-an-email"])
def test_a_missing_or_malformed_email_is_a_clear_error(client, email):
    response = _start(client, email)
    assert response.status_code == 400
    assert "then choose Sign in with Microsoft" in response.content.decode()


def test_only_a_local_next_url_is_kept(client, sso_connection, contoso_domain):
    local = _query(_start(client, "a@contoso.com", next="/teams/"))["state"]
    elsewhere = _query(_start(client, "a@contoso.com", next="https://evil.example/"))["state"]
    flows = client.session[FLOWS_SESSION_KEY]
    assert flows[local]["next"] == "/teams/"
    assert flows[elsewhere]["next"] is None


def test_starting_needs_the_csrf_token(sso_connection, contoso_domain):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(START, {"username": "a@contoso.com"})
    assert response.status_code == 403


def test_starts_per_client_ip_are_limited(client, settings, sso_connection, contoso_domain):
    settings.QA_SSO_START_LIMIT = 2
    assert _start(client, "a@contoso.com").status_code == 302
    assert _start(client, "a@contoso.com").status_code == 302
    assert _start(client, "a@contoso.com").status_code == 429


def test_the_sign_in_form_allows_posting_to_the_microsoft_authority(client, settings):
    response = client.get(reverse("accounts:login"))
    policy = response["Content-Security-Policy"]
    form_action = re.search(r"form-action ([^;]+)", policy).group(1).split()
    assert form_action == ["'self'", settings.QA_SSO_AUTHORITY]


def test_a_verified_domain_belongs_to_its_company_alone(
    client, company, other_company, sso_connection, other_sso_connection, contoso_domain
):
    """Fabrikam's Entra could provision `ceo@contoso.com`; Contoso's address still goes to
    Contoso's tenant, and nowhere once Contoso switches SSO off."""
    LearnerFactory(company=other_company, user_name="ceo@contoso.com")
    assert _query(_start(client, "ceo@contoso.com"))["client_id"] == CLIENT_ID
    sso_connection.is_enabled = False
    sso_connection.save()
    response = _start(client, "ceo@contoso.com")
    assert response.status_code == 200
    assert "Microsoft sign-in is not available" in response.content.decode()


def test_the_password_typed_on_the_sign_in_page_stays_out_of_error_reports(rf, db):
    from django.views.debug import SafeExceptionReporterFilter

    from sso.views import SsoStartView

    request = rf.post(START, {"username": "a@nowhere.example", "password": "MyQAPassword!"})
    assert SsoStartView.as_view()(request).status_code == 200
    cleaned = SafeExceptionReporterFilter().get_post_parameters(request)
    assert cleaned["password"] != "MyQAPassword!"
    assert cleaned["username"] == "a@nowhere.example"
