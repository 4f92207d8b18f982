"""Celery tasks of CSV exports: ids in, one service call each; safe to run twice."""

from celery import shared_task

from . import services


@shared_task(name="integrations.exports.tasks.export_job_run")
def export_job_run(job_id: int) -> bool:
    """Write one export job's file (queued when an admin asks for a large export)."""
    return services.export_job_run(job_id=job_id)


@shared_task(name="integrations.exports.tasks.export_jobs_sweep")
def export_jobs_sweep() -> dict:
    """Beat, every minute: delete expired exports; send lost or abandoned jobs again."""
    sweep = services.export_jobs_sweep()
    return {"deleted": sweep.deleted, "requeued": sweep.requeued, "failed": sweep.failed}
