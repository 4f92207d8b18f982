"""The People pages: every person Microsoft Entra ID provisioned to the company, and one
person's attributes, teams and History.

People are users of accounts; their History is the provisioning log of this app, so the pages
live here (integrations may read accounts, never the other way round). Every object is looked
up through a selector filtered on `request.user.company`: another company's person is a 404.
"""

from dataclasses import dataclass

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views import View

from qaportal.accounts.mixins import CompanyAdminRequiredMixin
from qaportal.accounts.models import User
from qaportal.accounts.selectors import (
    PeopleFilter,
    person_get,
    person_page,
    team_list,
)

from .exports.people import (
    PEOPLE_EXPORT,
    people_export_params,
)
from .exports.views import export_immediate_or_offer_response, export_job_start_response
from .selectors.activity import ActivityCursor
from .selectors.people import person_event_page, person_last_sign_in_get
from .wording import person_history_entry

PEOPLE_PER_PAGE = 50

STATUS_CHOICES = [("", "Any status"), ("active", "Active"), ("deactivated", "Deactivated")]
SORT_CHOICES = [
    ("name", "Name, A to Z"),
    ("-name", "Name, Z to A"),
    ("user_name", "Username"),
    ("email", "Work email"),
    ("status", "Active first"),
    ("-status", "Deactivated first"),
    ("-changed", "Last change, newest first"),
    ("changed", "Last change, oldest first"),
]


class PeopleFilterForm(forms.Form):
    """The People page's search, filters and order, from the query string.

    An unknown value is dropped (that filter shows all) instead of failing the page: links
    are shared, and a team may be gone.
    """

    q = forms.CharField(
        label="Search",
        required=False,
        # The longest field searched (a display name) holds 512 characters.
        max_length=512,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Name, username or email",
                "aria-describedby": "people-search-help",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
        help_text="Any part of a name, username or work email, in any case.",
    )
    status = forms.ChoiceField(label="Status", required=False, choices=STATUS_CHOICES)
    team = forms.TypedChoiceField(label="Team", required=False, coerce=int, empty_value=None)
    sort = forms.ChoiceField(label="Sort by", required=False, choices=SORT_CHOICES)

    def __init__(self, *args, teams=(), **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "Any team")] + [
            (str(team.pk), team.display_name) for team in teams
        ]

    def filters(self) -> PeopleFilter:
        self.is_valid()
        data = {name: self.cleaned_data.get(name) for name in self.fields}
        search = (data["q"] or "").strip()
        if "q" in self.errors:
            # Too long to be part of any name: it matches no one (and the page says why),
            # rather than being dropped and showing everyone.
            search = str(self.data.get("q", ""))[: self.fields["q"].max_length + 1]
        return PeopleFilter(
            search=search,
            status=data["status"] or "",
            team_id=data["team"] or None,
            sort=data["sort"] or "name",
        )


def _filter_query(filters: PeopleFilter, *, with_sort: bool = True) -> str:
    query = QueryDict(mutable=True)
    for name, value in (
        ("q", filters.search),
        ("status", filters.status),
        ("team", filters.team_id),
        ("sort", filters.sort if with_sort and filters.sort != "name" else ""),
    ):
        if value:
            query[name] = str(value)
    return query.urlencode()


@dataclass(frozen=True)
class PersonRow:
    """A person as the People table shows them."""

    person: User

    @property
    def name(self) -> str:
        person = self.person
        return person.display_name or person.full_name or person.user_name or ""

    @property
    def teams(self) -> list[tuple[int, str]]:
        return sorted(
            ((team_id, name) for team_id, name in self.person.team_pairs or ()),
            key=lambda pair: pair[1].lower(),
        )


def _page_number(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


class PersonListView(CompanyAdminRequiredMixin, View):
    """People: every provisioned person of the company, searched, filtered, sorted, 50 a page.

    Costs the session, the user and the company (every page), the teams of the filter and one
    query for the page with its total and each person's teams.
    """

    def get(self, request: HttpRequest) -> HttpResponse:
        company = request.user.company
        teams = list(team_list(company=company))
        form = PeopleFilterForm(request.GET, teams=teams)
        filters = form.filters()
        page = person_page(
            company=company,
            filters=filters,
            number=_page_number(request.GET.get("page")),
            size=PEOPLE_PER_PAGE,
        )
        context = {
            "form": form,
            "filters": filters,
            "page": page,
            "rows": [PersonRow(person=person) for person in page.people],
            "filter_query": _filter_query(filters),
            "has_teams": bool(teams),
        }
        return render(request, "integrations/person_list.html", context)


class PersonExportView(CompanyAdminRequiredMixin, View):
    """The People of the current filter as CSV: streamed at once up to
    QA_EXPORT_IMMEDIATE_MAX_ROWS people; larger exports are prepared by a worker (GET offers,
    POST starts the job), as for the activity log."""

    def _params(self, request: HttpRequest) -> dict:
        teams = team_list(company=request.user.company)
        return people_export_params(PeopleFilterForm(request.GET, teams=teams).filters())

    def get(self, request: HttpRequest) -> HttpResponse:
        return export_immediate_or_offer_response(
            request, kind=PEOPLE_EXPORT, params=self._params(request)
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        return export_job_start_response(request, kind=PEOPLE_EXPORT, params=self._params(request))


class PersonDetailView(CompanyAdminRequiredMixin, View):
    """One person: what Entra sent about them, their teams, and their History (newest first,
    failures included, each in words)."""

    def get(self, request: HttpRequest, person_id: int) -> HttpResponse:
        company = request.user.company
        person = person_get(company=company, person_id=person_id)
        if person is None:
            raise Http404("No such person.")
        scim_id = str(person.scim_id)
        before = ActivityCursor.decode(request.GET.get("before"))
        events, older = person_event_page(company=company, person=person, before=before)
        manager = person.manager
        context = {
            "person": person,
            "name": PersonRow(person=person).name,
            # A link only to a person of the same company (the services never set another).
            "manager_is_person": manager is not None
            and manager.company_id == company.pk
            and manager.role == User.Role.LEARNER,
            "emails": [item for item in person.emails or () if isinstance(item, dict)],
            "last_sign_in": person_last_sign_in_get(company=company, person=person),
            "history": [person_history_entry(event, scim_id=scim_id) for event in events],
            "history_is_newest": before is None,
            "history_older_cursor": older.encode() if older else None,
        }
        return render(request, "integrations/person_detail.html", context)
