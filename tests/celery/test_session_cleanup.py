"""Expired sessions are deleted daily by a beat task, on a real worker.

Every "Sign in with Microsoft" started from a new browser stores a session for its state; most
anonymous ones are never finished, so they must not pile up in the database.
"""

from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from sso.tasks import sessions_clear_expired
from tests.celery.conftest import wait_for


def test_the_beat_clears_expired_sessions_daily():
    entry = settings.CELERY_BEAT_SCHEDULE["clear-expired-sessions"]
    assert entry["task"] == "sso.tasks.sessions_clear_expired"
    assert isinstance(entry["schedule"], crontab)
    assert entry["schedule"].hour == {3}
    assert entry["schedule"].day_of_week == set(range(7))


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_the_task_on_a_real_worker_deletes_expired_sessions_only(
    start_celery_worker, purge_queue, finished_tasks
):
    now = timezone.now()
    for minutes in (-60, -1, 1, 60):
        store = SessionStore()
        store["sso_flow"] = {"state": f"s{minutes}"}
        store.create()
        Session.objects.filter(pk=store.session_key).update(
            expire_date=now + timedelta(minutes=minutes)
        )
    purge_queue()
    start_celery_worker()

    result = sessions_clear_expired.delay()

    assert wait_for(lambda: result.id in finished_tasks)
    assert finished_tasks[result.id] == ["SUCCESS"]
    assert Session.objects.count() == 2
    assert not Session.objects.filter(expire_date__lte=now).exists()
