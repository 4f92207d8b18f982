import secrets

from django.db import migrations, models

import sso.models


def fill_sign_in_ids(apps, schema_editor):
    # One id per existing connection (a column default would give every row the same one).
    SsoConnection = apps.get_model("sso", "SsoConnection")
    for connection in SsoConnection.objects.filter(sign_in_id=None).only("pk"):
        connection.sign_in_id = secrets.token_urlsafe(16)
        connection.save(update_fields=["sign_in_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("sso", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="ssoconnection",
            name="sign_in_id",
            # No index yet: the unique one comes with the AlterField, once every row has an id.
            field=models.CharField(editable=False, max_length=32, null=True),
        ),
        migrations.RunPython(fill_sign_in_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="ssoconnection",
            name="sign_in_id",
            field=models.SlugField(
                default=sso.models.sign_in_id_new,
                editable=False,
                max_length=32,
                unique=True,
                verbose_name="sign-in link id",
            ),
        ),
    ]
