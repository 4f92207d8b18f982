"""No SQL statement of a web request runs longer than QA_DB_STATEMENT_TIMEOUT_MS: the web entry
points open their PostgreSQL connections with a statement timeout (a connection option, so no
round trip per request), and a SCIM request whose statement is cancelled is a SCIM 503."""

import os
import time

import pytest
from django.db import connection

from qaportal.accounts.models import User
from tests.factories import LearnerFactory
from tests.processes import another_session, last_line_printed
from tests.scim.conftest import BASE, error_body


def _statement_timeout_of(entry_point: str) -> str:
    """`SHOW statement_timeout` on a connection opened by a fresh process after `entry_point`."""
    code = (
        f"{entry_point}\n"
        "from django.db import connection\n"
        "with connection.cursor() as cursor:\n"
        "    cursor.execute('SHOW statement_timeout')\n"
        "    print(cursor.fetchone()[0])\n"
    )
    # Any database of the server will do: `postgres` always exists.
    database_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "qaportal.settings.test",
        "DATABASE_URL": database_url,
    }
    env.pop("QA_DB_STATEMENT_TIMEOUT_MS", None)
    return last_line_printed(code, env=env)


@pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="needs PostgreSQL")
def test_web_entry_points_open_connections_with_a_statement_timeout_and_commands_do_not():
    assert _statement_timeout_of("import qaportal.wsgi") == "5s"
    assert _statement_timeout_of("import qaportal.asgi") == "5s"
    # manage.py (migrate and other commands) and Celery: no limit unless configured.
    assert _statement_timeout_of("import django; django.setup()") == "0"


@pytest.mark.django_db(transaction=True)
def test_a_scim_statement_cancelled_by_the_timeout_is_a_scim_503(scim_client, company):
    if connection.vendor != "postgresql":
        pytest.skip("statement_timeout is PostgreSQL's")
    learner = LearnerFactory(company=company)
    url = f"{BASE}/Users/{learner.scim_id}"
    assert scim_client.get(url).status_code == 200  # connection and caches warm
    # Another session holds the user's row lock, so the DELETE's SELECT … FOR UPDATE waits
    # until the timeout (0.3 s here) cancels it.
    blocker = another_session()
    try:
        blocker.execute(
            f"SELECT 1 FROM {User._meta.db_table} WHERE id = %s FOR UPDATE",  # noqa: S608
            [learner.pk],
        )
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 300")
        started = time.perf_counter()
        response = scim_client.delete(url)
        elapsed = time.perf_counter() - started
    finally:
        blocker.rollback()
        blocker.close()
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")
    assert response.status_code == 503
    assert response.json() == error_body(503, "The request took too long and was stopped.")
    assert response["Retry-After"] == "30"
    assert elapsed < 2
    assert User.objects.filter(pk=learner.pk).exists()
