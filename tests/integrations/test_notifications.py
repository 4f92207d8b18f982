"""Key emails to a company's admins: content, recipients, timing and deduplication.

The services are called directly with `now`; the Celery side (tasks on a real worker, the
broker down) is in tests/celery/test_expiry_emails.py.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from integrations import tasks
from integrations.models import ApiKey
from integrations.notifications import (
    MAIL_DELIVERY_ERRORS,
    api_key_final_notice_send,
    api_key_grace_notice_send,
    api_key_notices_send_due,
    api_key_rejected_use_notice_send,
    api_key_rejected_use_notify,
)
from integrations.services import api_key_generate, api_key_revoke, api_keys_expire_due
from tests.factories import CompanyAdminFactory, LearnerFactory

pytestmark = pytest.mark.django_db

GRACE = timedelta(hours=8)


@pytest.fixture
def t0():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def admins(company, admin_user, other_admin_user):
    """Two active admins of Contoso; a deactivated admin, a learner and Fabrikam's admin too."""
    second = CompanyAdminFactory(company=company, email="second.admin@contoso.com")
    CompanyAdminFactory(company=company, email="former.admin@contoso.com", is_active=False)
    LearnerFactory(company=company, user_name="learner@contoso.com")
    return [admin_user, second]


@pytest.fixture
def rotated(entra_integration, admin_user, t0):
    """The Entra key was replaced at t0: the old one is in its 8-hour grace period."""
    old = api_key_generate(integration=entra_integration, created_by=admin_user, now=t0)
    new = api_key_generate(integration=entra_integration, created_by=admin_user, now=t0)
    return old, new


def assert_no_key_in(message, *generated):
    text = f"{message.subject}\n{message.body}"
    for key in generated:
        secret = key.plaintext.removeprefix(key.api_key.prefix)
        assert key.plaintext not in text
        assert secret not in text  # not even the secret part without the prefix


def reload(generated) -> ApiKey:
    return ApiKey.objects.get(pk=generated.api_key.pk)


def test_grace_notice_emails_each_active_admin_of_the_company_separately(
    admins, rotated, mailoutbox, t0
):
    old, new = rotated

    assert api_key_grace_notice_send(api_key_id=old.api_key.pk, now=t0) is True

    assert sorted(message.to[0] for message in mailoutbox) == [
        "admin@contoso.com",
        "second.admin@contoso.com",
    ]
    assert all(len(message.to) == 1 and not message.cc for message in mailoutbox)
    message = mailoutbox[0]
    assert message.subject == (
        f"[QA Portal] Microsoft Entra ID: the old API key {old.api_key.masked} "
        "stops working in 8 hours"
    )
    deadline = (t0 + GRACE).strftime("%-d %b %Y, %H:%M")
    assert f"The previous key, {old.api_key.masked}, keeps working until {deadline} UTC" in (
        message.body
    )
    assert "(in 8 hours)" in message.body
    assert "Contoso" in message.body
    assert "http://localhost:8000/settings/integrations/entra-id/" in message.body
    assert "&amp;" not in message.body  # plain text, not HTML-escaped
    for sent in mailoutbox:
        assert_no_key_in(sent, old, new)
    assert reload(old).grace_notice_sent_at == t0


def test_grace_notice_is_sent_once_however_often_it_is_asked_for(admins, rotated, mailoutbox, t0):
    old, _ = rotated
    assert api_key_grace_notice_send(api_key_id=old.api_key.pk, now=t0) is True

    assert api_key_grace_notice_send(api_key_id=old.api_key.pk, now=t0) is False
    assert api_key_grace_notice_send(api_key_id=old.api_key.pk, now=t0 + timedelta(hours=1)) is (
        False
    )
    assert api_key_notices_send_due(now=t0 + timedelta(minutes=1)) == 0
    assert len(mailoutbox) == 2  # one per admin, from the first call only


def test_no_grace_notice_for_a_key_revoked_or_past_its_deadline(
    admins, rotated, admin_user, mailoutbox, t0
):
    old, new = rotated
    api_key_revoke(api_key=new.api_key, revoked_by=admin_user, now=t0)
    assert api_key_grace_notice_send(api_key_id=new.api_key.pk, now=t0) is False
    assert api_key_grace_notice_send(api_key_id=old.api_key.pk, now=t0 + GRACE) is False
    assert mailoutbox == []


def test_the_sweep_sends_the_grace_notices_whose_task_was_lost(admins, rotated, mailoutbox, t0):
    old, new = rotated

    assert api_key_notices_send_due(now=t0 + timedelta(minutes=1)) == 1

    assert len(mailoutbox) == 2
    assert "the old API key" in mailoutbox[0].subject
    assert reload(old).grace_notice_sent_at == t0 + timedelta(minutes=1)
    assert reload(new).grace_notice_sent_at is None  # the current key has no deadline


def test_expiring_soon_email_goes_out_once_within_the_last_hour(admins, rotated, mailoutbox, t0):
    old, new = rotated
    api_key_grace_notice_send(api_key_id=old.api_key.pk, now=t0)
    mailoutbox.clear()

    # The beat sweep runs every minute; nothing is due until the last hour.
    assert api_key_notices_send_due(now=t0 + GRACE - timedelta(hours=1, minutes=1)) == 0
    assert api_key_notices_send_due(now=t0 + GRACE - timedelta(minutes=59)) == 1
    assert api_key_notices_send_due(now=t0 + GRACE - timedelta(minutes=58)) == 0
    assert api_key_final_notice_send(api_key_id=old.api_key.pk, now=t0 + GRACE) is False

    assert len(mailoutbox) == 2
    message = mailoutbox[0]
    assert message.subject == (
        f"[QA Portal] Microsoft Entra ID: API key {old.api_key.masked} stops working in 59 minutes"
    )
    assert f"The API key {old.api_key.masked} of the Microsoft Entra ID integration" in (
        message.body
    )
    for sent in mailoutbox:
        assert_no_key_in(sent, old, new)
    assert reload(old).final_notice_sent_at == t0 + GRACE - timedelta(minutes=59)


def test_no_expiring_soon_email_for_a_revoked_or_expired_key(
    admins, rotated, admin_user, mailoutbox, t0
):
    old, _ = rotated
    api_key_grace_notice_send(api_key_id=old.api_key.pk, now=t0)
    mailoutbox.clear()
    # The sweep was down during the last hour; the key has expired meanwhile.
    api_keys_expire_due(now=t0 + GRACE)
    assert api_key_notices_send_due(now=t0 + GRACE + timedelta(minutes=1)) == 0

    older, _ = (
        api_key_generate(integration=old.api_key.integration, created_by=admin_user, now=t0),
        None,
    )
    api_key_generate(integration=old.api_key.integration, created_by=admin_user, now=t0)
    api_key_revoke(api_key=older.api_key, revoked_by=admin_user, now=t0)
    assert api_key_final_notice_send(api_key_id=older.api_key.pk, now=t0 + GRACE / 2) is False
    assert mailoutbox == []


def test_a_short_grace_period_sends_one_email_not_two(
    admins, entra_integration, admin_user, mailoutbox, settings, t0
):
    settings.QA_KEY_GRACE_PERIOD = timedelta(minutes=30)
    old = api_key_generate(integration=entra_integration, created_by=admin_user, now=t0)
    api_key_generate(integration=entra_integration, created_by=admin_user, now=t0)

    assert api_key_notices_send_due(now=t0) == 1
    assert api_key_notices_send_due(now=t0 + timedelta(minutes=1)) == 0

    assert len(mailoutbox) == 2
    assert "stops working in 30 minutes" in mailoutbox[0].subject
    assert reload(old).final_notice_sent_at == t0


def test_a_failed_delivery_gives_the_notice_back_to_the_next_sweep(
    admins, rotated, mailoutbox, settings, caplog, t0
):
    old, _ = rotated
    # A real SMTP attempt to a port where nothing listens: connection refused.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = 1
    settings.EMAIL_TIMEOUT = 2

    assert api_key_notices_send_due(now=t0) == 0

    assert reload(old).grace_notice_sent_at is None
    assert "Could not email the admins about API key" in caplog.text
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert api_key_notices_send_due(now=t0 + timedelta(minutes=1)) == 1
    assert len(mailoutbox) == 2


def test_a_key_of_a_company_without_admins_is_marked_without_an_email(
    rotated, admin_user, mailoutbox, t0
):
    old, _ = rotated
    admin_user.is_active = False
    admin_user.save(update_fields=["is_active"])

    assert api_key_grace_notice_send(api_key_id=old.api_key.pk, now=t0) is True
    assert mailoutbox == []


# --- Requests that arrive with a revoked or expired key ---


def test_rejected_use_is_claimed_once_a_day_and_queued_on_commit(
    admins, rotated, admin_user, django_capture_on_commit_callbacks, t0
):
    old, _ = rotated
    revoked = api_key_revoke(api_key=old.api_key, revoked_by=admin_user, now=t0)

    with django_capture_on_commit_callbacks() as callbacks:
        assert api_key_rejected_use_notify(api_key=revoked, now=t0 + timedelta(minutes=1))
    assert len(callbacks) == 1
    assert reload(old).rejected_use_notified_at == t0 + timedelta(minutes=1)

    # Later requests of the same day: the key the middleware loaded says it is recent.
    later = ApiKey.objects.select_related("integration").get(pk=old.api_key.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        assert not api_key_rejected_use_notify(api_key=later, now=t0 + timedelta(hours=23))
        assert not api_key_rejected_use_notify(api_key=later, now=t0 + timedelta(hours=24))
    assert callbacks == []

    with django_capture_on_commit_callbacks() as callbacks:
        assert api_key_rejected_use_notify(api_key=later, now=t0 + timedelta(hours=24, minutes=1))
    assert len(callbacks) == 1


def test_rejected_use_of_a_recently_notified_key_costs_no_query(
    admins, rotated, admin_user, django_assert_num_queries, t0
):
    old, _ = rotated
    revoked = api_key_revoke(api_key=old.api_key, revoked_by=admin_user, now=t0)
    api_key_rejected_use_notify(api_key=revoked, now=t0)

    with django_assert_num_queries(0):
        for minute in range(1, 60):
            api_key_rejected_use_notify(api_key=revoked, now=t0 + timedelta(minutes=minute))


def test_rejected_use_claim_is_one_conditional_update(
    admins, rotated, admin_user, django_assert_num_queries, t0
):
    old, _ = rotated
    revoked = api_key_revoke(api_key=old.api_key, revoked_by=admin_user, now=t0)
    stale = ApiKey.objects.select_related("integration").get(pk=revoked.pk)
    api_key_rejected_use_notify(api_key=revoked, now=t0)

    # Another process still holds the key without the claim: its UPDATE matches no row.
    with django_assert_num_queries(1) as captured:
        assert api_key_rejected_use_notify(api_key=stale, now=t0 + timedelta(seconds=1)) is False
    assert captured.captured_queries[0]["sql"].startswith('UPDATE "integrations_apikey"')


def test_rejected_use_is_ignored_for_a_usable_key(generated_key, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert api_key_rejected_use_notify(api_key=generated_key.api_key) is False


def test_rejected_use_email_of_a_revoked_key(admins, rotated, admin_user, mailoutbox, t0):
    old, new = rotated
    api_key_revoke(api_key=old.api_key, revoked_by=admin_user, now=t0)
    api_key_rejected_use_notify(api_key=reload(old), now=t0 + timedelta(minutes=5))

    assert api_key_rejected_use_notice_send(api_key_id=old.api_key.pk, now=t0) is True

    assert len(mailoutbox) == 2
    message = mailoutbox[0]
    assert message.subject == (
        "[QA Portal] Microsoft Entra ID is using a revoked API key: provisioning is failing"
    )
    stamp = "%-d %b %Y, %H:%M"
    assert (
        f"at {(t0 + timedelta(minutes=5)).strftime(stamp)} UTC with the API key "
        f"{old.api_key.masked}, which was revoked on {t0.strftime(stamp)} UTC." in message.body
    )
    assert "paste the current key as the Secret Token" in message.body
    for sent in mailoutbox:
        assert_no_key_in(sent, old, new)


def test_rejected_use_email_of_an_expired_key(admins, rotated, mailoutbox, t0):
    old, new = rotated
    api_key_rejected_use_notify(api_key=reload(old), now=t0 + GRACE + timedelta(hours=2))

    assert api_key_rejected_use_notice_send(
        api_key_id=old.api_key.pk, now=t0 + GRACE + timedelta(hours=2)
    )

    message = mailoutbox[0]
    assert message.subject == (
        "[QA Portal] Microsoft Entra ID is using an expired API key: provisioning is failing"
    )
    assert f"which expired on {(t0 + GRACE).strftime('%-d %b %Y, %H:%M')} UTC" in message.body
    for sent in mailoutbox:
        assert_no_key_in(sent, old, new)


def test_rejected_use_email_goes_to_the_keys_company_only(
    admins, other_generated_key, other_admin_user, mailoutbox
):
    key = api_key_revoke(api_key=other_generated_key.api_key, revoked_by=other_admin_user)
    api_key_rejected_use_notify(api_key=key)
    api_key_rejected_use_notice_send(api_key_id=key.pk)

    assert [message.to for message in mailoutbox] == [["admin@fabrikam.com"]]
    assert "Fabrikam" in mailoutbox[0].body


def test_rejected_use_task_run_twice_emails_each_admin_once(
    admins, rotated, admin_user, mailoutbox, django_capture_on_commit_callbacks, t0
):
    old, _ = rotated
    revoked = api_key_revoke(api_key=old.api_key, revoked_by=admin_user, now=t0)
    with django_capture_on_commit_callbacks():  # the claim; its task is run by hand below
        api_key_rejected_use_notify(api_key=revoked, now=t0 + timedelta(minutes=1))
    claimed_at = (t0 + timedelta(minutes=1)).isoformat()

    # The message as the broker delivers it, twice (CELERY_TASK_ACKS_LATE redelivers it when
    # the worker is lost before the ack).
    assert tasks.api_key_rejected_use_notice_send(old.api_key.pk, claimed_at) is True
    assert tasks.api_key_rejected_use_notice_send(old.api_key.pk, claimed_at) is False

    assert sorted(message.to[0] for message in mailoutbox) == [
        "admin@contoso.com",
        "second.admin@contoso.com",
    ]
    assert reload(old).rejected_use_notice_sent_at == t0 + timedelta(minutes=1)


def test_rejected_use_task_of_a_replaced_claim_sends_nothing_and_the_new_claim_sends_once(
    admins, rotated, admin_user, mailoutbox, django_capture_on_commit_callbacks, t0
):
    old, _ = rotated
    revoked = api_key_revoke(api_key=old.api_key, revoked_by=admin_user, now=t0)
    first, second = t0 + timedelta(minutes=1), t0 + timedelta(days=1, minutes=2)
    with django_capture_on_commit_callbacks():
        api_key_rejected_use_notify(api_key=revoked, now=first)
    assert api_key_rejected_use_notice_send(api_key_id=revoked.pk, claimed_at=first, now=first)
    with django_capture_on_commit_callbacks():
        assert api_key_rejected_use_notify(api_key=reload(old), now=second)
    mailoutbox.clear()

    # A late retry of the first day's task, then the second day's task twice.
    assert not api_key_rejected_use_notice_send(api_key_id=revoked.pk, claimed_at=first)
    assert api_key_rejected_use_notice_send(api_key_id=revoked.pk, claimed_at=second)
    assert not api_key_rejected_use_notice_send(api_key_id=revoked.pk, claimed_at=second)

    assert len(mailoutbox) == 2


def test_a_failed_rejected_use_email_is_sent_by_the_retry(
    admins, rotated, admin_user, mailoutbox, settings, django_capture_on_commit_callbacks, t0
):
    old, _ = rotated
    revoked = api_key_revoke(api_key=old.api_key, revoked_by=admin_user, now=t0)
    with django_capture_on_commit_callbacks():
        api_key_rejected_use_notify(api_key=revoked, now=t0 + timedelta(minutes=1))
    claimed_at = (t0 + timedelta(minutes=1)).isoformat()
    # A real SMTP attempt to a port where nothing listens: connection refused.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = 1
    settings.EMAIL_TIMEOUT = 2

    with pytest.raises(MAIL_DELIVERY_ERRORS):
        tasks.api_key_rejected_use_notice_send(old.api_key.pk, claimed_at)

    assert reload(old).rejected_use_notice_sent_at is None
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert tasks.api_key_rejected_use_notice_send(old.api_key.pk, claimed_at) is True
    assert len(mailoutbox) == 2


# --- Wiring: the SCIM middleware calls api_key_rejected_use_notify on each refused request ---


def test_scim_requests_with_a_revoked_key_queue_one_notice_a_day(
    admins, generated_key, admin_user, django_capture_on_commit_callbacks
):
    api_key_revoke(api_key=generated_key.api_key, revoked_by=admin_user)
    entra = Client(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")

    with django_capture_on_commit_callbacks() as callbacks:
        for _ in range(3):
            assert entra.get("/webhooks/ad/v1/scim/Users").status_code == 401

    assert len(callbacks) == 1
    assert reload(generated_key).rejected_use_notified_at is not None


def test_the_sweep_costs_two_indexed_queries_when_nothing_is_due(
    admins, rotated, django_assert_num_queries, t0
):
    old, _ = rotated
    api_key_grace_notice_send(api_key_id=old.api_key.pk, now=t0)

    with django_assert_num_queries(2):
        assert api_key_notices_send_due(now=t0 + timedelta(minutes=1)) == 0


@pytest.mark.django_db(transaction=True)
def test_racing_senders_send_the_grace_notice_once(entra_integration, admin_user, mailoutbox):
    # The on-commit task and a beat sweep on two workers, at the same moment.
    old = api_key_generate(integration=entra_integration, created_by=admin_user)
    api_key_generate(integration=entra_integration, created_by=admin_user)
    barrier = threading.Barrier(4)

    def send() -> bool:
        barrier.wait()
        try:
            return api_key_grace_notice_send(api_key_id=old.api_key.pk)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: send(), range(4)))

    assert sorted(results) == [False, False, False, True]
    assert len(mailoutbox) == 1
