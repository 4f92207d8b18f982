"""Concurrent key generation leaves one current key and never extends a deadline.
Real threads, each with its own PostgreSQL connection, started together."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from integrations.models import ApiKey, AuditEvent
from integrations.services import GeneratedApiKey, api_key_authenticate, api_key_generate

THREADS = 8


def generate_together(*, integration, created_by, threads: int) -> list[GeneratedApiKey]:
    """Run `threads` generations at once; each thread opens and closes its own connection."""
    barrier = threading.Barrier(threads)
    generated: list[GeneratedApiKey] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            generated.append(api_key_generate(integration=integration, created_by=created_by))
        except BaseException as error:  # reported below, with the thread's traceback
            errors.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not any(worker.is_alive() for worker in workers), "a generation hung"
    assert errors == []
    return generated


@pytest.mark.django_db(transaction=True)
def test_concurrent_generation_leaves_one_current_key_and_never_extends_a_deadline(
    entra_integration, admin_user
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: concurrent writers and row locks")
    grace = settings.QA_KEY_GRACE_PERIOD
    started = timezone.now()
    # Before the race: one key already in its grace period (deadline 7 h away) and a current
    # key, which the race supersedes.
    oldest = api_key_generate(
        integration=entra_integration, created_by=admin_user, now=started - timedelta(hours=2)
    )
    current = api_key_generate(
        integration=entra_integration, created_by=admin_user, now=started - timedelta(hours=1)
    )
    oldest_deadline = ApiKey.objects.get(pk=oldest.api_key.pk).expires_at
    assert oldest_deadline == started + grace - timedelta(hours=1)

    raced = generate_together(integration=entra_integration, created_by=admin_user, threads=THREADS)
    finished = timezone.now()
    assert len(raced) == THREADS

    keys = {key.pk: key for key in ApiKey.objects.filter(integration=entra_integration)}
    assert len(keys) == THREADS + 2

    # Exactly one current key, and it is one of the keys of the race.
    current_keys = [key for key in keys.values() if key.expires_at is None]
    assert len(current_keys) == 1
    assert current_keys[0].pk in {generated.api_key.pk for generated in raced}

    # The key that was already expiring kept its deadline.
    assert keys[oldest.api_key.pk].expires_at == oldest_deadline

    # Every other key is expiring with a deadline from one of the race's generations: never
    # later than the last one could give.
    for key in keys.values():
        if key.pk in (oldest.api_key.pk, current_keys[0].pk):
            continue
        assert key.status == ApiKey.Status.EXPIRING
        assert started + grace <= key.expires_at <= finished + grace

    # Each superseded key was given its deadline once, by one generation, and still holds it.
    generated_events = AuditEvent.objects.filter(action=AuditEvent.Action.KEY_GENERATED)
    assert generated_events.count() == THREADS + 2
    superseded_by: dict[str, list[str]] = {}
    for event in generated_events:
        for prefix in event.detail.get("superseded", []):
            superseded_by.setdefault(prefix, []).append(event.detail["expires_at"])
    for key in keys.values():
        if key.pk == current_keys[0].pk:
            assert key.prefix not in superseded_by
        else:
            assert superseded_by[key.prefix] == [key.expires_at.isoformat()]

    # All keys still authenticate: the race cut nobody's grace period short.
    for generated in [oldest, current, *raced]:
        assert api_key_authenticate(raw=generated.plaintext).is_accepted


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_keys_of_a_new_integration_leave_one_current_key(
    entra_integration, admin_user
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: concurrent writers and row locks")
    generate_together(integration=entra_integration, created_by=admin_user, threads=THREADS)
    keys = ApiKey.objects.filter(integration=entra_integration)
    assert keys.count() == THREADS
    assert keys.filter(expires_at__isnull=True, revoked_at__isnull=True).count() == 1
    assert keys.filter(status=ApiKey.Status.EXPIRING).count() == THREADS - 1
