"""Trigram indexes for the People page's search (any part of a name, userName or email).

PostgreSQL only: pg_trgm and GIN do not exist on SQLite, where the search is a plain scan of
one company's people (the embedded default serves small companies).
"""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations
from django.db.models.functions import Upper


class AddIndexOnPostgreSQL(migrations.AddIndex):
    """AddIndex that creates the index on PostgreSQL only (the model state has it everywhere)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def trigram_index(column: str, short: str) -> AddIndexOnPostgreSQL:
    return AddIndexOnPostgreSQL(
        model_name="user",
        index=GinIndex(
            OpClass(Upper(column), name="gin_trgm_ops"), name=f"accounts_user_{short}_trgm"
        ),
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_scim_sort_indexes")]

    operations = [
        TrigramExtension(),  # does nothing on SQLite
        trigram_index("display_name", "dname"),
        trigram_index("user_name", "uname"),
        trigram_index("work_email", "email"),
    ]
