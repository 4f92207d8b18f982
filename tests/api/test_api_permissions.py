"""Who may call the admin API: signed-in company admins, with CSRF; never a SCIM key."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from integrations.models import ApiKey
from tests.api.conftest import API, ENTRA, session_client
from tests.factories import CompanyAdminFactory, LearnerFactory

pytestmark = pytest.mark.django_db

SCIM_USERS = "/webhooks/ad/v1/scim/Users"


def endpoints(key_id: int) -> list[tuple[str, str]]:
    return [
        ("get", f"{API}/integrations/"),
        ("get", f"{ENTRA}/"),
        ("get", f"{ENTRA}/keys/"),
        ("post", f"{ENTRA}/keys/generate/"),
        ("post", f"{ENTRA}/keys/{key_id}/revoke/"),
        ("get", f"{API}/activity/"),
        ("get", f"{API}/users/"),
        ("get", f"{API}/groups/"),
    ]


def call(client: Client, method: str, url: str):
    if method == "post":  # no body, as a script sends it (the API parses JSON only)
        return client.post(url, content_type="application/json")
    return client.get(url)


def assert_refused_without_effect(response, generated_key):
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}
    assert ApiKey.objects.count() == 1
    assert ApiKey.objects.get().revoked_at is None
    assert generated_key.api_key.prefix not in response.content.decode()


def test_anonymous_requests_are_refused(generated_key):
    for method, url in endpoints(generated_key.api_key.pk):
        response = call(Client(), method, url)
        assert_refused_without_effect(response, generated_key)
        assert response.json()["detail"] == "Authentication credentials were not provided."


def test_a_scim_key_is_never_a_credential_of_the_admin_api(generated_key):
    # Entra's Secret Token, sent the way Entra sends it, on every endpoint.
    scim = Client(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")
    for method, url in endpoints(generated_key.api_key.pk):
        response = call(scim, method, url)
        assert_refused_without_effect(response, generated_key)


def test_an_admin_session_is_never_a_credential_of_scim(api_client, admin_user, generated_key):
    response = api_client.get(SCIM_USERS)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_learners_and_staff_are_refused(company, generated_key):
    learner = LearnerFactory(company=company, email="learner@contoso.com")
    staff = CompanyAdminFactory(company=None, email="staff@qa.local", role="staff", is_staff=True)
    for user in (learner, staff):
        client = session_client(user)
        for method, url in endpoints(generated_key.api_key.pk):
            response = call(client, method, url)
            assert_refused_without_effect(response, generated_key)
            assert response.json()["detail"] == "Only company admins can use this API."


def test_a_deactivated_admin_is_signed_out(admin_user, generated_key):
    client = session_client(admin_user)
    admin_user.is_active = False
    admin_user.save(update_fields=["is_active"])

    response = client.get(f"{API}/integrations/")

    assert response.status_code == 403


def test_unsafe_methods_need_the_csrf_token(admin_user, generated_key):
    client = session_client(admin_user, with_csrf_header=False)

    for method, url in endpoints(generated_key.api_key.pk):
        if method != "post":
            continue
        response = call(client, method, url)
        assert response.status_code == 403
        assert response.json()["detail"].startswith("CSRF Failed")
    assert ApiKey.objects.count() == 1
    assert ApiKey.objects.get().revoked_at is None


def test_reads_need_no_csrf_token(admin_user, generated_key):
    client = session_client(admin_user, with_csrf_header=False)
    assert client.get(f"{ENTRA}/keys/").status_code == 200


def test_the_schema_is_openapi_3_for_signed_in_users_only(api_client):
    assert Client().get("/api/schema/").status_code == 403

    response = api_client.get("/api/schema/?format=json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/api/v1/integrations/",
        "/api/v1/integrations/{provider}/",
        "/api/v1/integrations/{provider}/keys/",
        "/api/v1/integrations/{provider}/keys/generate/",
        "/api/v1/integrations/{provider}/keys/{key_id}/revoke/",
        "/api/v1/activity/",
        "/api/v1/users/",
        "/api/v1/groups/",
    }
    assert schema["components"]["securitySchemes"] == {
        "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "sessionid"}
    }


def test_the_docs_page_serves_swagger_ui_from_our_static_files(api_client):
    assert Client().get("/api/docs/")["Location"].startswith("/login")

    page = api_client.get("/api/docs/")
    script = api_client.get("/api/docs/?script=")

    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "https://" not in html and "http://" not in html  # no CDN
    assert "<script>" not in html  # the init script is a separate request (CSP)
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()
    bundle = api_client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert bundle.status_code == 200


def test_changing_keys_needs_a_recent_sign_in_like_the_portal(api_client, generated_key, settings):
    later = timezone.now() + settings.QA_REAUTH_MAX_AGE + timedelta(minutes=1)

    with time_machine.travel(later, tick=False):
        responses = [
            api_client.post(url, content_type="application/json")
            for method, url in endpoints(generated_key.api_key.pk)
            if method == "post"
        ]
        reads = [
            api_client.get(url).status_code
            for method, url in endpoints(generated_key.api_key.pk)
            if method == "get"
        ]

    assert [response.status_code for response in responses] == [403, 403]
    assert responses[0].json()["detail"].startswith("Confirm your password in QA Portal first")
    assert reads == [200] * 6
    assert ApiKey.objects.count() == 1
    assert ApiKey.objects.get().revoked_at is None
