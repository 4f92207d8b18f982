"""A company's own sign-in link: no other company's data can steer or block its learners.

The shared sign-in page finds the company from a verified domain or, failing that, from the
one company that provisioned the typed address. Another company can provision any address, so
for an address provisioned in several companies that page decides nothing; each company's own
link (/sso/c/<id>/) still signs its learners in, through its own Entra tenant only.
"""

import re
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from qaportal.accounts.models import User
from sso.models import VerifiedDomain
from sso.views import FLOW_SESSION_KEY
from tests.factories import LearnerFactory
from tests.sso.conftest import CLIENT_ID, CLIENT_SECRET, OTHER_CLIENT_ID, TENANT_ID

pytestmark = pytest.mark.django_db

REDIRECT_URI = "http://testserver/sso/callback/"
PROVIDER_PASSWORD = "microsoft password"
VICTIM = "victim@partner.example"
DETAIL_URL = reverse("integrations:integration_detail", kwargs={"provider": "entra-id"})


def link_of(connection) -> str:
    return reverse("sso:link_sign_in", kwargs={"sign_in_id": connection.sign_in_id})


def authorize_query(response) -> dict[str, str]:
    assert response.status_code == 302, response.content.decode()[:500]
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


@pytest.fixture
def provider(entra, settings, sso_connection):
    """The local provider as Contoso's Entra tenant (no verified domain for Contoso here)."""
    settings.QA_SSO_AUTHORITY = entra.authority
    entra.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    return entra


def test_the_single_sign_on_section_shows_the_link_with_a_copy_button(admin_client, sso_connection):
    html = admin_client.get(DETAIL_URL).content.decode()
    field = re.search(r'<input id="sso-sign-in-link"[^>]*value="([^"]+)"', html)
    assert field is not None
    assert field.group(1) == f"http://testserver{link_of(sso_connection)}"
    assert 'data-copy-target="sso-sign-in-link"' in html
    assert "Sign-in link for your people" in html


def test_link_ids_are_opaque_and_differ_per_company(sso_connection, other_sso_connection):
    ids = {sso_connection.sign_in_id, other_sso_connection.sign_in_id}
    assert len(ids) == 2
    for sign_in_id in ids:
        assert len(sign_in_id) >= 22  # 128 random bits, base64url
        assert "contoso" not in sign_in_id and "fabrikam" not in sign_in_id


def test_the_link_page_names_the_company_and_an_unknown_link_is_a_404(client, sso_connection):
    page = client.get(link_of(sso_connection))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Contoso signs in with Microsoft Entra ID." in html
    assert ">Sign in with Microsoft</button>" in html
    # Company admins are pointed to their password sign-in.
    assert f'href="{reverse("accounts:login")}"' in html
    assert (
        client.get(reverse("sso:link_sign_in", kwargs={"sign_in_id": "x" * 22})).status_code == 404
    )


@pytest.mark.parametrize("email", ["", "alice@contoso.com"])
def test_the_link_sends_anyone_to_its_company_tenant_and_no_other(
    client, sso_connection, other_sso_connection, other_company, email
):
    """Even an address at another company's verified domain: the link looks at no account."""
    VerifiedDomain.objects.create(company=other_company, domain="contoso.com")
    query = authorize_query(client.post(link_of(sso_connection), {"username": email}))
    assert query["client_id"] == CLIENT_ID
    assert query.get("login_hint", "") == email
    assert client.session[FLOW_SESSION_KEY]["connection_id"] == sso_connection.pk
    query = authorize_query(client.post(link_of(other_sso_connection), {"username": email}))
    assert query["client_id"] == OTHER_CLIENT_ID


def test_another_company_provisioning_the_address_cannot_lock_the_learner_out(
    provider, company, other_company, sso_connection, other_sso_connection
):
    """Contoso requires Microsoft sign-in; Fabrikam's SCIM key provisions Contoso's learner's
    address too. The shared page then decides nothing (it would reveal or guess), and the
    learner signs in through Contoso's link all the same."""
    sso_connection.require_sso = True
    sso_connection.save()
    oid = str(uuid.uuid4())
    victim = LearnerFactory(company=company, user_name=VICTIM, external_id=oid, password="pw")
    LearnerFactory(company=other_company, user_name=VICTIM)  # Fabrikam's provisioning
    provider.add_user(VICTIM, PROVIDER_PASSWORD, oid=oid, name="Vic Tim")

    client = Client()
    shared_page = client.post(reverse("sso:start"), {"username": VICTIM})
    assert shared_page.status_code == 200
    assert "your company's sign-in link" in shared_page.content.decode()
    password = client.post(reverse("accounts:login"), {"username": VICTIM, "password": "pw"})
    assert password.status_code == 200  # Contoso requires Microsoft sign-in

    start = client.post(link_of(sso_connection), {"username": VICTIM, "next": "/?from=link"})
    assert start["Location"].startswith(f"{provider.authority}/{TENANT_ID}/oauth2/v2.0/authorize?")
    callback = provider.sign_in(requests.Session(), start["Location"], VICTIM, PROVIDER_PASSWORD)
    parts = urlsplit(callback)
    finished = client.get(f"{parts.path}?{parts.query}")
    assert finished.status_code == 302
    assert finished["Location"] == "/?from=link"
    assert client.session[SESSION_KEY] == str(victim.pk)
    assert User.objects.get(pk=client.session[SESSION_KEY]).company == company


def test_a_switched_off_connection_says_so_and_sends_no_one(client, sso_connection):
    sso_connection.is_enabled = False
    sso_connection.save()
    html = client.get(link_of(sso_connection)).content.decode()
    assert "Single sign-on is switched off for Contoso." in html
    assert "Sign in with Microsoft</button>" not in html
    response = client.post(link_of(sso_connection), {"username": "a@contoso.com"})
    assert response.status_code == 403
    assert FLOW_SESSION_KEY not in client.session


def test_a_malformed_email_is_a_field_error(client, sso_connection):
    response = client.post(link_of(sso_connection), {"username": "not-an-email"})
    assert response.status_code == 400
    assert "or leave it blank" in response.content.decode()


def test_the_link_keeps_a_local_next_and_drops_any_other(client, sso_connection):
    page = client.get(f"{link_of(sso_connection)}?next=/teams/").content.decode()
    assert 'name="next" value="/teams/"' in page
    authorize_query(client.post(link_of(sso_connection), {"next": "/teams/"}))
    assert client.session[FLOW_SESSION_KEY]["next"] == "/teams/"
    authorize_query(client.post(link_of(sso_connection), {"next": "//evil.example/"}))
    assert client.session[FLOW_SESSION_KEY]["next"] is None


def test_link_starts_count_toward_the_per_ip_limit(client, settings, sso_connection):
    settings.QA_SSO_START_LIMIT = 1
    assert client.post(link_of(sso_connection)).status_code == 302
    refused = client.post(link_of(sso_connection))
    assert refused.status_code == 429
    assert "Wait a minute" in refused.content.decode()


def test_the_link_page_needs_the_csrf_token(sso_connection):
    response = Client(enforce_csrf_checks=True).post(link_of(sso_connection))
    assert response.status_code == 403
