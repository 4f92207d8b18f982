"""pytest settings: the database from DATABASE_URL (PostgreSQL in CI), fast hashing."""

import os

os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "exports": QA_EXPORT_STORAGE,  # noqa: F405
}
# Static files come from the finders (no collectstatic in tests).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
# Suites drive SCIM far faster than Entra and share one Redis and one client IP: the limits are
# off unless a test turns them on (tests/scim_hardening/test_rate_limit.py does).
QA_SCIM_RATE_LIMIT = 0
QA_SCIM_AUTH_FAILURE_LIMIT = 0
# One memory cache per test process (REDIS_URL db 15 is also the Celery broker of the tests).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
QA_SSO_START_LIMIT = 0
