"""Local development (`make run`): DEBUG on, SQLite and a file-based Celery broker."""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")

from .base import *  # noqa: F403
