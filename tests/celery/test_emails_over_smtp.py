"""Key emails leave through Django's SMTP backend: a real worker sends them to an SMTP server.

The SMTP server is aiosmtpd on a free port of 127.0.0.1, keeping what it receives; the rest of
the key-email rules are in tests/integrations/test_notifications.py and test_expiry_emails.py.
"""

from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from integrations.services import api_key_generate
from tests.celery.conftest import wait_for
from tests.factories import CompanyAdminFactory
from tests.servers import free_port

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

SENDER = "noreply@portal.qa.example"


class Inbox:
    """aiosmtpd's handler: keeps every message it accepts, with its envelope."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's
        self.received.append(
            (
                envelope.mail_from,
                list(envelope.rcpt_tos),
                message_from_bytes(envelope.content, policy=policy.default),
            )
        )
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings) -> Iterator[Inbox]:
    """A local SMTP server, and Django's SMTP backend pointed at it."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.DEFAULT_FROM_EMAIL = f"QA Portal <{SENDER}>"
    try:
        yield inbox
    finally:
        controller.stop()


def test_rotation_emails_each_admin_through_the_smtp_server(
    smtp_server, start_celery_worker, purge_queue, entra_integration, admin_user, mailoutbox
):
    CompanyAdminFactory(company=entra_integration.company, email="second.admin@contoso.com")
    old = api_key_generate(integration=entra_integration, created_by=admin_user)
    purge_queue()
    start_celery_worker()

    new = api_key_generate(integration=entra_integration, created_by=admin_user)

    assert wait_for(lambda: len(smtp_server.received) == 2)
    assert sorted(rcpt for _, (rcpt,), _ in smtp_server.received) == [
        "admin@contoso.com",
        "second.admin@contoso.com",
    ]
    for mail_from, _, message in smtp_server.received:
        assert mail_from == SENDER
        assert message["From"] == f"QA Portal <{SENDER}>"
        assert old.api_key.masked in message["Subject"]
        body = message.get_content()
        assert old.api_key.masked in body
        assert old.plaintext not in body and new.plaintext not in body
    assert mailoutbox == []  # nothing went to the test outbox: it all went over SMTP
