"""The local Entra-like provider itself: a hand-made code flow with PKCE, and every fault.

These tests talk to the provider over HTTP only and never request `db`, so pytest-django
creates no portal database for them. `entra` and `local_entra` come from this folder's conftest.
"""

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests

from tests.oidc_provider.fixture import LocalEntra, SignInFailed

TENANT = "0f6a1c5e-3b8d-4d7e-9a41-2c5b7e9d1f30"
CLIENT_ID = "8d2f4b6a-1c3e-4a5b-9d7f-0e1a2b3c4d5e"
CLIENT_SECRET = "local-entra-client-secret"
# Never requested: sign_in returns the redirect to it without following it.
REDIRECT_URI = "http://127.0.0.1:9/sso/callback/"
USERNAME = "alice@contoso.test"
PASSWORD = "alice's provider password"


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


@pytest.fixture
def alice_oid(entra: LocalEntra) -> str:
    entra.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    return entra.add_user(USERNAME, PASSWORD, name="Alice Example")


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorization_request(
    entra: LocalEntra, tenant: str = TENANT, **overrides: str | None
) -> AuthorizationRequest:
    """Authorize URL as the portal builds it; an override of None drops that parameter."""
    code_verifier = secrets.token_urlsafe(48)
    params = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email",
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": s256(code_verifier),
        "code_challenge_method": "S256",
        **overrides,
    }
    params = {key: value for key, value in params.items() if value is not None}
    return AuthorizationRequest(
        url=f"{entra.authorization_endpoint(tenant)}?{urlencode(params)}",
        state=params.get("state", ""),
        nonce=params.get("nonce", ""),
        code_verifier=code_verifier,
    )


def callback_params(location: str) -> dict[str, str]:
    assert location.startswith(REDIRECT_URI)
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def redeem(
    entra: LocalEntra, code: str, code_verifier: str, tenant: str = TENANT, **overrides: str
) -> requests.Response:
    """The token request, client_secret_post, as mozilla-django-oidc sends it."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": code_verifier,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        **overrides,
    }
    return requests.post(entra.token_endpoint(tenant), data=form, timeout=10)


def sign_in_and_redeem(entra: LocalEntra, tenant: str = TENANT) -> tuple[dict, str]:
    """The whole flow; returns the token response and the nonce that was sent."""
    request = authorization_request(entra, tenant)
    location = entra.sign_in(requests.Session(), request.url, USERNAME, PASSWORD)
    params = callback_params(location)
    assert params["state"] == request.state
    response = redeem(entra, params["code"], request.code_verifier, tenant)
    assert response.status_code == 200, response.text
    return response.json(), request.nonce


def verify(entra: LocalEntra, id_token: str, tenant: str = TENANT) -> dict:
    """Verify as a relying party would: key by kid from the JWKS, RS256, aud and iss."""
    signing_key = jwt.PyJWKClient(entra.jwks_uri(tenant)).get_signing_key_from_jwt(id_token)
    return jwt.decode(
        id_token,
        signing_key,
        algorithms=["RS256"],
        audience=CLIENT_ID,
        issuer=entra.issuer(tenant),
        options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "nonce"]},
    )


def unverified_claims(id_token: str) -> dict:
    return jwt.decode(id_token, options={"verify_signature": False})


def published_kids(entra: LocalEntra, tenant: str = TENANT) -> set[str]:
    keys = requests.get(entra.jwks_uri(tenant), timeout=10).json()["keys"]
    return {key["kid"] for key in keys}


def test_code_flow_with_pkce_issues_an_entra_shaped_id_token(entra, alice_oid):
    tokens, nonce = sign_in_and_redeem(entra)

    claims = verify(entra, tokens["id_token"])
    assert claims["iss"] == f"{entra.authority}/{TENANT}/v2.0"
    assert claims["aud"] == CLIENT_ID
    assert claims["tid"] == TENANT
    assert claims["oid"] == alice_oid
    assert claims["nonce"] == nonce
    assert claims["preferred_username"] == USERNAME
    assert claims["email"] == USERNAME
    assert claims["name"] == "Alice Example"
    assert claims["ver"] == "2.0"
    assert claims["nbf"] == claims["iat"]
    # django-oauth-toolkit reads the clock once for iat and once for exp: a second may pass.
    assert claims["exp"] - claims["iat"] in (3600, 3601)
    # Pairwise, as in Entra: sub is not the oid, and is stable for the same user and app.
    assert claims["sub"] not in (alice_oid, "")
    assert verify(entra, sign_in_and_redeem(entra)[0]["id_token"])["sub"] == claims["sub"]
    assert tokens["token_type"] == "Bearer"


def test_every_published_key_names_itself_for_rs256_signatures(entra, alice_oid):
    tokens, _ = sign_in_and_redeem(entra)

    keys = requests.get(entra.jwks_uri(TENANT), timeout=10).json()["keys"]
    assert keys
    for key in keys:
        assert {"kid", "kty", "use", "alg", "n", "e"} <= key.keys()
        assert (key["kty"], key["use"], key["alg"]) == ("RSA", "sig", "RS256")
        assert "d" not in key
    assert jwt.get_unverified_header(tokens["id_token"])["kid"] in {key["kid"] for key in keys}


def test_issuer_and_tid_follow_the_tenant_in_the_path(entra, alice_oid):
    tenant = "fabrikam.onmicrosoft.com"

    tokens, _ = sign_in_and_redeem(entra, tenant)

    claims = verify(entra, tokens["id_token"], tenant)
    assert (claims["iss"], claims["tid"]) == (f"{entra.authority}/{tenant}/v2.0", tenant)


def test_discovery_document_lists_the_tenants_endpoints(entra):
    url = f"{entra.issuer(TENANT)}/.well-known/openid-configuration"

    document = requests.get(url, timeout=10).json()

    assert document["issuer"] == entra.issuer(TENANT)
    assert document["authorization_endpoint"] == entra.authorization_endpoint(TENANT)
    assert document["token_endpoint"] == entra.token_endpoint(TENANT)
    assert document["jwks_uri"] == entra.jwks_uri(TENANT)
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]


def test_client_secret_basic_is_accepted_too(entra, alice_oid):
    request = authorization_request(entra)
    params = callback_params(entra.sign_in(requests.Session(), request.url, USERNAME, PASSWORD))

    response = requests.post(
        entra.token_endpoint(TENANT),
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": request.code_verifier,
        },
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=10,
    )

    assert response.status_code == 200, response.text
    assert verify(entra, response.json()["id_token"])["oid"] == alice_oid


def test_wrong_client_secret_is_refused(entra, alice_oid):
    request = authorization_request(entra)
    params = callback_params(entra.sign_in(requests.Session(), request.url, USERNAME, PASSWORD))

    response = redeem(entra, params["code"], request.code_verifier, client_secret="wrong")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_authorize_without_code_challenge_is_refused(entra, alice_oid):
    request = authorization_request(entra, code_challenge=None, code_challenge_method=None)

    params = callback_params(entra.sign_in(requests.Session(), request.url, USERNAME, PASSWORD))

    assert params["error"] == "invalid_request"
    assert "code" not in params


def test_plain_code_challenge_is_refused(entra, alice_oid):
    verifier = secrets.token_urlsafe(48)
    request = authorization_request(entra, code_challenge=verifier, code_challenge_method="plain")

    params = callback_params(entra.sign_in(requests.Session(), request.url, USERNAME, PASSWORD))

    assert params["error"] == "invalid_request"
    assert "code" not in params


def test_code_is_refused_with_another_code_verifier(entra, alice_oid):
    request = authorization_request(entra)
    params = callback_params(entra.sign_in(requests.Session(), request.url, USERNAME, PASSWORD))

    response = redeem(entra, params["code"], secrets.token_urlsafe(48))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_wrong_password_stays_on_the_sign_in_page(entra, alice_oid):
    request = authorization_request(entra)

    with pytest.raises(SignInFailed):
        entra.sign_in(requests.Session(), request.url, USERNAME, "not the password")


def test_a_signed_in_session_skips_the_sign_in_page(entra, alice_oid):
    http = requests.Session()
    entra.sign_in(http, authorization_request(entra).url, USERNAME, PASSWORD)
    request = authorization_request(entra)

    response = http.get(request.url, allow_redirects=False, timeout=10)

    assert response.is_redirect
    assert callback_params(response.headers["Location"])["state"] == request.state


def test_wrong_issuer_fault_names_another_tenant(entra, alice_oid):
    entra.set_fault("wrong_issuer")

    tokens, _ = sign_in_and_redeem(entra)

    with pytest.raises(jwt.InvalidIssuerError):
        verify(entra, tokens["id_token"])
    claims = unverified_claims(tokens["id_token"])
    assert claims["tid"] != TENANT
    assert claims["iss"] == entra.issuer(claims["tid"])


def test_wrong_audience_fault_names_another_client(entra, alice_oid):
    entra.set_fault("wrong_audience")

    tokens, _ = sign_in_and_redeem(entra)

    with pytest.raises(jwt.InvalidAudienceError):
        verify(entra, tokens["id_token"])
    assert unverified_claims(tokens["id_token"])["aud"] != CLIENT_ID


def test_expired_fault_dates_the_token_an_hour_back(entra, alice_oid):
    entra.set_fault("expired")

    tokens, _ = sign_in_and_redeem(entra)

    with pytest.raises(jwt.ExpiredSignatureError):
        verify(entra, tokens["id_token"])
    claims = unverified_claims(tokens["id_token"])
    now = time.time()
    assert claims["exp"] <= now - 3600
    assert claims["iat"] == claims["nbf"] <= now - 3600


def test_bad_signature_fault_breaks_only_the_signature(entra, alice_oid):
    entra.set_fault("bad_signature")

    tokens, _ = sign_in_and_redeem(entra)

    assert jwt.get_unverified_header(tokens["id_token"])["kid"] in published_kids(entra)
    with pytest.raises(jwt.InvalidSignatureError):
        verify(entra, tokens["id_token"])


def test_wrong_nonce_fault_replaces_the_nonce(entra, alice_oid):
    entra.set_fault("wrong_nonce")

    tokens, nonce = sign_in_and_redeem(entra)

    assert verify(entra, tokens["id_token"])["nonce"] != nonce


def test_unknown_kid_fault_signs_with_an_unpublished_key(entra, alice_oid):
    entra.set_fault("unknown_kid")

    tokens, _ = sign_in_and_redeem(entra)

    assert jwt.get_unverified_header(tokens["id_token"])["kid"] not in published_kids(entra)
    with pytest.raises(jwt.PyJWKClientError):
        verify(entra, tokens["id_token"])


def test_reset_turns_the_fault_off(entra, alice_oid):
    entra.set_fault("expired")
    entra.reset()

    tokens, _ = sign_in_and_redeem(entra)

    assert verify(entra, tokens["id_token"])["oid"] == alice_oid


def test_unknown_fault_mode_is_refused(entra):
    with pytest.raises(requests.HTTPError) as raised:
        entra.set_fault("no_such_fault")

    assert raised.value.response.status_code == 400


def test_rotate_key_signs_with_the_new_key_and_keeps_the_old_published(entra, alice_oid):
    old_kid = jwt.get_unverified_header(sign_in_and_redeem(entra)[0]["id_token"])["kid"]

    new_kid = entra.rotate_key()

    tokens, _ = sign_in_and_redeem(entra)
    assert new_kid != old_kid
    assert {old_kid, new_kid} <= published_kids(entra)
    assert jwt.get_unverified_header(tokens["id_token"])["kid"] == new_kid
    assert verify(entra, tokens["id_token"])["oid"] == alice_oid


def test_stats_count_jwks_and_token_requests(entra, alice_oid):
    tokens, _ = sign_in_and_redeem(entra)
    verify(entra, tokens["id_token"])
    published_kids(entra)

    assert entra.stats() == {"jwks_requests": 2, "token_requests": 1}


def test_userinfo_answers_for_the_access_token(entra, alice_oid):
    tokens, _ = sign_in_and_redeem(entra)

    response = requests.get(
        f"{entra.authority}/oidc/userinfo",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    )

    assert response.status_code == 200, response.text
    assert response.json()["oid"] == alice_oid


def test_control_api_needs_the_control_token(entra):
    response = requests.post(
        f"{entra.authority}/_control/faults",
        json={"mode": "expired"},
        headers={"X-Control-Token": "guessed"},
        timeout=10,
    )

    assert response.status_code == 403
    assert entra.stats() == {"jwks_requests": 0, "token_requests": 0}


def test_add_user_keeps_the_oid_unless_one_is_given(entra):
    oid = entra.add_user("bob@contoso.test", "first password")

    assert entra.add_user("bob@contoso.test", "second password") == oid
    chosen = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
    assert entra.add_user("bob@contoso.test", "second password", oid=chosen) == chosen


def test_sign_out_ends_the_provider_session(entra, alice_oid):
    http = requests.Session()
    entra.sign_in(http, authorization_request(entra).url, USERNAME, PASSWORD)

    response = http.get(
        f"{entra.authority}/{TENANT}/oauth2/v2.0/logout",
        params={"post_logout_redirect_uri": REDIRECT_URI},
        allow_redirects=False,
        timeout=10,
    )

    assert response.headers["Location"] == REDIRECT_URI
    response = http.get(authorization_request(entra).url, timeout=10)
    assert '<button type="submit">Sign in</button>' in response.text
