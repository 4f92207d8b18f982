"""The bare endpoint's own Django project: what a SCIM request costs with nothing of QA Portal.

Two middlewares (security headers, common), one model, no authentication, sessions, templates
or logging of requests. Same database server, same connection settings as production
(persistent connections with health checks), served by the same gunicorn command as the
portal, so that the SCIM endpoint's ratio to it is the price of everything QA adds.
"""

import os

import environ

env = environ.Env()

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "bench-bare-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["bench.bare"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "bench.bare.urls"
WSGI_APPLICATION = "bench.bare.wsgi.application"
DATABASES = {"default": env.db("DATABASE_URL")}
# As qaportal/settings/base.py does for PostgreSQL: persistent connections, checked per request.
DATABASES["default"].update(
    CONN_MAX_AGE=env.int("DJANGO_CONN_MAX_AGE", default=60), CONN_HEALTH_CHECKS=True
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
