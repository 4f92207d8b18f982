"""CompanyUserCount: the per-company, per-role user count that database triggers keep (the
total of SCIM list pages, flat at 100,000 users)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db.models import Count

from qaportal.accounts.models import User
from qaportal.accounts.selectors import user_count_get
from tests.factories import CompanyAdminFactory, LearnerFactory

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
LEARNER, ADMIN = User.Role.LEARNER, User.Role.ADMIN


def _counts(company) -> tuple[int, int]:
    return (
        user_count_get(company_id=company.pk, role=LEARNER),
        user_count_get(company_id=company.pk, role=ADMIN),
    )


def _counted_by_sql(company) -> tuple[int, int]:
    rows = dict(User.objects.filter(company=company).values_list("role").annotate(n=Count("id")))
    return rows.get(LEARNER, 0), rows.get(ADMIN, 0)


def test_creates_bulk_loads_and_deletions_are_counted(company, other_company):
    assert _counts(company) == (0, 0)
    first = LearnerFactory(company=company)
    CompanyAdminFactory(company=company)
    User.objects.bulk_create(
        User(company=company, role=LEARNER, user_name=f"bulk{n}@contoso.com", password="!")
        for n in range(250)
    )
    LearnerFactory(company=other_company)
    assert _counts(company) == (251, 1)
    first.delete()
    User.objects.filter(company=company, user_name__startswith="bulk1").delete()
    assert _counts(company) == _counted_by_sql(company)
    assert _counts(other_company) == (1, 0)


def test_a_change_of_role_or_company_moves_the_count(company, other_company):
    learner = LearnerFactory(company=company)
    learner.role = ADMIN
    learner.save()
    assert _counts(company) == (0, 1)
    learner.company = other_company
    learner.save()
    assert _counts(company) == (0, 0)
    assert _counts(other_company) == (0, 1)
    # An update that keeps company and role (every SCIM PATCH) leaves the count alone.
    User.objects.filter(pk=learner.pk).update(display_name="Renamed")
    assert _counts(other_company) == (0, 1)


def test_users_without_a_company_are_not_counted(company):
    User.objects.create_superuser(email="staff@qa.example", password="x-staff-password")
    assert _counts(company) == (0, 0)


def test_the_embedded_sqlite_database_keeps_the_same_count(tmp_path):
    """SQLite (make run) has its own triggers; prove them on a fresh migrated file."""
    script = """
from qaportal.accounts.models import Company, User
from qaportal.accounts.selectors import user_count_get
c = Company.objects.create(name="S", slug="s")
other = Company.objects.create(name="O", slug="o")
users = [User.objects.create(company=c, role="learner", user_name=f"u{n}") for n in range(5)]
User.objects.bulk_create(User(company=c, role="learner", user_name=f"b{n}") for n in range(5))
users[0].delete()
users[1].role = "admin"; users[1].save()
users[2].company = other; users[2].save()
for company, role in ((c, "learner"), (c, "admin"), (other, "learner")):
    print(user_count_get(company_id=company.pk, role=role))
"""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'count.sqlite3'}",
        DJANGO_SETTINGS_MODULE="qaportal.settings.dev",
        REDIS_URL="",
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run(  # noqa: S603 - this interpreter and manage.py
        [*manage, "migrate", "-v0"], cwd=REPO, env=env, check=True, timeout=120
    )
    result = subprocess.run(  # noqa: S603
        [*manage, "shell", "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.split()[-3:] == ["7", "1", "1"]
