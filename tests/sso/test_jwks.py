"""Choosing the provider's signing key from a JWKS, as Entra publishes it."""

import json

import pytest
from jwcrypto import jwk

from sso.exceptions import SignInRefused
from sso.jwks import _matching_key, signing_key_get


def _entra_key(kid: str, **overrides) -> dict:
    """An RSA key as login.microsoftonline.com/{tenant}/discovery/v2.0/keys lists it: no alg."""
    public = json.loads(jwk.JWK.generate(kty="RSA", size=2048).export_public())
    return {"kty": "RSA", "use": "sig", "kid": kid, "n": public["n"], "e": public["e"], **overrides}


def test_an_entra_key_without_alg_verifies_rs256():
    key = _matching_key({"keys": [_entra_key("a"), _entra_key("b")]}, "b")
    assert key is not None
    assert key.key_id == "b"


@pytest.mark.parametrize(
    "overrides", [{"use": "enc"}, {"alg": "RS512"}, {"kty": "EC"}, {"n": "not base64!"}]
)
def test_a_key_for_another_use_or_algorithm_is_never_used(overrides):
    assert _matching_key({"keys": [_entra_key("a", **overrides)]}, "a") is None


def test_an_unreachable_provider_refuses_the_sign_in(settings):
    settings.QA_SSO_HTTP_TIMEOUT = 1
    with pytest.raises(SignInRefused) as refused:
        signing_key_get(jwks_url="http://127.0.0.1:9/keys", kid="a")
    assert refused.value.reason.code == "provider_unreachable"
