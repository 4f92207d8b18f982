"""Write-side of CSV exports: start a job, run it, record downloads, sweep old and lost jobs.

Every request for data is audited (who, which export, which filter, how many rows, from where),
and so is every download.
"""

import logging
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from qaportal.accounts.models import Company, User
from qaportal.enqueue import task_enqueue

from ..models import AuditEvent, ExportJob
from .kinds import csv_chunks, export_kind_get

logger = logging.getLogger(__name__)

ROWS_PER_CHUNK = 2000
# Progress is written to the job (one UPDATE) at most every this many rows.
PROGRESS_EVERY_ROWS = 20_000
# A run is given this many attempts (a worker killed mid-file, a lost message) before the job
# is marked failed.
MAX_ATTEMPTS = 3


class ExportLimitReached(Exception):
    """The company already has QA_EXPORT_MAX_PENDING exports being prepared."""


class ExportSuperseded(Exception):
    """This run lost its claim on the job (it was given up on and run again)."""


def export_storage() -> Storage:
    """The private storage of prepared exports (STORAGES["exports"])."""
    return storages["exports"]


def _audit_detail(kind_name: str, params: dict, rows: int | None, job_id: int | None) -> dict:
    """What the audit trail keeps of an export: which data, which filter, how much, which job."""
    kind = export_kind_get(kind_name)
    return {
        "export": kind.label,
        "kind": kind.name,
        "filter": {name: value for name, value in params.items() if value},
        "rows": rows,
        "job": job_id,
    }


@transaction.atomic
def export_job_start(
    *,
    company: Company,
    kind: str,
    params: dict,
    requested_by: User,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> ExportJob:
    """Queue the export `kind` of `params` for the company's data; audited; returns its job.

    The same export (kind and params) already waiting or running is returned instead of a
    second job, and a company has at most QA_EXPORT_MAX_PENDING unfinished jobs
    (ExportLimitReached), so admins clicking again cannot fill the workers. The job is sent
    to a worker when the transaction commits; if the broker is down it stays queued and the
    sweep sends it later. Raises LookupError for an unknown kind.
    """
    export_kind_get(kind)
    now = now or timezone.now()
    # One start at a time per company, so two clicks never make two jobs.
    Company.objects.select_for_update().filter(pk=company.pk).first()
    pending = ExportJob.objects.filter(
        company=company, status__in=[ExportJob.Status.QUEUED, ExportJob.Status.RUNNING]
    )
    for job in pending.filter(kind=kind):
        if job.params == params:
            return job
    if pending.count() >= settings.QA_EXPORT_MAX_PENDING:
        raise ExportLimitReached
    job = ExportJob.objects.create(
        company=company,
        kind=kind,
        params=params,
        requested_by=requested_by,
        requested_at=now,
        expires_at=now + settings.QA_EXPORT_RETENTION,
    )
    AuditEvent.objects.create(
        company=company,
        actor=requested_by,
        action=AuditEvent.Action.EXPORT_REQUESTED,
        ip_address=ip_address,
        detail=_audit_detail(kind, params, None, job.pk),
        created_at=now,
    )
    export_job_enqueue(job_id=job.pk)
    return job


def export_job_enqueue(*, job_id: int) -> None:
    """Send the job to a worker once the current transaction commits; when the broker is down
    the job stays queued and the sweep sends it again later."""
    task_enqueue("integrations.exports.tasks.export_job_run", args=[job_id])


def _claim(job_id: int, now: datetime) -> ExportJob | None:
    """Take the job for this run: queued, or running with a stale heartbeat (a dead worker)."""
    stale_before = now - settings.QA_EXPORT_STALE_AFTER
    claimable = Q(status=ExportJob.Status.QUEUED) | Q(
        status=ExportJob.Status.RUNNING, heartbeat_at__lt=stale_before
    )
    claimed = ExportJob.objects.filter(claimable, pk=job_id, attempts__lt=MAX_ATTEMPTS).update(
        status=ExportJob.Status.RUNNING,
        attempts=F("attempts") + 1,
        started_at=now,
        heartbeat_at=now,
        rows_written=0,
        error="",
    )
    if not claimed:
        return None
    return ExportJob.objects.select_related("company").get(pk=job_id)


def _progress(job: ExportJob, **fields) -> None:
    """Update the job while this run still holds it; ExportSuperseded otherwise."""
    updated = ExportJob.objects.filter(
        pk=job.pk, attempts=job.attempts, status=ExportJob.Status.RUNNING
    ).update(heartbeat_at=timezone.now(), **fields)
    if not updated:
        raise ExportSuperseded


def export_job_run(*, job_id: int) -> bool:
    """Write the job's CSV to the exports storage; True if this run finished it.

    Claims the job first (queued, or running with a stale heartbeat, at most MAX_ATTEMPTS
    runs), so a redelivered or duplicate message does nothing while another run is alive.
    Rows are read in SQL chunks and written to a temporary file, with the progress and a
    heartbeat on the job every PROGRESS_EVERY_ROWS rows; the file is then saved to storage
    and the job marked done (expiring QA_EXPORT_RETENTION after). An error marks it failed
    (no partial file is kept). No transaction spans the run: the export reads rows as they
    are, newest first.
    """
    job = _claim(job_id, timezone.now())
    if job is None:
        return False
    storage = export_storage()
    try:
        kind = export_kind_get(job.kind)
        _progress(job, total_rows=kind.count(company=job.company, params=job.params, limit=None))
        written = 0

        def counted(rows):
            nonlocal written
            for cells in rows:
                written += 1
                if written % PROGRESS_EVERY_ROWS == 0:
                    _progress(job, rows_written=written)
                yield cells

        rows = counted(kind.rows(company=job.company, params=job.params))
        with tempfile.TemporaryFile() as spool:
            size = 0
            for text in csv_chunks(header=kind.header, rows=rows, rows_per_chunk=ROWS_PER_CHUNK):
                data = text.encode("utf-8")
                spool.write(data)
                size += len(data)
            spool.seek(0)
            # Not guessable, though never served but by the download view.
            name = f"{job.company_id}/{job.pk}-{secrets.token_hex(8)}.csv"
            saved = storage.save(name, File(spool, name=name))
        finished = timezone.now()
        try:
            _progress(
                job,
                status=ExportJob.Status.DONE,
                rows_written=written,
                file_name=saved,
                file_size=size,
                finished_at=finished,
                expires_at=finished + settings.QA_EXPORT_RETENTION,
            )
        except ExportSuperseded:
            storage.delete(saved)
            raise
    except ExportSuperseded:
        logger.info("Export job %s was taken over by a newer run; this run stops.", job_id)
        return False
    except Exception:
        logger.exception("Export job %s failed.", job_id)
        ExportJob.objects.filter(pk=job.pk, attempts=job.attempts).update(
            status=ExportJob.Status.FAILED,
            finished_at=timezone.now(),
            error="The export could not be written. Try again, or ask QA support.",
        )
        return False
    return True


def export_job_download_record(
    *, job: ExportJob, downloaded_by: User, ip_address: str | None = None
) -> AuditEvent:
    """Audit a download of a prepared export."""
    return AuditEvent.objects.create(
        company_id=job.company_id,
        actor=downloaded_by,
        action=AuditEvent.Action.EXPORT_DOWNLOADED,
        ip_address=ip_address,
        detail=_audit_detail(job.kind, job.params, job.rows_written, job.pk),
    )


def export_streamed_record(
    *,
    company: Company,
    kind: str,
    params: dict,
    rows: int,
    downloaded_by: User,
    ip_address: str | None = None,
) -> AuditEvent:
    """Audit a small export streamed straight from the web request (no job)."""
    return AuditEvent.objects.create(
        company=company,
        actor=downloaded_by,
        action=AuditEvent.Action.EXPORT_DOWNLOADED,
        ip_address=ip_address,
        detail=_audit_detail(kind, params, rows, None),
    )


@dataclass(frozen=True)
class ExportSweep:
    deleted: int
    requeued: (
        int  # jobs put back in the queue (sent now, or by the next sweep if the broker is down)
    )
    failed: int


def export_jobs_sweep(*, now: datetime | None = None) -> ExportSweep:
    """Delete expired exports (file, then row); send lost or abandoned jobs to a worker again.

    Expired: `expires_at` passed, whatever the status. Lost: queued for longer than
    QA_EXPORT_STALE_AFTER (its message never reached a worker). Abandoned: running with no
    heartbeat for as long (its worker died). Such a job is queued again, or marked failed
    once it used MAX_ATTEMPTS runs. Idempotent; a run claims its job, so a job sent twice is
    written once.
    """
    now = now or timezone.now()
    storage = export_storage()
    deleted = 0
    for job in ExportJob.objects.filter(expires_at__lte=now).only("pk", "file_name"):
        if job.file_name:
            storage.delete(job.file_name)
        deleted += ExportJob.objects.filter(pk=job.pk).delete()[0]

    stale_before = now - settings.QA_EXPORT_STALE_AFTER
    stuck = ExportJob.objects.filter(
        Q(status=ExportJob.Status.QUEUED, requested_at__lt=stale_before, heartbeat_at=None)
        | Q(status=ExportJob.Status.QUEUED, heartbeat_at__lt=stale_before)
        | Q(status=ExportJob.Status.RUNNING, heartbeat_at__lt=stale_before)
    )
    failed = stuck.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=ExportJob.Status.FAILED,
        finished_at=now,
        error="The export did not finish after several tries. Try again, or ask QA support.",
    )
    requeued = 0
    for job_id in list(stuck.filter(attempts__lt=MAX_ATTEMPTS).values_list("pk", flat=True)):
        # Queued again, with the time of this try as its heartbeat: the next sweep waits
        # QA_EXPORT_STALE_AFTER before trying again, and an abandoned run that wakes up finds
        # the job no longer running under its attempt, and stops.
        ExportJob.objects.filter(pk=job_id).update(status=ExportJob.Status.QUEUED, heartbeat_at=now)
        export_job_enqueue(job_id=job_id)
        requeued += 1
    return ExportSweep(deleted=deleted, requeued=requeued, failed=failed)
