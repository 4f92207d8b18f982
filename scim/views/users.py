"""/Users and /Users/{id}: the company's learners."""

from django.http import HttpRequest, HttpResponse

from qaportal.accounts.models import User

from .. import selectors
from ..adapters import ScimUser
from ..constants import USER_URN
from ..errors import NotFound
from ..filters import UserFilterQuery
from ..http import ScimView
from ..paging import UserPageAnchors
from ..patch import normalize_patch
from ..projection import Projection
from ..services.users import user_create, user_delete, user_patch, user_replace


class UsersView(ScimView):
    http_method_names = ["get", "post", "put", "patch", "delete"]

    def _render(self, user: User, projection: Projection | None = None) -> dict:
        doc = ScimUser(user, request=self.request).to_dict()
        return (projection or Projection()).apply(doc, core_urn=USER_URN)

    def _respond_with(
        self, user: User, projection: Projection | None = None, *, status: int = 200
    ) -> HttpResponse:
        adapter = ScimUser(user, request=self.request)
        return self.respond(
            self._render(user, projection),
            status=status,
            location=adapter.location,
            version=adapter.version,
        )

    def get(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        projection = Projection.from_request(request)
        with_groups = projection.wants("groups")
        if uuid:
            user = selectors.user_get(
                company_id=self.company_id, scim_id=uuid, with_groups=with_groups
            )
            if user is None:
                raise NotFound(f"User {uuid} not found.")
            self.activity.about(resource_name=user.user_name or "")
            unchanged = self.not_modified(ScimUser(user).version)
            return unchanged or self._respond_with(user, projection)
        company_id = self.company_id
        return self.list_page(
            filter_query=UserFilterQuery,
            named_by=("username", "emails", "externalid", "displayname"),
            by_unique=lambda field, value: selectors.user_by_unique(
                company_id=company_id, field=field, value=value, with_groups=with_groups
            ),
            page=lambda condition, start, count: selectors.page(
                selectors.user_queryset(company_id=company_id, with_groups=with_groups),
                condition=condition,
                start=start,
                count=count,
                scope=selectors.user_scope_queryset(company_id=company_id),
                index_order=selectors.USER_PAGE_ORDER,
                count_all=lambda: selectors.learner_count(company_id=company_id),
                anchors=UserPageAnchors(company_id=company_id),
            ),
            render=lambda user: self._render(user, projection),
        )

    def post(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        self.require_target(item=False)
        profile = ScimUser.profile_from_resource(self.read_json())
        change = user_create(company_id=self.company_id, profile=profile, activity=self.activity)
        return self._respond_with(change.resource, status=201)

    def put(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        self.require_target(item=True)
        change = user_replace(
            company_id=self.company_id,
            scim_id=uuid or "",
            body=self.read_json(),
            activity=self.activity,
            if_match=self.if_match,
        )
        return self._respond_with(change.resource)

    def patch(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        self.require_target(item=True)
        operations = normalize_patch(self.read_json())
        projection = Projection.from_request(request)
        change = user_patch(
            company_id=self.company_id,
            scim_id=uuid or "",
            operations=operations,
            activity=self.activity,
            with_groups=projection.wants("groups"),
            if_match=self.if_match,
        )
        return self._respond_with(change.resource, projection)

    def delete(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        self.require_target(item=True)
        user_delete(
            company_id=self.company_id,
            scim_id=uuid or "",
            activity=self.activity,
            if_match=self.if_match,
        )
        return HttpResponse(status=204)
