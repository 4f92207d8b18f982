"""/Groups and /Groups/{id}: the company's teams."""

from django.http import HttpRequest, HttpResponse

from qaportal.accounts.models import Group

from .. import selectors
from ..adapters import ScimGroup, group_changes_from_patch, group_changes_from_resource
from ..constants import GROUP_URN, MAX_MEMBERS_PER_LIST_PAGE
from ..errors import NotFound
from ..filters import GroupFilterQuery
from ..http import ScimView
from ..patch import normalize_patch
from ..projection import Projection
from ..services.groups import group_create, group_delete, group_patch, group_replace


class GroupsView(ScimView):
    http_method_names = ["get", "post", "put", "patch", "delete"]

    def _render(self, group: Group, projection: Projection | None = None) -> dict:
        projection = projection or Projection()
        doc = ScimGroup(group, request=self.request).to_dict(
            with_members=projection.wants("members")
        )
        return projection.apply(doc, core_urn=GROUP_URN)

    def _respond_with(
        self, group: Group, projection: Projection | None = None, *, status: int = 200
    ) -> HttpResponse:
        adapter = ScimGroup(group, request=self.request)
        return self.respond(
            self._render(group, projection),
            status=status,
            location=adapter.location,
            version=adapter.version,
        )

    def _group(self, scim_id: str, *, with_members: bool) -> Group:
        group = selectors.group_get(
            company_id=self.company_id, scim_id=scim_id, with_members=with_members
        )
        if group is None:
            raise NotFound(f"Group {scim_id} not found.")
        return group

    def get(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        projection = Projection.from_request(request)
        with_members = projection.wants("members")
        if uuid:
            group = self._group(uuid, with_members=with_members)
            self.activity.about(resource_name=group.display_name)
            unchanged = self.not_modified(ScimGroup(group).version)
            return unchanged or self._respond_with(group, projection)
        company_id = self.company_id
        return self.list_page(
            filter_query=GroupFilterQuery,
            named_by=("displayname", "externalid"),
            by_unique=lambda field, value: selectors.group_by_unique(
                company_id=company_id, field=field, value=value, with_members=with_members
            ),
            page=lambda condition, start, count: (
                # A page renders at most MAX_MEMBERS_PER_LIST_PAGE members (fewer groups then).
                selectors.group_page_with_members(
                    company_id=company_id,
                    condition=condition,
                    start=start,
                    count=count,
                    member_budget=MAX_MEMBERS_PER_LIST_PAGE,
                )
                if with_members
                else selectors.page(
                    selectors.group_queryset(company_id=company_id, with_members=False),
                    condition=condition,
                    start=start,
                    count=count,
                )
            ),
            render=lambda group: self._render(group, projection),
        )

    def post(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        self.require_target(item=False)
        changes = group_changes_from_resource(self.read_json())
        change = group_create(company_id=self.company_id, changes=changes, activity=self.activity)
        return self._respond_with(change.resource, status=201)

    def put(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        self.require_target(item=True)
        changes = group_changes_from_resource(self.read_json())
        group_replace(
            company_id=self.company_id,
            scim_id=uuid or "",
            changes=changes,
            activity=self.activity,
            if_match=self.if_match,
        )
        return self._respond_with(self._group(uuid or "", with_members=True))

    def patch(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        self.require_target(item=True)
        changes = group_changes_from_patch(normalize_patch(self.read_json()))
        projection = Projection.from_request(request)
        # Entra expects 204 without the member list (docs/entra-behaviour.md); a client that
        # asks for attributes gets the resource.
        self.activity.success_status = 204 if projection.is_default else 200
        change = group_patch(
            company_id=self.company_id,
            scim_id=uuid or "",
            changes=changes,
            activity=self.activity,
            if_match=self.if_match,
        )
        if projection.is_default:
            response = HttpResponse(status=204)
            response["ETag"] = ScimGroup(change.resource).version
            return response
        return self._respond_with(
            self._group(uuid or "", with_members=projection.wants("members")), projection
        )

    def delete(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        self.require_target(item=True)
        group_delete(
            company_id=self.company_id,
            scim_id=uuid or "",
            activity=self.activity,
            if_match=self.if_match,
        )
        return HttpResponse(status=204)
