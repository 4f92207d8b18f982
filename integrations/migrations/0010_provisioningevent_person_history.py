"""Indexes of a person's History (requests about them by id, and membership changes naming
them: a partial GIN index) and of the activity search (any part of a name: a trigram index).
The GIN indexes are PostgreSQL only; SQLite scans one company's log."""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import migrations, models
from django.db.models.functions import Upper


class AddIndexOnPostgreSQL(migrations.AddIndex):
    """AddIndex that creates the index on PostgreSQL only (the model state has it everywhere)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0009_provisioningevent_log_references"),
        # pg_trgm, created (and dropped on the way back) by accounts.0007.
        ("accounts", "0007_user_people_search_trigram"),
    ]

    operations = [
        AddIndexOnPostgreSQL(
            model_name="provisioningevent",
            index=GinIndex(
                OpClass(Upper("resource_name"), name="gin_trgm_ops"),
                name="integrations_prov_name_trgm",
            ),
        ),
        migrations.AddIndex(
            model_name="provisioningevent",
            index=models.Index(
                fields=["company", "resource_id", "-created_at", "-id"],
                name="integrations_prov_resource",
            ),
        ),
        AddIndexOnPostgreSQL(
            model_name="provisioningevent",
            index=GinIndex(
                fields=["changes"],
                opclasses=["jsonb_path_ops"],
                condition=models.Q(
                    operation__in=(
                        "create_group",
                        "update_group",
                        "replace_group",
                        "add_members",
                        "remove_members",
                        "update_members",
                        "replace_members",
                    )
                ),
                name="integrations_prov_members",
            ),
        ),
    ]
