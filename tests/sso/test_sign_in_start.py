"""Sign in with Microsoft, first half: from the typed email to the company's Entra tenant,
without telling anyone which accounts exist."""

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from sso.models import VerifiedDomain
from sso.services import sso_connection_save
from sso.views import FLOW_SESSION_KEY
from tests.factories import CompanyAdminFactory, LearnerFactory
from tests.sso.conftest import CLIENT_ID, OTHER_CLIENT_ID, OTHER_TENANT_ID, TENANT_ID

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
    flow = client.session[FLOW_SESSION_KEY]
    assert (flow["state"], flow["connection_id"]) == (query["state"], sso_connection.pk)


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


def test_no_match_sso_off_and_several_matches_get_one_page_pointing_to_the_company_link(
    client, company, other_company, other_entra_integration, sso_connection
):
    """Nothing on the page says whether the address has an account, where, or in how many
    companies: each is told to use their company's own sign-in link."""
    LearnerFactory(company=other_company, user_name="frank@fabrikam.com")  # SSO off there
    unknown = _unavailable_text(_start(client, "nobody@nowhere.example"), "nobody@nowhere.example")
    sso_off = _unavailable_text(_start(client, "frank@fabrikam.com"), "frank@fabrikam.com")

    sso_connection_save(
        integration=other_entra_integration,
        tenant_id=OTHER_TENANT_ID,
        client_id=OTHER_CLIENT_ID,
        client_secret="other-company-secret",
        is_enabled=True,
        require_sso=False,
        updated_by=CompanyAdminFactory(company=other_company),
    )
    LearnerFactory(company=company, user_name="shared@partner.example")
    LearnerFactory(company=other_company, user_name="shared@partner.example")
    several = _unavailable_text(_start(client, "shared@partner.example"), "shared@partner.example")

    assert unknown == sso_off == several
    assert "use <strong>your company's sign-in link</strong>" in unknown
    assert "http://testserver/sso/c/" in unknown
    assert FLOW_SESSION_KEY not in client.session


def test_a_switched_off_connection_sends_nobody_to_entra(client, sso_connection, contoso_domain):
    sso_connection.is_enabled = False
    sso_connection.save()
    assert _start(client, "alice@contoso.com").status_code == 200


@pytest.mark.parametrize("email", ["", "not-an-email"])
def test_a_missing_or_malformed_email_is_a_clear_error(client, email):
    response = _start(client, email)
    assert response.status_code == 400
    assert "then choose Sign in with Microsoft" in response.content.decode()


@pytest.mark.parametrize(
    ("next_url", "kept"),
    [
        ("/teams/?page=2", "/teams/?page=2"),
        ("/" + "a" * 511, "/" + "a" * 511),
        ("/" + "a" * 512, None),  # over MAX_NEXT_LENGTH
        ("https://evil.example/", None),
        ("http://testserver/teams/", None),  # this host, but a full URL all the same
        ("//evil.example/", None),
        ("/\\evil.example/", None),
        ("\\/evil.example/", None),
        ("teams/", None),
        ("javascript:alert(1)", None),
        ("/teams/\nLocation: https://evil.example/", None),
        ("", None),
    ],
)
def test_only_a_local_path_of_bounded_length_is_kept_as_next(
    client, sso_connection, contoso_domain, next_url, kept
):
    _query(_start(client, "a@contoso.com", next=next_url))
    assert client.session[FLOW_SESSION_KEY]["next"] == kept


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
    assert "your company's sign-in link" in response.content.decode()


def test_the_password_typed_on_the_sign_in_page_stays_out_of_error_reports(rf, db):
    from django.views.debug import SafeExceptionReporterFilter

    from sso.views import SsoStartView

    request = rf.post(START, {"username": "a@nowhere.example", "password": "MyQAPassword!"})
    assert SsoStartView.as_view()(request).status_code == 200
    cleaned = SafeExceptionReporterFilter().get_post_parameters(request)
    assert cleaned["password"] != "MyQAPassword!"
    assert cleaned["username"] == "a@nowhere.example"
