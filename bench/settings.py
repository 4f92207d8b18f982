"""Settings of the benchmark server: production settings, plus the ceiling app when asked.

`make bench` serves gunicorn with `DJANGO_SETTINGS_MODULE=bench.settings`. Production settings
are used unchanged (they still demand DATABASE_URL, DJANGO_ALLOWED_HOSTS and
DJANGO_SECRET_KEY); with `QA_BENCH_CEILING=1` the plain-Django ceiling endpoint of
`bench.ceiling` is added under `/bench/ceiling/`, so nothing of it exists in a real deployment.
"""

from qaportal.settings.production import *  # noqa: F403
from qaportal.settings.production import INSTALLED_APPS, env

if env.bool("QA_BENCH_CEILING", default=False):
    INSTALLED_APPS = [*INSTALLED_APPS, "bench.ceiling"]
    ROOT_URLCONF = "bench.urls"

# collectstatic of the bench goes under var/bench/, away from the project's own var/ files.
STATIC_ROOT = VAR_DIR / "bench" / "staticfiles"  # noqa: F405
