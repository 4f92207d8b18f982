"""Production: DEBUG off, secrets and services demanded from the environment."""

import os

from django.core.exceptions import ImproperlyConfigured

os.environ["DJANGO_DEBUG"] = os.environ.get("DJANGO_DEBUG", "0")

from .base import *  # noqa: F403
from .base import DEBUG, env

if DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be off in production settings.")
for _name in ("DATABASE_URL", "DJANGO_ALLOWED_HOSTS"):
    if not env.str(_name, default=""):
        raise ImproperlyConfigured(f"{_name} must be set in production.")
