"""Local development (`make run`): DEBUG on, SQLite and a file-based Celery broker."""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")

from .base import *  # noqa: F403

# Static files come from the finders while developing (no collectstatic needed).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
# No collectstatic while developing, so no manifest storage either.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "exports": QA_EXPORT_STORAGE,  # noqa: F405
}
