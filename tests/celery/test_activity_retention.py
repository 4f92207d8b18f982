"""Retention of the provisioning activity log: the nightly beat task on a real worker."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from integrations.models import ProvisioningEvent
from integrations.retention import provisioning_events_prune
from integrations.services import provisioning_event_record
from integrations.tasks import provisioning_events_prune as prune_task
from tests.celery.conftest import wait_for

DAY = timedelta(days=1)


def log(company, *, age: timedelta, now) -> ProvisioningEvent:
    return provisioning_event_record(
        company_id=company.pk if company else None,
        api_key_id=None,
        method="GET",
        path="/webhooks/ad/v1/scim/Users",
        operation="list_users",
        status_code=200,
        outcome=ProvisioningEvent.Outcome.SUCCESS,
        now=now - age,
    )


def remaining_ages(now) -> list[int]:
    return sorted(
        (now - created_at).days
        for created_at in ProvisioningEvent.objects.values_list("created_at", flat=True)
    )


def test_retention_defaults_to_90_days():
    assert settings.QA_ACTIVITY_RETENTION_DAYS == 90
    assert settings.CELERY_BEAT_SCHEDULE["prune-provisioning-activity"]["task"] == (
        "integrations.tasks.provisioning_events_prune"
    )


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_the_beat_task_on_a_real_worker_prunes_activity_older_than_the_retention_period(
    start_celery_worker, purge_queue, finished_tasks, company, other_company, settings
):
    settings.QA_ACTIVITY_RETENTION_BATCH_SIZE = 2  # several batches per company
    now = timezone.now()
    for owner in (company, other_company, None):  # None: requests with an unknown key
        for days in (400, 120, 91, 90.5, 89, 1, 0):
            log(owner, age=days * DAY, now=now)
    purge_queue()
    start_celery_worker()

    result = prune_task.delay()

    assert wait_for(lambda: result.id in finished_tasks)
    assert finished_tasks[result.id] == ["SUCCESS"]
    assert remaining_ages(now) == [0, 0, 0, 1, 1, 1, 89, 89, 89]
    # The task is idempotent: beat firing it again deletes nothing more.
    again = prune_task.delay()
    assert wait_for(lambda: again.id in finished_tasks)
    assert ProvisioningEvent.objects.count() == 9


@pytest.mark.django_db
def test_the_retention_period_is_a_setting(company, settings):
    settings.QA_ACTIVITY_RETENTION_DAYS = 7
    now = timezone.now()
    for days in (30, 8, 6):
        log(company, age=days * DAY, now=now)

    assert provisioning_events_prune(now=now) == 2

    assert remaining_ages(now) == [6]


@pytest.mark.django_db
def test_pruning_deletes_in_small_batches_by_id_without_locking_the_table(
    company, other_company, settings, django_assert_num_queries
):
    settings.QA_ACTIVITY_RETENTION_BATCH_SIZE = 2
    now = timezone.now()
    for _ in range(5):
        log(company, age=100 * DAY, now=now)
    log(company, age=DAY, now=now)
    log(None, age=100 * DAY, now=now)

    # 1 company list; Contoso 3 batches (2+2+1 rows, a short batch ends it); Fabrikam 1
    # empty select; no-company rows 1 short batch.
    with django_assert_num_queries(1 + 3 * 2 + 1 + 2) as captured:
        assert provisioning_events_prune(now=now) == 6

    statements = [query["sql"] for query in captured.captured_queries]
    deletes = [sql for sql in statements if sql.startswith("DELETE")]
    assert len(deletes) == 4
    assert all(' WHERE "integrations_provisioningevent"."id" IN (' in sql for sql in deletes)
    assert not any("LOCK" in sql.upper() or "FOR UPDATE" in sql.upper() for sql in statements)
    assert remaining_ages(now) == [1]


@pytest.mark.django_db
def test_pruning_an_empty_log_deletes_nothing(company):
    assert provisioning_events_prune() == 0
