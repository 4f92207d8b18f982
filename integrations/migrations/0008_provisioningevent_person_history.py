"""Indexes of a person's History: requests about them by id, and membership changes naming
them (the latter a partial GIN index, PostgreSQL only)."""

from django.contrib.postgres.indexes import GinIndex
from django.db import migrations, models


class AddIndexOnPostgreSQL(migrations.AddIndex):
    """AddIndex that creates the index on PostgreSQL only (the model state has it everywhere)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("integrations", "0007_export_job")]

    operations = [
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
