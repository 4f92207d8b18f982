"""Autovacuum and autoanalyze thresholds of accounts_user (PostgreSQL only; no-op elsewhere).

An Entra initial cycle adds thousands of users to one company in minutes. With PostgreSQL's
defaults (ANALYZE after 10% of the table changed) a large table is not re-analyzed during such
a cycle, the new company's rows are missing from the planner's statistics, and lookups that
depend on them can pick a worse plan. 2% (at least 1,000 rows) keeps them fresh; a VACUUM after
5% keeps the visibility map current, so COUNT(*) of a list page stays an index-only scan.
"""

from django.db import migrations

SETTINGS = {
    "autovacuum_analyze_scale_factor": "0.02",
    "autovacuum_analyze_threshold": "1000",
    "autovacuum_vacuum_scale_factor": "0.05",
    "autovacuum_vacuum_insert_scale_factor": "0.05",
}


def _alter(apps, schema_editor, *, reset: bool) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name("accounts_user")
    if reset:
        schema_editor.execute(f"ALTER TABLE {table} RESET ({', '.join(SETTINGS)})")
    else:
        options = ", ".join(f"{name} = {value}" for name, value in SETTINGS.items())
        schema_editor.execute(f"ALTER TABLE {table} SET ({options})")


def forwards(apps, schema_editor) -> None:
    _alter(apps, schema_editor, reset=False)


def backwards(apps, schema_editor) -> None:
    _alter(apps, schema_editor, reset=True)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_user_name_index_not_partial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
