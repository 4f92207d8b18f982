"""Pages of CSV exports: the offer to prepare a large export, its status, its download.

A job is looked up through export_job_list(company=request.user.company), so another
company's job is a 404 like a missing one; only company admins reach these views.
"""

from django.conf import settings
from django.contrib import messages
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View

from qaportal.accounts.mixins import CompanyAdminRequiredMixin, client_ip_address

from ..models import ExportJob
from .kinds import EXPORT_CHUNK_SIZE, csv_chunks, export_filename, export_kind_get
from .selectors import export_job_list
from .services import (
    ExportLimitReached,
    export_job_download_record,
    export_job_start,
    export_storage,
    export_streamed_record,
)

RECENT_JOBS = 10
# How often the status page asks for progress (static/js/export-progress.js reads it).
POLL_SECONDS = 2


def _recent_jobs(request: HttpRequest) -> list[tuple[ExportJob, str, list[tuple[str, str]]]]:
    """The company's latest exports, each with its kind's label and its filter in words."""
    rows = []
    for job in export_job_list(company=request.user.company)[:RECENT_JOBS]:
        kind = export_kind_get(job.kind)
        rows.append((job, kind.label, kind.describe(job.params)))
    return rows


def _retention_hours() -> int:
    return round(settings.QA_EXPORT_RETENTION.total_seconds() / 3600)


def export_offer_response(
    request: HttpRequest, *, kind: str, params: dict, at_least_rows: int
) -> HttpResponse:
    """The page offering to prepare an export too large to stream (a POST to the same URL)."""
    export_kind = export_kind_get(kind)
    context = {
        "kind": export_kind,
        "at_least_rows": at_least_rows,
        "page_url": export_kind.page_url(params),
        "filter": export_kind.describe(params),
        "jobs": _recent_jobs(request),
        "retention_hours": _retention_hours(),
        "settings_tab": "integrations",
    }
    return render(request, "integrations/export_offer.html", context)


def export_immediate_or_offer_response(
    request: HttpRequest, *, kind: str, params: dict, filename_detail: str = ""
) -> HttpResponse:
    """A CSV export of a registered kind, streamed now when it has at most
    QA_EXPORT_IMMEDIATE_MAX_ROWS rows (audited); otherwise the page offering a job.
    `filename_detail` goes after the kind's prefix ("entra-id")."""
    export_kind = export_kind_get(kind)
    company = request.user.company
    limit = settings.QA_EXPORT_IMMEDIATE_MAX_ROWS
    counted = export_kind.count(company=company, params=params, limit=limit + 1)
    if counted > limit:
        return export_offer_response(request, kind=kind, params=params, at_least_rows=limit)
    export_streamed_record(
        company=company,
        kind=kind,
        params=params,
        rows=counted,
        downloaded_by=request.user,
        ip_address=client_ip_address(request),
    )
    response = StreamingHttpResponse(
        csv_chunks(
            header=export_kind.header,
            rows=export_kind.rows(company=company, params=params),
            rows_per_chunk=EXPORT_CHUNK_SIZE,
        ),
        content_type="text/csv; charset=utf-8",
    )
    prefix = "-".join(part for part in (export_kind.filename_prefix, filename_detail) if part)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{prefix}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def export_job_start_response(request: HttpRequest, *, kind: str, params: dict) -> HttpResponse:
    """Start (or find) the job of this export, then show its status page."""
    try:
        job = export_job_start(
            company=request.user.company,
            kind=kind,
            params=params,
            requested_by=request.user,
            ip_address=client_ip_address(request),
        )
    except ExportLimitReached:
        messages.error(
            request,
            "Your company already has several exports being prepared. Wait for one to finish, "
            "then try again.",
        )
        return redirect(request.get_full_path())
    return redirect("integrations:export_job_detail", job_id=job.pk)


def _job(request: HttpRequest, job_id: int) -> ExportJob:
    return get_object_or_404(export_job_list(company=request.user.company), pk=job_id)


class ExportJobDetailView(CompanyAdminRequiredMixin, View):
    """One export: its progress while it is prepared, then its download link."""

    def get(self, request: HttpRequest, job_id: int) -> HttpResponse:
        job = _job(request, job_id)
        kind = export_kind_get(job.kind)
        now = timezone.now()
        context = {
            "job": job,
            "kind": kind,
            "page_url": kind.page_url(job.params),
            "filter": kind.describe(job.params),
            "is_downloadable": job.is_downloadable_at(now),
            "retention_hours": _retention_hours(),
            "is_expired": now >= job.expires_at,
            "poll_seconds": POLL_SECONDS,
            "settings_tab": "integrations",
        }
        return render(request, "integrations/export_job.html", context)


class ExportJobProgressView(CompanyAdminRequiredMixin, View):
    """The job's progress as JSON, polled by the status page's script."""

    def get(self, request: HttpRequest, job_id: int) -> JsonResponse:
        job = _job(request, job_id)
        response = JsonResponse(
            {
                "status": job.status,
                "status_label": job.get_status_display(),
                "rows_written": job.rows_written,
                "total_rows": job.total_rows,
                "is_pending": job.is_pending,
            }
        )
        response["Cache-Control"] = "no-store"
        return response


class ExportJobDownloadView(CompanyAdminRequiredMixin, View):
    """The prepared file, to the company's admins only, until it expires; audited."""

    def get(self, request: HttpRequest, job_id: int) -> FileResponse:
        job = _job(request, job_id)
        if not job.is_downloadable_at(timezone.now()):
            raise Http404("This export is not ready, or has expired.")
        storage = export_storage()
        try:
            handle = storage.open(job.file_name, "rb")
        except FileNotFoundError:
            raise Http404("This export has expired.") from None
        export_job_download_record(
            job=job, downloaded_by=request.user, ip_address=client_ip_address(request)
        )
        kind = export_kind_get(job.kind)
        stamp = timezone.localtime(job.requested_at).strftime("%Y%m%d-%H%M")
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=export_filename(kind, stamp=stamp),
            content_type="text/csv; charset=utf-8",
        )
        response["Cache-Control"] = "no-store"
        return response
