"""The API key lifecycle: format, hash-only storage, rotation, revocation, expiry."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations import api_key_format
from integrations.exceptions import ApiKeyNotRevocable
from integrations.models import ApiKey, AuditEvent
from integrations.services import (
    KeyRejection,
    api_key_authenticate,
    api_key_expire,
    api_key_generate,
    api_key_revoke,
    api_keys_expire_due,
)
from tests.keys import authenticate_api_key

pytestmark = pytest.mark.django_db


def test_generated_key_has_the_documented_format_and_only_its_digest_is_stored(generated_key):
    plaintext = generated_key.plaintext
    assert api_key_format.KEY_PATTERN.match(plaintext)
    assert plaintext.startswith(f"qa_scim_{generated_key.api_key.public_id}_")
    stored = ApiKey.objects.get(pk=generated_key.api_key.pk)
    assert stored.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert stored.last4 == plaintext[-4:]
    assert plaintext not in repr(generated_key)
    stored_values = [
        str(value) for value in ApiKey.objects.filter(pk=stored.pk).values().get().values()
    ]
    assert plaintext not in stored_values


def test_a_key_with_a_wrong_checksum_is_malformed_without_a_query(
    generated_key, django_assert_num_queries
):
    tampered = generated_key.plaintext[:-1] + ("A" if generated_key.plaintext[-1] != "A" else "B")
    with django_assert_num_queries(0):
        result = api_key_authenticate(raw=tampered)
    assert result.rejection == KeyRejection.MALFORMED


def test_active_key_authenticates_and_records_last_use_at_most_once_a_minute(
    generated_key, django_assert_num_queries
):
    now = timezone.now()
    with django_assert_num_queries(2):  # lookup + last_used_at update
        assert authenticate_api_key(generated_key.plaintext, now=now) == generated_key.api_key
    with django_assert_num_queries(0):  # the row read a moment ago; nothing to write
        assert authenticate_api_key(generated_key.plaintext, now=now + timedelta(seconds=30))
    generated_key.api_key.refresh_from_db()
    assert generated_key.api_key.last_used_at == now
    with django_assert_num_queries(1):  # a minute later: last_used_at again
        assert authenticate_api_key(generated_key.plaintext, now=now + timedelta(seconds=61))


def test_unknown_key_with_valid_checksum_is_refused():
    unknown = api_key_format.build_key(api_key_format.new_public_id())
    assert api_key_authenticate(raw=unknown).rejection == KeyRejection.UNKNOWN


def test_generating_a_new_key_starts_the_old_keys_grace_period(
    entra_integration, admin_user, generated_key, settings
):
    now = timezone.now()
    newer = api_key_generate(integration=entra_integration, created_by=admin_user, now=now)
    old = ApiKey.objects.get(pk=generated_key.api_key.pk)
    assert old.status == ApiKey.Status.EXPIRING
    assert old.expires_at == now + settings.QA_KEY_GRACE_PERIOD
    assert timedelta(hours=8) == settings.QA_KEY_GRACE_PERIOD
    # Both keys work during the grace period.
    assert authenticate_api_key(generated_key.plaintext, now=now + timedelta(hours=7))
    assert authenticate_api_key(newer.plaintext, now=now + timedelta(hours=7))


def test_generating_again_never_extends_an_earlier_deadline(
    entra_integration, admin_user, generated_key
):
    start = timezone.now()
    api_key_generate(integration=entra_integration, created_by=admin_user, now=start)
    api_key_generate(
        integration=entra_integration, created_by=admin_user, now=start + timedelta(hours=2)
    )
    first = ApiKey.objects.get(pk=generated_key.api_key.pk)
    assert first.expires_at == start + timedelta(hours=8)
    assert (
        ApiKey.objects.filter(integration=entra_integration, expires_at__isnull=True).count() == 1
    )


def test_expired_key_is_rejected_by_the_clock_without_a_worker(
    entra_integration, admin_user, generated_key
):
    now = timezone.now()
    api_key_generate(integration=entra_integration, created_by=admin_user, now=now)
    deadline = now + timedelta(hours=8)
    assert ApiKey.objects.get(pk=generated_key.api_key.pk).status == ApiKey.Status.EXPIRING
    result = api_key_authenticate(raw=generated_key.plaintext, now=deadline)
    assert result.rejection == KeyRejection.EXPIRED
    assert result.api_key == generated_key.api_key  # known, so the request can be logged


def test_revoked_key_is_refused_at_once_and_audited(generated_key, admin_user):
    api_key_revoke(api_key=generated_key.api_key, revoked_by=admin_user, ip_address="203.0.113.9")
    assert api_key_authenticate(raw=generated_key.plaintext).rejection == KeyRejection.REVOKED
    event = AuditEvent.objects.get(action=AuditEvent.Action.KEY_REVOKED)
    assert (event.actor, event.ip_address) == (admin_user, "203.0.113.9")
    assert event.key_prefix == generated_key.api_key.prefix
    with pytest.raises(ApiKeyNotRevocable):
        api_key_revoke(api_key=generated_key.api_key, revoked_by=admin_user)


def test_expiry_is_recorded_once_and_audited(entra_integration, admin_user, generated_key):
    now = timezone.now()
    api_key_generate(integration=entra_integration, created_by=admin_user, now=now)
    assert not api_key_expire(api_key_id=generated_key.api_key.pk, now=now)  # not yet due
    later = now + timedelta(hours=8, seconds=1)
    assert api_keys_expire_due(now=later) == 1
    assert api_keys_expire_due(now=later) == 0
    assert not api_key_expire(api_key_id=generated_key.api_key.pk, now=later)
    assert ApiKey.objects.get(pk=generated_key.api_key.pk).status == ApiKey.Status.EXPIRED
    assert AuditEvent.objects.filter(action=AuditEvent.Action.KEY_EXPIRED).count() == 1


def test_every_generation_writes_an_audit_event(entra_integration, admin_user, generated_key):
    api_key_generate(integration=entra_integration, created_by=admin_user, ip_address="::1")
    events = AuditEvent.objects.filter(action=AuditEvent.Action.KEY_GENERATED).order_by("id")
    assert [event.actor for event in events] == [admin_user, admin_user]
    assert events.last().detail["superseded"] == [generated_key.api_key.prefix]
