"""Most SCIM requests authenticate without a query, yet a key revoked anywhere is refused
everywhere within QA_KEY_CACHE_SECONDS (one second by default)."""

import time

import pytest
from django.db import connections

from integrations.models import ApiKey
from integrations.services import api_key_revoke
from tests.scim.conftest import BASE, ScimClient
from tests.servers import wait_until

CONFIG = f"{BASE}/ServiceProviderConfig"


def test_a_key_read_a_moment_ago_costs_no_query(scim_client, django_assert_num_queries):
    scim_client.get(CONFIG)  # reads the key, writes its last_used_at, logs the request
    with django_assert_num_queries(1):  # the activity row only
        assert scim_client.get(CONFIG).status_code == 200


def test_a_key_revoked_in_this_process_is_refused_at_once(generated_key, admin_user):
    client = ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")
    assert client.get(CONFIG).status_code == 200
    api_key_revoke(api_key=generated_key.api_key, revoked_by=admin_user)
    assert client.get(CONFIG).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_key_revoked_by_another_process_is_refused_within_a_second(generated_key, settings):
    """Another process (here: another connection, committing on its own) revokes the key; this
    process trusts the row it read for at most QA_KEY_CACHE_SECONDS."""
    client = ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")
    assert client.get(CONFIG).status_code == 200
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "UPDATE integrations_apikey SET revoked_at = now(), status = %s WHERE id = %s",
                [ApiKey.Status.REVOKED, generated_key.api_key.pk],
            )
    finally:
        other.close()
    revoked_at = time.monotonic()
    assert wait_until(lambda: client.get(CONFIG).status_code == 401, timeout=5)
    assert time.monotonic() - revoked_at <= settings.QA_KEY_CACHE_SECONDS + 0.5
