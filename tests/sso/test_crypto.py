"""Client secrets at rest: encrypted with the keys from the environment, rotatable."""

import os
import subprocess
import sys
from pathlib import Path

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


def _in_production(code: str, **env_overrides: str) -> subprocess.CompletedProcess:
    """Run `code` with production settings and no QA_SSO_ENCRYPTION_KEYS: the keys are derived
    at import from the secret keys in the environment, so each case is a process of its own."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DJANGO_") and key != "QA_SSO_ENCRYPTION_KEYS"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="qaportal.settings.production",
        DJANGO_ALLOWED_HOSTS="portal.qa.example",
        DATABASE_URL="sqlite:////tmp/unused.sqlite3",
        **env_overrides,
    )
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_encryption_keys_a_secret_key_rotation_with_fallbacks_keeps_secrets_readable():
    old_key, new_key = "old-secret-key-" + "o" * 50, "new-secret-key-" + "n" * 50
    encrypted = _in_production(
        "from sso.crypto import secret_encrypt; print(secret_encrypt('client-secret'))",
        DJANGO_SECRET_KEY=old_key,
    )
    assert encrypted.returncode == 0, encrypted.stderr
    token = encrypted.stdout.strip()
    read = f"from sso.crypto import secret_decrypt; print(secret_decrypt({token!r}))"

    rotated = _in_production(read, DJANGO_SECRET_KEY=new_key, DJANGO_SECRET_KEY_FALLBACKS=old_key)
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.strip() == "client-secret"

    forgotten = _in_production(read, DJANGO_SECRET_KEY=new_key)
    assert forgotten.returncode != 0
    assert "SecretUnreadable" in forgotten.stderr
