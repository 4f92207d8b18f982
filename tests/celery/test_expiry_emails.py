"""Key emails sent by a real Celery worker on Redis, and what happens with the broker down.

Content and timing rules are in tests/integrations/test_notifications.py; here the tasks
travel through the broker: queued on commit of a rotation or a refused request, or by beat.
"""

import logging
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from integrations.models import ApiKey
from integrations.notifications import (
    api_key_grace_notice_send,
    api_key_rejected_use_notify,
)
from integrations.notifications import api_key_notices_send_due as notices_send_due
from integrations.services import api_key_generate, api_key_revoke
from integrations.tasks import api_key_notices_send_due
from integrations.tasks import api_key_rejected_use_notice_send as rejected_use_task
from tests.celery.conftest import wait_for
from tests.factories import CompanyAdminFactory

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_admins(company, admin_user):
    return [admin_user, CompanyAdminFactory(company=company, email="second.admin@contoso.com")]


def field(api_key: ApiKey, name: str):
    return ApiKey.objects.values_list(name, flat=True).get(pk=api_key.pk)


def test_rotation_emails_every_admin_that_the_old_key_is_in_its_grace_period(
    start_celery_worker, purge_queue, two_admins, entra_integration, admin_user, mailoutbox
):
    purge_queue()
    start_celery_worker()
    old = api_key_generate(integration=entra_integration, created_by=admin_user)

    new = api_key_generate(integration=entra_integration, created_by=admin_user)

    assert wait_for(lambda: len(mailoutbox) == 2)
    assert sorted(message.to[0] for message in mailoutbox) == [
        "admin@contoso.com",
        "second.admin@contoso.com",
    ]
    assert old.api_key.masked in mailoutbox[0].subject
    for message in mailoutbox:
        assert old.plaintext not in message.body
        assert new.plaintext not in message.body
    assert field(old.api_key, "grace_notice_sent_at") is not None


def test_beat_sweep_on_a_real_worker_sends_the_expiring_soon_email_once(
    start_celery_worker,
    purge_queue,
    finished_tasks,
    two_admins,
    entra_integration,
    admin_user,
    mailoutbox,
):
    started = timezone.now() - timedelta(hours=7, minutes=30)  # 30 minutes of grace left
    old = api_key_generate(integration=entra_integration, created_by=admin_user, now=started)
    api_key_generate(integration=entra_integration, created_by=admin_user, now=started)
    purge_queue()  # the grace notice task is not what this test is about
    api_key_grace_notice_send(api_key_id=old.api_key.pk, now=started)
    mailoutbox.clear()
    start_celery_worker()

    first = api_key_notices_send_due.delay()
    second = api_key_notices_send_due.delay()  # beat fired again, or two beats overlapped

    assert wait_for(lambda: first.id in finished_tasks and second.id in finished_tasks)
    assert len(mailoutbox) == 2
    assert {message.subject for message in mailoutbox} == {
        f"[QA Portal] Microsoft Entra ID: API key {old.api_key.masked} stops working in 29 minutes"
    }
    assert field(old.api_key, "final_notice_sent_at") is not None


def test_scim_requests_with_a_revoked_key_email_the_admins_once(
    start_celery_worker,
    purge_queue,
    finished_tasks,
    received_tasks,
    two_admins,
    generated_key,
    admin_user,
    mailoutbox,
):
    revoked = api_key_revoke(api_key=generated_key.api_key, revoked_by=admin_user)
    purge_queue()
    start_celery_worker()

    # Entra keeps sending the revoked key: every request is refused (autocommit, so the
    # notice is queued as soon as the first refusal claims it).
    entra = Client(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")
    for _ in range(5):
        assert entra.get("/webhooks/ad/v1/scim/Users").status_code == 401
    api_key_rejected_use_notify(
        api_key=ApiKey.objects.select_related("integration").get(pk=revoked.pk)
    )

    assert wait_for(lambda: len(received_tasks) == 1 and received_tasks[0] in finished_tasks)
    assert len(mailoutbox) == 2
    assert "is using a revoked API key" in mailoutbox[0].subject
    assert generated_key.plaintext not in mailoutbox[0].body


def test_a_redelivered_rejected_use_task_on_a_real_worker_emails_each_admin_once(
    start_celery_worker,
    purge_queue,
    finished_tasks,
    received_tasks,
    two_admins,
    generated_key,
    admin_user,
    mailoutbox,
):
    revoked = api_key_revoke(api_key=generated_key.api_key, revoked_by=admin_user)
    purge_queue()
    entra = Client(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")
    assert entra.get("/webhooks/ad/v1/scim/Users").status_code == 401  # claims and queues
    claimed_at = field(revoked, "rejected_use_notified_at")
    # The same message again, as the broker redelivers an unacknowledged one (acks_late).
    rejected_use_task.delay(revoked.pk, claimed_at.isoformat())
    start_celery_worker()

    assert wait_for(
        lambda: len(received_tasks) == 2 and all(task in finished_tasks for task in received_tasks)
    )
    assert sorted(message.to[0] for message in mailoutbox) == [
        "admin@contoso.com",
        "second.admin@contoso.com",
    ]


def test_rotation_with_the_broker_down_still_commits_and_the_sweep_sends_the_notice_later(
    unreachable_broker, two_admins, entra_integration, admin_user, mailoutbox, caplog
):
    old = api_key_generate(integration=entra_integration, created_by=admin_user)

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="qaportal.enqueue"):
        new = api_key_generate(integration=entra_integration, created_by=admin_user)

    assert time.monotonic() - started < 5
    assert (
        f"Could not queue integrations.tasks.api_key_grace_notice_send({old.api_key.pk},)"
        in caplog.text
    )
    assert new.plaintext not in caplog.text
    assert field(old.api_key, "grace_notice_sent_at") is None
    assert mailoutbox == []

    # Once beat runs again (here: the sweep's service, the broker being still down).
    assert notices_send_due() == 1
    assert len(mailoutbox) == 2


def test_a_refused_request_with_the_broker_down_leaves_the_notice_to_the_next_request(
    unreachable_broker, two_admins, generated_key, admin_user, caplog
):
    revoked = api_key_revoke(api_key=generated_key.api_key, revoked_by=admin_user)

    with caplog.at_level(logging.WARNING, logger="qaportal.enqueue"):
        assert api_key_rejected_use_notify(api_key=revoked) is True

    assert (
        f"Could not queue integrations.tasks.api_key_rejected_use_notice_send({revoked.pk},"
        in caplog.text
    )
    assert field(revoked, "rejected_use_notified_at") is None  # claim given back
