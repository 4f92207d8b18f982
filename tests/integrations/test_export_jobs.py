"""Large CSV exports become background jobs: offered, started, audited, private, expiring.

These tests call the job's service directly where a worker would run it; the real worker and a
500,000-row log are in tests/celery/test_large_export.py.
"""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from integrations.exports.activity import EXPORT_HEADER
from integrations.exports.kinds import ExportKind, export_kind_get, export_kind_register
from integrations.exports.services import (
    MAX_ATTEMPTS,
    ExportLimitReached,
    export_job_run,
    export_job_start,
    export_jobs_sweep,
    export_storage,
)
from integrations.models import AuditEvent, ExportJob, ProvisioningEvent
from tests.celery.conftest import unreachable_broker  # noqa: F401 - a fixture
from tests.factories import CompanyAdminFactory, LearnerFactory
from tests.integrations.test_activity_page import bulk_events

pytestmark = pytest.mark.django_db

EXPORT_URL = reverse("integrations:provisioning_activity_export", kwargs={"provider": "entra-id"})
Outcome = ProvisioningEvent.Outcome


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    """Prepared files go to a folder of this test."""
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "exports")},
        },
    }
    return tmp_path / "exports"


@pytest.fixture
def small_limit(settings):
    """Exports over 5 rows are "large" here, so a handful of rows exercises the job."""
    settings.QA_EXPORT_IMMEDIATE_MAX_ROWS = 5


def job_url(name: str, job: ExportJob) -> str:
    return reverse(f"integrations:{name}", kwargs={"job_id": job.pk})


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_up_to_the_limit_the_export_streams_at_once_and_is_audited(
    admin_client, company, small_limit
):
    bulk_events(company, 5)
    response = admin_client.get(f"{EXPORT_URL}?outcome=success")
    assert response.streaming
    assert len(csv_rows(response)) == 6
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT_DOWNLOADED)
    assert event.detail == {
        "export": "Provisioning activity",
        "kind": "provisioning_activity",
        "filter": {"outcome": "success"},
        "rows": 5,
        "job": None,
    }
    assert ExportJob.objects.count() == 0


def test_over_the_limit_the_export_is_offered_as_a_background_job(
    admin_client, company, small_limit
):
    bulk_events(company, 6)
    response = admin_client.get(f"{EXPORT_URL}?outcome=success")
    assert response.status_code == 200
    html = response.content.decode()
    assert "More than 5 rows" in html
    assert f'<form method="post" action="{EXPORT_URL}?outcome=success">' in html
    assert "Outcome: <strong>success</strong>" in html
    assert ExportJob.objects.count() == 0  # a GET starts nothing
    assert not AuditEvent.objects.exists()


def test_posting_starts_one_audited_job_and_shows_its_status(
    admin_client, admin_user, company, small_limit
):
    bulk_events(company, 6)
    response = admin_client.post(f"{EXPORT_URL}?outcome=success&q=user00001%40contoso.com")
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == job_url("export_job_detail", job)
    assert (job.status, job.kind, job.requested_by) == (
        "queued",
        "provisioning_activity",
        admin_user,
    )
    assert job.params == {
        "outcome": "success",
        "operation": "",
        "resource_type": "",
        "search": "user00001@contoso.com",
        "show": "",
        "since": "",
        "until": "",
    }
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT_REQUESTED)
    assert (event.actor, event.ip_address) == (admin_user, "127.0.0.1")
    assert event.detail["filter"] == {"outcome": "success", "search": "user00001@contoso.com"}
    assert event.detail["job"] == job.pk

    page = admin_client.get(response["Location"]).content.decode()
    assert "Waiting for a worker." in page
    assert 'data-export-progress="' in page
    assert '<script src="/static/js/export-progress.js" defer></script>' in page

    # The same export again is the same job, not a second one.
    again = admin_client.post(f"{EXPORT_URL}?outcome=success&q=user00001%40contoso.com")
    assert again["Location"] == job_url("export_job_detail", job)
    assert ExportJob.objects.count() == 1


def test_a_company_has_a_bounded_number_of_exports_in_preparation(
    admin_client, admin_user, company, settings, small_limit
):
    settings.QA_EXPORT_MAX_PENDING = 2
    bulk_events(company, 6)
    for outcome in ("success", "failed"):
        export_job_start(
            company=company,
            kind="provisioning_activity",
            params={"outcome": outcome},
            requested_by=admin_user,
        )
    with pytest.raises(ExportLimitReached):
        export_job_start(
            company=company, kind="provisioning_activity", params={}, requested_by=admin_user
        )
    response = admin_client.post(EXPORT_URL, follow=True)
    assert "already has several exports being prepared" in response.content.decode()
    assert ExportJob.objects.count() == 2


def test_the_job_writes_the_same_csv_the_stream_would(admin_client, admin_user, company):
    bulk_events(company, 30, outcome=Outcome.FAILED, status_code=409, detail="=cmd|'/C calc'!A0")
    streamed = csv_rows(admin_client.get(EXPORT_URL))

    job = export_job_start(
        company=company, kind="provisioning_activity", params={}, requested_by=admin_user
    )
    assert export_job_run(job_id=job.pk) is True
    job.refresh_from_db()
    assert (job.status, job.rows_written, job.total_rows) == ("done", 30, 30)
    assert job.expires_at > timezone.now() + timedelta(hours=23)

    downloaded = admin_client.get(job_url("export_job_download", job))
    assert downloaded["Content-Type"] == "text/csv; charset=utf-8"
    assert downloaded["Cache-Control"] == "no-store"
    assert downloaded["Content-Disposition"].startswith(
        'attachment; filename="provisioning-activity-'
    )
    assert csv_rows(downloaded) == streamed
    assert streamed[0] == EXPORT_HEADER
    assert streamed[1][9] == "'=cmd|'/C calc'!A0"  # formulas neutralised in both
    event = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT_DOWNLOADED).latest("id")
    assert (event.actor, event.detail["job"], event.detail["rows"]) == (admin_user, job.pk, 30)


def test_another_companys_admin_gets_a_404_for_every_export_page(
    client, admin_user, company, other_admin_user
):
    bulk_events(company, 3)
    job = export_job_start(
        company=company, kind="provisioning_activity", params={}, requested_by=admin_user
    )
    export_job_run(job_id=job.pk)
    client.force_login(other_admin_user)
    for name in ("export_job_detail", "export_job_progress", "export_job_download"):
        assert client.get(job_url(name, job)).status_code == 404, name
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT_DOWNLOADED).exists()


def test_only_company_admins_reach_export_pages(client, admin_user, company):
    job = export_job_start(
        company=company, kind="provisioning_activity", params={}, requested_by=admin_user
    )
    response = client.get(job_url("export_job_download", job))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    client.force_login(LearnerFactory(company=company))
    assert client.get(job_url("export_job_detail", job)).status_code == 403


def test_every_admin_of_the_company_can_download_and_the_progress_is_json(
    client, admin_user, company
):
    bulk_events(company, 3)
    job = export_job_start(
        company=company, kind="provisioning_activity", params={}, requested_by=admin_user
    )
    client.force_login(CompanyAdminFactory(company=company))
    progress = client.get(job_url("export_job_progress", job))
    assert progress.json() == {
        "status": "queued",
        "status_label": "Waiting for a worker",
        "rows_written": 0,
        "total_rows": None,
        "is_pending": True,
    }
    assert client.get(job_url("export_job_download", job)).status_code == 404  # not ready
    export_job_run(job_id=job.pk)
    assert client.get(job_url("export_job_progress", job)).json()["is_pending"] is False
    page = client.get(job_url("export_job_detail", job)).content.decode()
    assert "Ready: 3 rows" in page
    assert len(csv_rows(client.get(job_url("export_job_download", job)))) == 4


def test_a_prepared_export_expires_and_the_sweep_deletes_file_and_job(
    admin_client, admin_user, company, export_dir
):
    bulk_events(company, 3)
    job = export_job_start(
        company=company, kind="provisioning_activity", params={}, requested_by=admin_user
    )
    export_job_run(job_id=job.pk)
    job.refresh_from_db()
    path = export_dir / job.file_name
    assert path.is_file()
    assert job.expires_at - job.finished_at == timedelta(hours=24)
    # Expiring in a minute, so that the admin's session (12 hours) is still valid then.
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() + timedelta(minutes=1))
    job.refresh_from_db()

    with time_machine.travel(job.expires_at + timedelta(seconds=1), tick=False):
        # Refused by the clock, before any sweep ran.
        assert admin_client.get(job_url("export_job_download", job)).status_code == 404
        assert (
            "This export has expired"
            in admin_client.get(job_url("export_job_detail", job)).content.decode()
        )
        assert export_jobs_sweep().deleted == 1
    assert not path.exists()
    assert not ExportJob.objects.exists()
    assert admin_client.get(job_url("export_job_detail", job)).status_code == 404


@pytest.mark.usefixtures("unreachable_broker")
def test_the_sweep_sends_lost_and_abandoned_jobs_again_and_gives_up_after_a_few_tries(
    admin_user, company
):
    """With the broker down too, the jobs wait, queued, for the next sweep (the worker side
    is in tests/celery/test_large_export.py)."""
    now = timezone.now()
    lost = export_job_start(
        company=company,
        kind="provisioning_activity",
        params={"outcome": "failed"},
        requested_by=admin_user,
        now=now - timedelta(minutes=10),
    )
    abandoned = export_job_start(
        company=company,
        kind="provisioning_activity",
        params={"outcome": "success"},
        requested_by=admin_user,
    )
    ExportJob.objects.filter(pk=abandoned.pk).update(
        status="running", attempts=1, heartbeat_at=now - timedelta(minutes=6)
    )
    worn_out = export_job_start(
        company=company, kind="provisioning_activity", params={}, requested_by=admin_user
    )
    ExportJob.objects.filter(pk=worn_out.pk).update(
        status="running", attempts=MAX_ATTEMPTS, heartbeat_at=now - timedelta(minutes=6)
    )
    sweep = export_jobs_sweep(now=now)
    assert (sweep.failed, sweep.requeued) == (1, 2)
    states = dict(ExportJob.objects.values_list("pk", "status"))
    assert states == {lost.pk: "queued", abandoned.pk: "queued", worn_out.pk: "failed"}
    # A job queued again waits QA_EXPORT_STALE_AFTER before the next try.
    assert export_jobs_sweep(now=now + timedelta(minutes=1)).failed == 0
    assert ExportJob.objects.get(pk=lost.pk).heartbeat_at == now
    # And runs when a worker gets it.
    assert export_job_run(job_id=abandoned.pk) is True
    assert ExportJob.objects.get(pk=abandoned.pk).attempts == 2


def test_a_run_claims_the_job_so_a_duplicate_message_writes_nothing(admin_user, company):
    bulk_events(company, 3)
    job = export_job_start(
        company=company, kind="provisioning_activity", params={}, requested_by=admin_user
    )
    assert export_job_run(job_id=job.pk) is True
    assert export_job_run(job_id=job.pk) is False  # done: nothing to do
    job.refresh_from_db()
    assert job.attempts == 1
    assert len(list(export_storage().listdir(str(company.pk))[1])) == 1


def test_a_failing_export_is_marked_failed_with_no_file(admin_user, company, admin_client):
    def broken_rows(*, company, params):
        yield ["ok"]
        raise RuntimeError("the database went away")

    export_kind_register(
        ExportKind(
            name="broken",
            label="Broken",
            filename_prefix="broken",
            header=["Cell"],
            rows=broken_rows,
            count=lambda *, company, params, limit: 2,
            page_url=lambda params: "/",
        )
    )
    job = export_job_start(company=company, kind="broken", params={}, requested_by=admin_user)
    assert export_job_run(job_id=job.pk) is False
    job.refresh_from_db()
    assert (job.status, job.file_name) == ("failed", "")
    page = admin_client.get(job_url("export_job_detail", job)).content.decode()
    assert "The export could not be written." in page
    assert export_kind_get("provisioning_activity").name == "provisioning_activity"


def test_the_export_folder_is_private_and_not_static():
    from django.conf import settings as django_settings

    location = str(django_settings.QA_EXPORT_STORAGE["OPTIONS"]["location"])
    assert location.endswith("exports")
    assert not location.startswith(str(django_settings.STATIC_ROOT or "/nonexistent"))
    assert "exports" not in str(django_settings.STATICFILES_DIRS)
