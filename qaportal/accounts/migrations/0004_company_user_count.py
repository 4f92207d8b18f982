"""CompanyUserCount, and the triggers on accounts_user that keep it.

PostgreSQL: statement-level triggers for INSERT and DELETE (one upsert per statement and
company, so a bulk load of 100,000 users costs one), a row-level trigger for the rare UPDATE
that moves a user to another company or role, and 8 rows per (company, role), one picked
at random per statement, so concurrent creates in one company rarely wait for each other.
SQLite (the embedded default, one writer at a time): row-level triggers on shard 0. The
existing users are counted once, here.
"""

import django.db.models.deletion
from django.db import NotSupportedError, migrations, models

POSTGRESQL_INSTALL = [
    """
    CREATE FUNCTION accounts_user_count_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' THEN
            INSERT INTO accounts_companyusercount (company_id, role, shard, count)
            SELECT company_id, role, floor(random() * 8)::int, n
            FROM (SELECT company_id, role, count(*) AS n FROM new_rows
                  WHERE company_id IS NOT NULL GROUP BY company_id, role) AS added
            ON CONFLICT (company_id, role, shard)
            DO UPDATE SET count = accounts_companyusercount.count + EXCLUDED.count;
        END IF;
        IF TG_OP = 'DELETE' OR TG_OP = 'UPDATE' THEN
            INSERT INTO accounts_companyusercount (company_id, role, shard, count)
            SELECT company_id, role, floor(random() * 8)::int, -n
            FROM (SELECT company_id, role, count(*) AS n FROM old_rows
                  WHERE company_id IS NOT NULL GROUP BY company_id, role) AS removed
            -- A company deleted in the same statement cascade has no row to count against.
            WHERE EXISTS (SELECT 1 FROM accounts_company c WHERE c.id = removed.company_id)
            ON CONFLICT (company_id, role, shard)
            DO UPDATE SET count = accounts_companyusercount.count + EXCLUDED.count;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER accounts_user_count_insert AFTER INSERT ON accounts_user
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_user_count_apply()
    """,
    """
    CREATE TRIGGER accounts_user_count_delete AFTER DELETE ON accounts_user
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_user_count_apply()
    """,
    """
    CREATE FUNCTION accounts_user_count_move() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.company_id IS NOT NULL THEN
            INSERT INTO accounts_companyusercount (company_id, role, shard, count)
            VALUES (OLD.company_id, OLD.role, floor(random() * 8)::int, -1)
            ON CONFLICT (company_id, role, shard)
            DO UPDATE SET count = accounts_companyusercount.count - 1;
        END IF;
        IF NEW.company_id IS NOT NULL THEN
            INSERT INTO accounts_companyusercount (company_id, role, shard, count)
            VALUES (NEW.company_id, NEW.role, floor(random() * 8)::int, 1)
            ON CONFLICT (company_id, role, shard)
            DO UPDATE SET count = accounts_companyusercount.count + 1;
        END IF;
        RETURN NULL;
    END $$
    """,
    # Row-level with WHEN: an UPDATE that keeps company and role (every SCIM PATCH) never
    # calls the function.
    """
    CREATE TRIGGER accounts_user_count_move AFTER UPDATE OF company_id, role ON accounts_user
    FOR EACH ROW
    WHEN (OLD.company_id IS DISTINCT FROM NEW.company_id OR OLD.role IS DISTINCT FROM NEW.role)
    EXECUTE FUNCTION accounts_user_count_move()
    """,
]
POSTGRESQL_UNINSTALL = [
    "DROP TRIGGER IF EXISTS accounts_user_count_move ON accounts_user",
    "DROP TRIGGER IF EXISTS accounts_user_count_delete ON accounts_user",
    "DROP TRIGGER IF EXISTS accounts_user_count_insert ON accounts_user",
    "DROP FUNCTION IF EXISTS accounts_user_count_move()",
    "DROP FUNCTION IF EXISTS accounts_user_count_apply()",
]


def _sqlite_add(row: str, delta: str) -> str:
    # Only the trigger's own row names go into the SQL (NEW/OLD), never data.
    return (
        f"INSERT OR IGNORE INTO accounts_companyusercount (company_id, role, shard, count) "  # noqa: S608
        f"SELECT {row}.company_id, {row}.role, 0, 0 WHERE {row}.company_id IS NOT NULL "
        f"AND EXISTS (SELECT 1 FROM accounts_company c WHERE c.id = {row}.company_id); "
        f"UPDATE accounts_companyusercount SET count = count {delta} "
        f"WHERE company_id = {row}.company_id AND role = {row}.role AND shard = 0;"
    )


SQLITE_INSTALL = [
    f"""CREATE TRIGGER accounts_user_count_insert AFTER INSERT ON accounts_user
    BEGIN {_sqlite_add("NEW", "+ 1")} END""",
    f"""CREATE TRIGGER accounts_user_count_delete AFTER DELETE ON accounts_user
    BEGIN {_sqlite_add("OLD", "- 1")} END""",
    f"""CREATE TRIGGER accounts_user_count_move AFTER UPDATE OF company_id, role ON accounts_user
    WHEN OLD.company_id IS NOT NEW.company_id OR OLD.role IS NOT NEW.role
    BEGIN {_sqlite_add("OLD", "- 1")} {_sqlite_add("NEW", "+ 1")} END""",
]
SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS accounts_user_count_move",
    "DROP TRIGGER IF EXISTS accounts_user_count_delete",
    "DROP TRIGGER IF EXISTS accounts_user_count_insert",
]

BACKFILL = """
    INSERT INTO accounts_companyusercount (company_id, role, shard, count)
    SELECT company_id, role, 0, count(*) FROM accounts_user
    WHERE company_id IS NOT NULL GROUP BY company_id, role
"""


def install(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": POSTGRESQL_INSTALL, "sqlite": SQLITE_INSTALL}.get(vendor)
    if statements is None:
        raise NotSupportedError(f"accounts_user has no count triggers for {vendor}.")
    for statement in [*statements, BACKFILL]:
        schema_editor.execute(statement)


def uninstall(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for statement in {"postgresql": POSTGRESQL_UNINSTALL, "sqlite": SQLITE_UNINSTALL}[vendor]:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_autovacuum_settings"),
    ]

    operations = [
        migrations.CreateModel(
            name="CompanyUserCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("role", models.CharField(max_length=16)),
                ("shard", models.PositiveSmallIntegerField(default=0)),
                ("count", models.BigIntegerField(default=0)),
                (
                    "company",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.company",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("company", "role", "shard"),
                        name="accounts_usercount_company_role_shard_uniq",
                    )
                ],
            },
        ),
        migrations.RunPython(install, uninstall, elidable=False),
    ]
