"""A key's plaintext is shown once and stored, logged, mailed or displayed nowhere else; the
hash comparison is constant-time."""

import contextlib
import hmac
import io
import json
import logging
import re
import sys
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.views.debug import ExceptionReporter

from integrations import api_key_format
from integrations.models import ApiKey, AuditEvent, Integration, ProvisioningEvent
from integrations.notifications import (
    api_key_final_notice_send,
    api_key_grace_notice_send,
    api_key_rejected_use_notice_send,
)
from integrations.services import api_key_authenticate, key_digest
from tests.conftest import ADMIN_PASSWORD
from tests.scim.conftest import BASE, ScimClient

pytestmark = pytest.mark.django_db

KEY_RE = re.compile(r"qa_scim_[0-9A-Za-z]{8}_[0-9A-Za-z]{36}")
ENTRA = {"provider": "entra-id"}


def secret_parts(plaintext: str) -> list[str]:
    """What must never leak: the key, and its random part without the displayed last four."""
    secret = plaintext.rsplit("_", 1)[1]
    return [plaintext, secret[:-4]]


def leaks(text: str, plaintexts: list[str]) -> list[str]:
    return [part for key in plaintexts for part in secret_parts(key) if part in text]


@pytest.fixture
def every_log_record(caplog):
    """caplog at DEBUG on every logger, SQL statements included."""
    caplog.set_level(logging.DEBUG)
    detached = []
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
        logger = logging.getLogger(name)
        if not logger.propagate:
            logger.addHandler(caplog.handler)
            detached.append(logger)
    connection.force_debug_cursor = True
    yield caplog
    connection.force_debug_cursor = False
    for logger in detached:
        logger.removeHandler(caplog.handler)


def log_lines(caplog) -> list[str]:
    lines = [caplog.text]
    for record in caplog.records:
        lines.append(record.getMessage())
        lines.append(repr(record.__dict__))
    return lines


def stored_values() -> list[tuple[str, str]]:
    """Every value of every row of every table, as (table, text); sessions decoded."""
    values = []
    for model in apps.get_models(include_auto_created=True):
        fields = [field.attname for field in model._meta.concrete_fields]
        for row in model._base_manager.values_list(*fields):
            for value in row:
                text = json.dumps(value) if isinstance(value, dict | list) else str(value)
                values.append((model._meta.db_table, text))
    for session in Session.objects.all():
        decoded = SessionStore().decode(session.session_data)
        values.append(("django_session (decoded)", json.dumps(decoded, default=str)))
    return values


def admin_pages(client: Client) -> dict[str, str]:
    urls = [reverse("admin:index")]
    for model in (ApiKey, AuditEvent, ProvisioningEvent, Integration):
        meta = model._meta
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        for pk in model.objects.values_list("pk", flat=True):
            urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[pk]))
    company_admin = reverse("admin:accounts_company_changelist")
    urls.append(company_admin)
    pages = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        pages[url] = response.content.decode()
    return pages


def test_the_key_is_never_logged_stored_mailed_or_shown_again(
    client, admin_user, company, django_user_model, every_log_record
):
    responses: dict[str, str] = {}

    # 1. The portal's button: the one response that may show the key.
    client.post(
        reverse("accounts:login"), {"username": admin_user.email, "password": ADMIN_PASSWORD}
    )
    revealed = client.post(reverse("integrations:api_key_generate", kwargs=ENTRA))
    [portal_key] = set(KEY_RE.findall(revealed.content.decode()))

    # 2. The admin API: the key once, in the JSON answer to the generating POST.
    api_answer = client.post(reverse("api:api_key_generate", kwargs=ENTRA))
    assert api_answer.status_code == 201
    api_key = api_answer.json()["secret_token"]
    assert KEY_RE.fullmatch(api_key)

    # 3. The staff command: the key alone on stdout, nothing on stderr.
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("generate_api_key", company.slug, stdout=stdout, stderr=stderr)
    command_key = stdout.getvalue().strip().splitlines()[-1]
    assert KEY_RE.fullmatch(command_key)
    responses["generate_api_key stderr"] = stderr.getvalue()
    keys = [portal_key, api_key, command_key]
    old_key = ApiKey.objects.get(public_id=portal_key.split("_")[2])

    # 4. SCIM with the current key, a tampered one, and (below) the revoked one.
    entra = ScimClient(HTTP_AUTHORIZATION=f"Bearer {command_key}")
    for name, response in {
        "scim list": entra.get(f"{BASE}/Users"),
        "scim create": entra.post_json(
            f"{BASE}/Users",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "alice@contoso.com",
                "active": True,
            },
        ),
        "scim tampered": Client(HTTP_AUTHORIZATION=f"Bearer {command_key[:-1]}X").get(
            f"{BASE}/Users"
        ),
    }.items():
        responses[name] = response.content.decode()
    assert entra.get(f"{BASE}/Users").status_code == 200

    # 5. The emails about the old key: grace period, expiring soon, still in use after revoke.
    assert api_key_grace_notice_send(api_key_id=old_key.pk)
    old_key.refresh_from_db()
    assert api_key_final_notice_send(
        api_key_id=old_key.pk, now=old_key.expires_at - timedelta(minutes=30)
    )
    revoke = client.post(
        reverse("integrations:api_key_revoke", kwargs={**ENTRA, "key_id": old_key.pk}),
        follow=True,
    )
    responses["revoke"] = revoke.content.decode()
    rejected = ScimClient(HTTP_AUTHORIZATION=f"Bearer {portal_key}").get(f"{BASE}/Users")
    assert rejected.status_code == 401
    responses["scim revoked"] = rejected.content.decode()
    assert api_key_rejected_use_notice_send(api_key_id=old_key.pk)

    # 6. Every page an admin sees afterwards, and the CSV export.
    for name in ("integration_detail", "provisioning_activity", "audit_trail"):
        responses[name] = client.get(reverse(f"integrations:{name}", kwargs=ENTRA)).content.decode()
    export = client.get(reverse("integrations:provisioning_activity_export", kwargs=ENTRA))
    responses["export"] = b"".join(export.streaming_content).decode()

    # 7. Django admin, as a superuser.
    staff = Client()
    staff.force_login(
        django_user_model.objects.create_superuser(email="ops@qa.example", password="x")
    )
    admin = admin_pages(staff)

    # The searches below do see what they search: the SQL, the SCIM rows, the key rows.
    stored = stored_values()
    assert any(record.name == "django.db.backends" for record in every_log_record.records)
    assert any("alice@contoso.com" in text for table, text in stored)
    assert (ApiKey._meta.db_table, key_digest(command_key)) in stored
    assert len(mail.outbox) == 3
    assert all(old_key.prefix in message.body for message in mail.outbox)
    assert len(admin) > 8

    # The plaintext was in the generating responses and on the command's stdout only.
    assert ProvisioningEvent.objects.filter(status_code=401).exists()
    for name, text in responses.items():
        assert leaks(text, keys) == [], name
    for line in log_lines(every_log_record):
        assert leaks(line, keys) == []
    assert "SELECT" in every_log_record.text  # the SQL statements were captured
    for table, text in stored:
        assert leaks(text, keys) == [], table
    for message in mail.outbox:
        text = "\n".join(
            [message.subject, message.body, *map(str, getattr(message, "alternatives", []))]
        )
        assert leaks(text, keys) == [], message.subject
    for url, html in admin.items():
        assert leaks(html, keys) == [], url
        # Nor the stored digest: staff see the prefix, status and dates only.
        for key in keys:
            assert key_digest(key) not in html, url


def test_the_digest_is_compared_in_constant_time(monkeypatch, generated_key):
    calls = []
    real_compare_digest = hmac.compare_digest

    def recording_compare_digest(a, b):
        calls.append((a, b))
        return real_compare_digest(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording_compare_digest)
    stored = generated_key.api_key.key_hash

    assert api_key_authenticate(raw=generated_key.plaintext).is_accepted
    assert calls == [(stored, key_digest(generated_key.plaintext))]

    # A well-formed key (valid checksum) with the same public id and another secret: its
    # digest is compared with compare_digest too, and it is refused.
    calls.clear()
    forged = api_key_format.build_key(generated_key.api_key.public_id)
    assert not api_key_authenticate(raw=forged).is_accepted
    assert calls == [(stored, key_digest(forged))]


def test_an_error_report_while_checking_a_key_does_not_show_it(rf, generated_key):
    """Django's error page and error emails list each frame's variables; the key must be
    filtered out of all of them (@sensitive_variables)."""
    request = rf.get(f"{BASE}/Users", HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")
    try:
        with transaction.atomic():
            with connection.cursor() as cursor, contextlib.suppress(DatabaseError):
                cursor.execute("SELECT no_such_column FROM integrations_apikey")
            # The transaction is broken: the key lookup raises with the key in scope.
            api_key_authenticate(raw=generated_key.plaintext)
    except DatabaseError:
        report = ExceptionReporter(request, *sys.exc_info())
        text = report.get_traceback_text() + report.get_traceback_html()
    else:  # pragma: no cover
        pytest.fail("the key lookup did not fail")
    assert "api_key_authenticate" in text
    assert leaks(text.replace("&#x27;", "'"), [generated_key.plaintext]) == []
