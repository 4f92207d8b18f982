"""Client secrets at rest: encrypted with the keys from the environment, rotatable."""

import pytest
from cryptography.fernet import Fernet

from sso.crypto import SecretUnreadable, secret_decrypt, secret_encrypt, secret_reencrypt


def test_a_secret_round_trips_and_is_not_stored_in_clear(settings):
    settings.QA_SSO_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    token = secret_encrypt("my-client-secret")
    assert "my-client-secret" not in token
    assert secret_decrypt(token) == "my-client-secret"


def test_a_new_key_in_front_still_reads_old_secrets_and_reencrypts_them(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.QA_SSO_ENCRYPTION_KEYS = [old]
    token = secret_encrypt("rotate-me")
    settings.QA_SSO_ENCRYPTION_KEYS = [new, old]
    assert secret_decrypt(token) == "rotate-me"
    rotated = secret_reencrypt(token)
    settings.QA_SSO_ENCRYPTION_KEYS = [new]
    assert secret_decrypt(rotated) == "rotate-me"
    with pytest.raises(SecretUnreadable):
        secret_decrypt(token)


@pytest.mark.django_db
def test_the_reencrypt_command_moves_every_secret_to_the_newest_key(settings, sso_connection):
    from io import StringIO

    from django.core.management import call_command

    from tests.sso.conftest import CLIENT_SECRET

    old = settings.QA_SSO_ENCRYPTION_KEYS[0]
    new = Fernet.generate_key().decode()
    settings.QA_SSO_ENCRYPTION_KEYS = [new, old]
    out = StringIO()
    call_command("sso_reencrypt_secrets", stdout=out)
    assert "Re-encrypted 1 client secret(s)" in out.getvalue()

    settings.QA_SSO_ENCRYPTION_KEYS = [new]
    sso_connection.refresh_from_db()
    assert secret_decrypt(sso_connection.client_secret_encrypted) == CLIENT_SECRET
