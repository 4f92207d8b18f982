"""Encryption at rest of SSO client secrets (Fernet: AES-128-CBC + HMAC-SHA256).

QA_SSO_ENCRYPTION_KEYS lists Fernet keys, newest first: the first encrypts, all decrypt, so a
key is rotated by putting a new one in front and running `manage.py sso_reencrypt_secrets`.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """The stored secret was encrypted with a key that is no longer configured."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.QA_SSO_ENCRYPTION_KEYS))


def secret_encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def secret_decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable from error


def secret_reencrypt(token: str) -> str:
    """The same secret under the newest key (MultiFernet.rotate)."""
    try:
        return _current().rotate(token.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable from error
