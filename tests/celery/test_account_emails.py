"""Admin account emails travel through a real Celery worker on Redis: the invitation (its link
made by the worker), "Forgot your password?", and the one warning per window that someone is
guessing an account's password."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from qaportal.accounts.models import AccountAuditEvent, AdminInvitation
from qaportal.accounts.services.admins import admin_invitation_resend
from qaportal.accounts.throttles import account_delay_for
from tests.celery.conftest import wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def link_in(message) -> str:
    match = re.search(r"http://localhost:8000(/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_an_invitation_is_emailed_by_the_worker_and_a_re_send_kills_the_first_link(
    start_celery_worker, purge_queue, admin_client, admin_user, mailoutbox
):
    purge_queue()
    start_celery_worker()
    admin_client.post(reverse("integrations:admin_invite"), {"email": "new@contoso.com"})
    assert wait_for(lambda: len(mailoutbox) == 1)
    first_link = link_in(mailoutbox[0])
    assert mailoutbox[0].to == ["new@contoso.com"]
    assert Client().get(first_link, follow=True).status_code == 200

    invitation = AdminInvitation.objects.get()
    admin_invitation_resend(invitation=invitation, resent_by=admin_user)
    assert wait_for(lambda: len(mailoutbox) == 2)
    second_link = link_in(mailoutbox[1])
    assert second_link != first_link
    assert Client().get(first_link, follow=True).status_code == 404
    assert Client().get(second_link, follow=True).status_code == 200


def test_forgot_password_sends_one_email_for_an_account_and_none_otherwise(
    start_celery_worker, purge_queue, finished_tasks, client, admin_user, mailoutbox
):
    purge_queue()
    start_celery_worker()
    client.post(reverse("accounts:password_reset"), {"email": "nobody@contoso.com"})
    client.post(reverse("accounts:password_reset"), {"email": admin_user.email})
    assert wait_for(lambda: len(finished_tasks) == 2)
    assert [message.to for message in mailoutbox] == [[admin_user.email]]
    assert "Reset your QA Portal password" in mailoutbox[0].subject
    page = client.get(link_in(mailoutbox[0]), follow=True)
    assert "Choose a new password" in page.content.decode()


def test_the_owner_is_warned_once_per_window_that_their_password_is_being_guessed(
    start_celery_worker, purge_queue, finished_tasks, admin_user, mailoutbox
):
    purge_queue()
    start_celery_worker()
    clock = timezone.now()
    for number in range(settings.QA_ACCOUNT_GUESS_LIMIT + 3):
        clock += timedelta(seconds=account_delay_for(number) + 1)
        with time_machine.travel(clock, tick=False):
            response = Client().post(
                reverse("accounts:login"),
                {"username": admin_user.email, "password": "guess"},
                REMOTE_ADDR=f"198.51.100.{number + 1}",
            )
        assert response.status_code == 200
    assert wait_for(lambda: len(finished_tasks) == 1)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [admin_user.email]
    assert "Someone is trying to guess your QA Portal password" in message.subject
    assert "/password-reset/" in message.body
    event = AccountAuditEvent.objects.get()
    assert (event.action, event.subject_email) == ("sign_in_guessing", admin_user.email)
