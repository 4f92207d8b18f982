"""SCIM requests run a chain of their own: none of the portal's session, CSRF, user, messages,
two-factor, CSP or lockout middleware."""

from django.test import Client

from tests.scim.conftest import BASE


def test_a_scim_answer_has_the_security_headers_and_nothing_of_the_portal(scim_client, settings):
    response = scim_client.get(f"{BASE}/Users")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware still runs
    # Not the portal's per-page policy: the fixed one of an API.
    assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert not response.cookies  # no session, no CSRF cookie
    portal = Client().get("/login/")
    assert "Content-Security-Policy" in portal
    assert settings.CSRF_COOKIE_NAME in portal.cookies


def test_a_browser_session_cookie_costs_a_scim_request_nothing(
    scim_client, admin_client, django_assert_num_queries
):
    """An admin's signed-in browser calling SCIM with a key: the session is never loaded."""
    session_cookie = admin_client.cookies["sessionid"].value
    url = f"{BASE}/Users?filter=userName+eq+%22nobody@contoso.com%22"
    scim_client.get(url)  # reads the key (kept for a second) and writes its last_used_at
    scim_client.cookies["sessionid"] = session_cookie
    with django_assert_num_queries(2) as captured:  # the lookup, the activity row
        response = scim_client.get(url)
    assert response.status_code == 200
    assert not any("django_session" in query["sql"] for query in captured.captured_queries)
