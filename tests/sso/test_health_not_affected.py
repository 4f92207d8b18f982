"""Microsoft sign-ins are in the activity log, but say nothing about provisioning: they never
change the connection health card or the Dashboard's failure counts."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from integrations.models import ProvisioningEvent
from tests.pages import text_of

pytestmark = pytest.mark.django_db

DETAIL = reverse("integrations:integration_detail", kwargs={"provider": "entra-id"})


def _refused_sign_in() -> None:
    """What anyone can do: start a Microsoft sign-in and come back with an error."""
    browser = Client()
    start = browser.post(reverse("sso:start"), {"username": "someone@contoso.com"})
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    response = browser.get(reverse("sso:callback"), {"state": state, "error": "access_denied"})
    assert response.status_code == 403


def test_refused_sign_ins_do_not_make_provisioning_look_failing(
    admin_client, company, generated_key, sso_connection, contoso_domain
):
    for _ in range(6):
        _refused_sign_in()
    assert ProvisioningEvent.objects.filter(company=company, operation="sso_sign_in").count() == 6

    page = text_of(admin_client.get(DETAIL))
    assert "Waiting for Microsoft Entra ID" in page
    assert "Failing" not in page
    dashboard = text_of(admin_client.get(reverse("accounts:dashboard")))
    assert "Failed requests, last 24 hours 0" in dashboard.replace("</dt><dd>", " ")
    assert "0 changes and 0 failed requests" in dashboard
