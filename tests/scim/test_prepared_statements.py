"""On PostgreSQL the SCIM hot path's statements are prepared once per connection: Entra's
lookups, a change with its activity row, and a read's activity row stop being planned on every
request. QA_DB_PREPARED_STATEMENTS=0 (a pooler that drops prepared statements) turns it off.

Real requests on the test client's connection, checked in PostgreSQL's own
`pg_prepared_statements` of that connection."""

import os

import pytest
from django.db import connection, transaction

from integrations.models import ProvisioningEvent
from integrations.services import provisioning_event_log
from qaportal.accounts.models import User
from tests.processes import another_session, last_line_printed
from tests.scim.conftest import BASE

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="needs PostgreSQL"),
]

LOOKUP = f'{BASE}/Users?filter=userName eq "alice@contoso.com"'


def prepared_statements() -> dict[str, int]:
    """The SQL of each statement prepared on this connection, and how often it ran."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
        return dict(cursor.fetchall())


def runs_of(statements: dict[str, int], *fragments: str) -> int:
    return sum(n for sql, n in statements.items() if all(f in sql for f in fragments))


def test_entra_lookups_and_their_activity_rows_run_prepared(scim_client, company, learner):
    learner.user_name = "alice@contoso.com"
    learner.save()

    for _ in range(8):
        response = scim_client.get(LOOKUP)
        assert response.status_code == 200
        assert response.json()["totalResults"] == 1
    miss = scim_client.get(f'{BASE}/Users?filter=userName eq "nobody@contoso.com"')

    statements = prepared_statements()
    # The fifth run prepares a statement; the later ones (and the miss) run it.
    assert runs_of(statements, 'LOWER("accounts_user"."user_name")') == 4
    assert runs_of(statements, "INSERT INTO", "integrations_provisioningevent") == 4
    # Bound parameters, not values quoted into the SQL: one statement serves every name.
    assert not any("alice@contoso.com" in sql for sql in statements)
    assert miss.json()["totalResults"] == 0
    assert ProvisioningEvent.objects.filter(company=company, operation="filter_users").count() == 9


def test_a_create_and_its_activity_row_are_one_prepared_statement(scim_client, company):
    for n in range(7):
        response = scim_client.post_json(f"{BASE}/Users", {"userName": f"user{n}@contoso.com"})
        assert response.status_code == 201

    assert runs_of(prepared_statements(), "WITH written AS (INSERT INTO", "CAST(") == 2
    assert User.objects.filter(company=company, role=User.Role.LEARNER).count() == 7
    assert ProvisioningEvent.objects.filter(company=company, operation="create_user").count() == 7


def test_a_reads_row_skips_its_flush_but_leaves_the_connection_durable(scim_client, company):
    scim_client.get(LOOKUP)

    # The read's row set synchronous_commit for its own implicit transaction only: the next
    # statement on the connection, a change for instance, waits for its flush again.
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
    assert ProvisioningEvent.objects.filter(company=company, operation="filter_users").exists()


def test_a_reads_row_in_a_transaction_leaves_that_transactions_commit_durable(company):
    transaction.set_autocommit(False)
    try:
        provisioning_event_log(
            durable=False,
            company_id=company.pk,
            api_key_id=None,
            method="GET",
            path=f"{BASE}/Users",
            operation="filter_users",
            status_code=200,
            outcome="success",
        )
        # Outside autocommit the setting would last until the transaction commits, and cover
        # whatever else it writes: the row joins the transaction as it is instead.
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"
        transaction.commit()
    finally:
        transaction.set_autocommit(True)
    assert ProvisioningEvent.objects.filter(company=company).count() == 1


def _alter_from_another_session(sql: str) -> None:
    with another_session(autocommit=True) as other:
        other.execute(sql)


def test_lookups_survive_a_migration_changing_a_column_they_return(scim_client, learner):
    learner.user_name = "alice@contoso.com"
    learner.save()
    for _ in range(7):
        assert scim_client.get(LOOKUP).status_code == 200
    assert runs_of(prepared_statements(), 'LOWER("accounts_user"."user_name")') == 2

    # A deploy's migration, run by another process while this one keeps its connection.
    _alter_from_another_session("ALTER TABLE accounts_user ALTER COLUMN title TYPE varchar(300)")
    try:
        response = scim_client.get(LOOKUP)
        again = scim_client.get(LOOKUP)
    finally:
        _alter_from_another_session(
            "ALTER TABLE accounts_user ALTER COLUMN title TYPE varchar(256)"
        )

    assert response.status_code == 200, response.content
    assert response.json()["totalResults"] == 1
    assert again.status_code == 200


def test_nothing_is_prepared_when_prepared_statements_are_off(scim_client, company, monkeypatch):
    monkeypatch.delitem(connection.settings_dict["OPTIONS"], "prepare_threshold")

    for _ in range(8):
        assert scim_client.get(LOOKUP).status_code == 200
    for n in range(7):
        assert (
            scim_client.post_json(f"{BASE}/Users", {"userName": f"u{n}@c.com"}).status_code == 201
        )

    assert prepared_statements() == {}
    assert ProvisioningEvent.objects.filter(company=company).count() == 15


def _prepare_threshold_with(value: str | None) -> str:
    code = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "print(settings.DATABASES['default']['OPTIONS'].get('prepare_threshold'))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "qaportal.settings.test"}
    env.pop("QA_DB_PREPARED_STATEMENTS", None)
    if value is not None:
        env["QA_DB_PREPARED_STATEMENTS"] = value
    return last_line_printed(code, env=env)


def test_the_setting_turns_preparing_on_by_default_and_off_on_request():
    assert _prepare_threshold_with(None) == "5"
    assert _prepare_threshold_with("0") == "None"
