"""Read-side of CSV exports."""

from django.db.models import QuerySet

from qaportal.accounts.models import Company

from ..models import ExportJob


def export_job_list(*, company: Company) -> QuerySet[ExportJob]:
    """The company's export jobs, newest first (expired ones until the sweep deletes them)."""
    return (
        ExportJob.objects.filter(company=company)
        .select_related("requested_by")
        .order_by("-requested_at", "-id")
    )
