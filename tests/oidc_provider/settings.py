"""Settings of the local Entra-like OpenID Connect provider; loaded only in its own process.

The process is started by `fixture.local_entra` with OIDC_PROVIDER_DB (a SQLite file in a temp
dir) and OIDC_PROVIDER_CONTROL_TOKEN in its environment. Never import this module from the
test suite: it would replace the portal's settings.
"""

import os
import secrets

from jwcrypto import jwk

SECRET_KEY = secrets.token_urlsafe(50)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
    # Has no migrations: its one table is made by `migrate --run-syncdb` at start.
    "tests.oidc_provider",
]
MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.oidc_provider.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["OIDC_PROVIDER_DB"],
        # runserver answers on several threads; wait for SQLite's write lock instead of failing.
        "OPTIONS": {"timeout": 20},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

# Cookies ignore the port: the portal under test also runs on 127.0.0.1, and with Django's
# default names the provider's session would overwrite the portal's in the same browser.
SESSION_COOKIE_NAME = "entra_sessionid"
CSRF_COOKIE_NAME = "entra_csrftoken"
LOGIN_URL = "signin"

# Test-only speed; also hashes the stored client secrets (DOT uses the first hasher).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

CONTROL_TOKEN = os.environ.get("OIDC_PROVIDER_CONTROL_TOKEN", "")

# A fresh key per process, as the brief of a throwaway provider wants; rotate-key adds more.
OIDC_RSA_PRIVATE_KEY = (
    jwk.JWK.generate(kty="RSA", size=2048).export_to_pem(private_key=True, password=None).decode()
)

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": OIDC_RSA_PRIVATE_KEY,
    "OAUTH2_VALIDATOR_CLASS": "tests.oidc_provider.validators.EntraLikeValidator",
    "SCOPES": {
        "openid": "Sign you in",
        "profile": "View your basic profile",
        "email": "View your email address",
        "offline_access": "Maintain access to data you have given it access to",
    },
    "DEFAULT_SCOPES": ["openid"],
    "PKCE_REQUIRED": True,
    # Only S256: a "plain" (or defaulted) code_challenge_method is an invalid_request.
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    # Entra's v2 ID tokens and access tokens live one hour.
    "ID_TOKEN_EXPIRE_SECONDS": 3600,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    "ALLOWED_SCHEMES": ["http", "https"],
}

# DEBUG is off, so send unhandled errors to stderr, where the fixture can show them.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["stderr"], "level": "ERROR"},
        "oauth2_provider": {"handlers": ["stderr"], "level": "WARNING"},
    },
}
