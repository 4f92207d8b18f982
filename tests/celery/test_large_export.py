"""A 500,000-row activity export, written by a real Celery worker on Redis.

The web request only queues the job and answers at once (no worker is even running when it
answers); the worker writes the whole file; only the company's admins can download it.
"""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.exports.activity import EXPORT_HEADER
from integrations.exports.services import export_job_start, export_jobs_sweep
from integrations.models import AuditEvent, ExportJob, ProvisioningEvent
from tests.celery.conftest import wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

EXPORT_URL = reverse("integrations:provisioning_activity_export", kwargs={"provider": "entra-id"})
ROWS = 500_000


@pytest.fixture
def export_dir(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "exports")},
        },
    }
    return tmp_path / "exports"


def insert_activity(company, count: int) -> None:
    """`count` rows in one INSERT ... SELECT (PostgreSQL), one second apart, newest first."""
    assert connection.vendor == "postgresql", "the volume test runs on PostgreSQL"
    table = ProvisioningEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (company_id, api_key_id, method, path, operation,
                resource_type, resource_id, resource_name, status_code, outcome, scim_type,
                detail, duration_ms, created_at)
            SELECT %s, NULL, 'POST', '/webhooks/ad/v1/scim/Users', 'create_user', 'User',
                n::text, 'user' || n || '@contoso.com', 201, 'success', '', '', n %% 50,
                %s - n * interval '1 second'
            FROM generate_series(1, %s) AS n
            """,  # noqa: S608 - the table name comes from the model
            [company.pk, timezone.now(), count],
        )


def download_line_count(client: Client, url: str) -> tuple[int, bytes]:
    response = client.get(url)
    assert response.status_code == 200
    lines, head = 0, b""
    for chunk in response.streaming_content:
        if len(head) < 4096:
            head += chunk[:4096]
        lines += chunk.count(b"\n")  # rows end in \r\n, which a chunk may split
    return lines, head


def test_a_500000_row_export_is_written_by_a_worker_and_downloaded_by_its_company_only(
    start_celery_worker,
    purge_queue,
    export_dir,
    company,
    other_company,
    admin_user,
    other_admin_user,
):
    insert_activity(company, ROWS)
    insert_activity(other_company, 10)
    client = Client()
    client.force_login(admin_user)
    purge_queue()

    offer = client.get(EXPORT_URL)
    assert "More than 10,000 rows" in offer.content.decode()
    started = time.monotonic()
    response = client.post(EXPORT_URL)
    answered_in = time.monotonic() - started
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert response["Location"] == reverse(
        "integrations:export_job_detail", kwargs={"job_id": job.pk}
    )
    # Answered before any worker existed: the request only queued the job.
    assert answered_in < 5
    assert job.status == ExportJob.Status.QUEUED

    start_celery_worker()
    assert wait_for(lambda: ExportJob.objects.get().status == "done", timeout=120)
    job.refresh_from_db()
    assert (job.total_rows, job.rows_written) == (ROWS, ROWS)

    download = reverse("integrations:export_job_download", kwargs={"job_id": job.pk})
    lines, head = download_line_count(client, download)
    assert lines == ROWS + 1  # the header and every row
    text = head.decode("utf-8", errors="ignore")
    assert text.startswith("\ufeff" + ",".join(EXPORT_HEADER))
    assert "Created person user1@contoso.com" in text.splitlines()[1]

    stranger = Client()
    stranger.force_login(other_admin_user)
    for name in ("export_job_detail", "export_job_progress", "export_job_download"):
        url = reverse(f"integrations:{name}", kwargs={"job_id": job.pk})
        assert stranger.get(url).status_code == 404

    actions = list(
        AuditEvent.objects.filter(company=company).order_by("id").values_list("action", "actor")
    )
    assert actions == [
        (AuditEvent.Action.EXPORT_REQUESTED, admin_user.pk),
        (AuditEvent.Action.EXPORT_DOWNLOADED, admin_user.pk),
    ]
    assert not AuditEvent.objects.filter(company=other_company).exists()


def test_a_job_whose_message_was_lost_is_finished_after_the_sweep_sends_it_again(
    start_celery_worker, purge_queue, export_dir, company, admin_user
):
    insert_activity(company, 50)
    job = export_job_start(
        company=company,
        kind="provisioning_activity",
        params={},
        requested_by=admin_user,
        now=timezone.now() - timedelta(minutes=10),
    )
    purge_queue()  # the message is lost (transaction=True tests run on_commit at once)
    start_celery_worker()

    sweep = export_jobs_sweep()
    assert sweep.requeued == 1
    assert wait_for(lambda: ExportJob.objects.get(pk=job.pk).status == "done")
    assert ExportJob.objects.get(pk=job.pk).rows_written == 50
