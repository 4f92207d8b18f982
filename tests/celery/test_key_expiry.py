"""Key expiry through Celery: a real worker on Redis, the beat sweep, and no worker at all.

Authentication decides by the clock; the tasks only record the state change and write the
audit event (docs/architecture.md, API keys).
"""

import logging
import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from integrations.models import ApiKey, AuditEvent
from integrations.services import (
    KeyRejection,
    api_key_authenticate,
    api_key_generate,
)
from integrations.tasks import api_keys_expire_due
from tests.celery.conftest import wait_for
from tests.keys import authenticate_api_key

pytestmark = pytest.mark.celery

GRACE = timedelta(seconds=2)


def recorded_status(api_key: ApiKey) -> str:
    return ApiKey.objects.values_list("status", flat=True).get(pk=api_key.pk)


@pytest.mark.django_db(transaction=True)
def test_superseded_key_is_recorded_expired_at_its_deadline_by_a_real_worker(
    start_celery_worker, purge_queue, entra_integration, admin_user, settings
):
    settings.QA_KEY_GRACE_PERIOD = GRACE
    purge_queue()
    start_celery_worker()
    old = api_key_generate(integration=entra_integration, created_by=admin_user)

    # Committed outside any transaction, so the expiry task is queued (eta = deadline) at once.
    new = api_key_generate(integration=entra_integration, created_by=admin_user)

    old_key = ApiKey.objects.get(pk=old.api_key.pk)
    assert old_key.status == ApiKey.Status.EXPIRING
    assert old_key.expires_at - timezone.now() <= GRACE
    assert authenticate_api_key(old.plaintext) is not None  # still in its grace period

    assert wait_for(lambda: recorded_status(old_key) == ApiKey.Status.EXPIRED)

    event = AuditEvent.objects.get(action=AuditEvent.Action.KEY_EXPIRED)
    assert event.api_key_id == old_key.pk
    assert event.key_prefix == old_key.prefix
    assert event.company_id == entra_integration.company_id
    assert event.actor is None
    # Recorded by the eta task at the deadline (no beat runs here), not before it.
    assert event.created_at >= old_key.expires_at
    assert event.created_at - old_key.expires_at < timedelta(seconds=10)
    assert authenticate_api_key(old.plaintext) is None
    assert recorded_status(new.api_key) == ApiKey.Status.ACTIVE
    assert authenticate_api_key(new.plaintext) == new.api_key


@pytest.mark.django_db(transaction=True)
def test_an_expiry_task_run_early_by_a_clock_step_tries_again_at_the_deadline(
    start_celery_worker,
    purge_queue,
    received_tasks_by_name,
    finished_tasks,
    entra_integration,
    admin_user,
    settings,
):
    settings.QA_KEY_GRACE_PERIOD = GRACE
    purge_queue()
    start_celery_worker()
    old = api_key_generate(integration=entra_integration, created_by=admin_user)
    api_key_generate(integration=entra_integration, created_by=admin_user)
    old_key = ApiKey.objects.get(pk=old.api_key.pk)
    expiries = received_tasks_by_name["integrations.tasks.api_key_expire"]
    assert wait_for(lambda: len(expiries) == 1)

    # The worker timed the eta on its monotonic clock; the wall clock then steps back a
    # second (an NTP correction), so the task runs when timezone.now() is before the deadline.
    with time_machine.travel(timezone.now() - timedelta(seconds=1), tick=True):
        assert wait_for(lambda: recorded_status(old_key) == ApiKey.Status.EXPIRED)

    # One task id, run twice: early (retried), then at the deadline.
    assert wait_for(lambda: finished_tasks[expiries[0]] == ["RETRY", "SUCCESS"])
    event = AuditEvent.objects.get(action=AuditEvent.Action.KEY_EXPIRED)
    assert event.created_at >= old_key.expires_at


@pytest.mark.django_db(transaction=True)
def test_beat_sweep_on_a_real_worker_records_keys_whose_expiry_task_was_lost(
    start_celery_worker, purge_queue, finished_tasks, entra_integration, admin_user
):
    long_ago = timezone.now() - timedelta(hours=9)
    first = api_key_generate(integration=entra_integration, created_by=admin_user, now=long_ago)
    second = api_key_generate(integration=entra_integration, created_by=admin_user, now=long_ago)
    # The first key's grace period has run out; the second only starts its own now.
    third = api_key_generate(integration=entra_integration, created_by=admin_user)
    purge_queue()  # the scheduled expiry tasks are lost (a broker restart, say)
    assert recorded_status(first.api_key) == ApiKey.Status.EXPIRING

    start_celery_worker()
    api_keys_expire_due.delay()

    assert wait_for(lambda: recorded_status(first.api_key) == ApiKey.Status.EXPIRED)
    assert recorded_status(second.api_key) == ApiKey.Status.EXPIRING  # not due for 8 hours
    assert recorded_status(third.api_key) == ApiKey.Status.ACTIVE
    expired = AuditEvent.objects.filter(action=AuditEvent.Action.KEY_EXPIRED)
    assert list(expired.values_list("api_key_id", flat=True)) == [first.api_key.pk]

    # Running the sweep again (beat fires every minute) records nothing twice.
    again = api_keys_expire_due.delay()
    assert wait_for(lambda: again.id in finished_tasks)
    assert expired.count() == 1
    assert recorded_status(first.api_key) == ApiKey.Status.EXPIRED


@pytest.mark.django_db
def test_expired_key_is_refused_at_the_deadline_with_no_worker_running(
    entra_integration, admin_user
):
    old = api_key_generate(integration=entra_integration, created_by=admin_user)
    api_key_generate(integration=entra_integration, created_by=admin_user)
    deadline = ApiKey.objects.get(pk=old.api_key.pk).expires_at

    with time_machine.travel(deadline - timedelta(seconds=1), tick=False):
        assert authenticate_api_key(old.plaintext) == old.api_key
    with time_machine.travel(deadline, tick=False):
        result = api_key_authenticate(raw=old.plaintext)
    assert result.rejection == KeyRejection.EXPIRED
    # Nobody recorded the expiry (no worker), and the key is refused all the same.
    assert recorded_status(old.api_key) == ApiKey.Status.EXPIRING


@pytest.mark.django_db(transaction=True)
def test_generating_a_key_works_and_does_not_hang_when_the_broker_is_unreachable(
    unreachable_broker, entra_integration, admin_user, caplog
):
    old = api_key_generate(integration=entra_integration, created_by=admin_user)

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="qaportal.enqueue"):
        new = api_key_generate(integration=entra_integration, created_by=admin_user)
    elapsed = time.monotonic() - started

    assert elapsed < 5
    assert authenticate_api_key(new.plaintext) == new.api_key
    assert recorded_status(old.api_key) == ApiKey.Status.EXPIRING
    assert authenticate_api_key(old.plaintext) == old.api_key  # its grace period has begun
    assert f"Could not queue integrations.tasks.api_key_expire({old.api_key.pk},)" in caplog.text
    assert new.plaintext not in caplog.text
