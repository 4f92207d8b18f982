"""The provisioning activity log as an export kind (the activity page's "Export CSV")."""

from collections.abc import Iterator
from dataclasses import asdict
from typing import NamedTuple

from django.db.models import CharField
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils.http import urlencode

from qaportal.accounts.models import Company

from ..models import ApiKey, Integration, ProvisioningEvent
from ..selectors.activity import ActivityFilter, provisioning_event_list
from ..wording import activity_summary, event_detail_lines, joined
from .kinds import ExportKind

ACTIVITY_EXPORT = "provisioning_activity"
# Rows fetched per round trip (a server-side cursor on PostgreSQL).
ROWS_PER_FETCH = 5000

EXPORT_HEADER = [
    "Time (UTC)",
    "Activity",
    "Operation",
    "Resource type",
    "Resource name",
    "Resource id",
    "Outcome",
    "Status",
    "SCIM error type",
    "Detail",
    "Method",
    "Path",
    "Key",
    "Duration (ms)",
]


class _Event(NamedTuple):
    """The columns of one ProvisioningEvent an export reads, as a plain tuple.

    The wording functions read the same attribute names as on the model. Tuples instead of model
    instances, and the time as the database's text (UTC, ISO order), make a 500,000-row export
    a few times faster.
    """

    created_at_text: str
    operation: str
    resource_type: str
    resource_name: str
    resource_id: str
    outcome: str
    status_code: int
    scim_type: str
    detail: str
    method: str
    path: str
    duration_ms: int
    changes: dict
    api_key_public_id: str | None


_OUTCOME_LABELS = dict(ProvisioningEvent.Outcome.choices)
_SUCCESS = ProvisioningEvent.Outcome.SUCCESS


def activity_export_params(filters: ActivityFilter) -> dict:
    """An activity filter as the JSON an export job keeps."""
    return asdict(filters)


def _filters(params: dict) -> ActivityFilter:
    fields = ActivityFilter.__dataclass_fields__
    return ActivityFilter(**{name: str(params.get(name) or "") for name in fields})


def activity_export_rows(*, company: Company, params: dict) -> Iterator[list[object]]:
    """The company's activity matching `params`, newest first, as CSV cells."""
    events = provisioning_event_list(company=company, filters=_filters(params))
    prefixes: dict[str, str] = {}
    # "2026-11-20 09:30:00.123456+00" on PostgreSQL (sessions are in UTC), "2026-11-20
    # 09:30:00.123456" on SQLite: the first 19 characters are the second, in UTC.
    events = events.annotate(created_at_text=Cast("created_at", CharField()))
    columns = ["created_at_text", *_Event._fields[1:-1], "api_key__public_id"]
    for values in events.values_list(*columns).iterator(chunk_size=ROWS_PER_FETCH):
        event = _Event(*values)
        public_id = event.api_key_public_id
        if public_id and public_id not in prefixes:
            prefixes[public_id] = ApiKey(public_id=public_id).prefix
        yield [
            event.created_at_text[:19],
            activity_summary(event),
            event.operation,
            event.resource_type,
            event.resource_name,
            event.resource_id,
            _OUTCOME_LABELS.get(event.outcome, event.outcome),
            event.status_code,
            event.scim_type,
            # A failure's error as the client was told it: support reads it in the file.
            joined(event_detail_lines(event)) if event.outcome == _SUCCESS else event.detail,
            event.method,
            event.path,
            prefixes.get(public_id, "") if public_id else "",
            event.duration_ms,
        ]


def activity_export_count(*, company: Company, params: dict, limit: int | None = None) -> int:
    """How many rows the export has; with `limit`, at most that many are counted."""
    events = provisioning_event_list(company=company, filters=_filters(params)).order_by()
    if limit is not None:
        return events.values("pk")[:limit].count()
    return events.count()


def activity_page_url(params: dict) -> str:
    url = reverse(
        "integrations:provisioning_activity", kwargs={"provider": Integration.Provider.ENTRA_ID}
    )
    query = urlencode(
        {
            name: value
            for name, value in (
                ("outcome", params.get("outcome")),
                ("operation", params.get("operation")),
                ("resource_type", params.get("resource_type")),
                ("q", params.get("search")),
                ("show", "changes" if params.get("show") == "changes" else "all"),
                ("since", params.get("since")),
                ("until", params.get("until")),
            )
            if value
        }
    )
    return f"{url}?{query}" if query else url


ACTIVITY_EXPORT_KIND = ExportKind(
    name=ACTIVITY_EXPORT,
    label="Provisioning activity",
    filename_prefix="provisioning-activity",
    header=EXPORT_HEADER,
    rows=activity_export_rows,
    count=activity_export_count,
    page_url=activity_page_url,
    param_labels={
        "outcome": "Outcome",
        "operation": "Operation",
        "resource_type": "Resource",
        "search": "Search",
        "show": "Show",
        "since": "From",
        "until": "To",
    },
)
