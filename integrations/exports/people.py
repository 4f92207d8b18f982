"""The People list as an export kind (the People page's "Export CSV")."""

from collections.abc import Iterator
from dataclasses import asdict

from django.urls import reverse
from django.utils.http import urlencode

from qaportal.accounts.models import Company
from qaportal.accounts.selectors import PeopleFilter, person_list

from .kinds import ExportKind

PEOPLE_EXPORT = "people"
ROWS_PER_FETCH = 2000

PEOPLE_EXPORT_HEADER = [
    "Display name",
    "Username",
    "Work email",
    "Status",
    "Teams",
    "Job title",
    "Department",
    "External ID",
    "Created (UTC)",
    "Last change (UTC)",
]


def people_export_params(filters: PeopleFilter) -> dict:
    """A People filter as the JSON an export job keeps."""
    return asdict(filters)


def _filters(params: dict) -> PeopleFilter:
    team_id = params.get("team_id")
    return PeopleFilter(
        search=str(params.get("search") or ""),
        status=str(params.get("status") or ""),
        team_id=int(team_id) if team_id else None,
        sort=str(params.get("sort") or "name"),
    )


def people_export_rows(*, company: Company, params: dict) -> Iterator[list[object]]:
    """The company's people matching `params`, in the page's order, as CSV cells."""
    people = person_list(company=company, filters=_filters(params))
    for person in people.iterator(chunk_size=ROWS_PER_FETCH):
        teams = sorted(name for _, name in person.team_pairs or ())
        yield [
            person.display_name,
            person.user_name or "",
            person.work_email,
            "Active" if person.is_active else "Deactivated",
            "; ".join(teams),
            person.title,
            person.department,
            person.external_id,
            person.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            person.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
        ]


def people_export_count(*, company: Company, params: dict, limit: int | None = None) -> int:
    """How many people the export has; with `limit`, at most that many are counted."""
    people = person_list(company=company, filters=_filters(params)).order_by()
    if limit is not None:
        return people.values("pk")[:limit].count()
    return people.count()


def people_page_url(params: dict) -> str:
    query = urlencode(
        {
            name: value
            for name, value in (
                ("q", params.get("search")),
                ("status", params.get("status")),
                ("team", params.get("team_id")),
                ("sort", params.get("sort") if params.get("sort") != "name" else ""),
            )
            if value
        }
    )
    url = reverse("people:person_list")
    return f"{url}?{query}" if query else url


PEOPLE_EXPORT_KIND = ExportKind(
    name=PEOPLE_EXPORT,
    label="People",
    filename_prefix="people",
    header=PEOPLE_EXPORT_HEADER,
    rows=people_export_rows,
    count=people_export_count,
    page_url=people_page_url,
    param_labels={"search": "Search", "status": "Status", "team_id": "Team", "sort": "Sort"},
)
