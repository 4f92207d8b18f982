"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qaportal.settings.production")
# Web requests: no SQL statement runs longer than 5 s (settings QA_DB_STATEMENT_TIMEOUT_MS).
os.environ.setdefault("QA_DB_STATEMENT_TIMEOUT_MS", "5000")

application = get_asgi_application()
