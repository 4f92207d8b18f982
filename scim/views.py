"""SCIM views: django-scim2's views, corrected where their behaviour is wrong for QA.

What changes, and why:
- errors: every failure is a SCIM error body with `status` as a string; domain errors are
  translated here once; unexpected ones are logged and answered with a generic 500 body
  (django-scim2's 409 would show database text);
- tenancy: every read is a selector scoped in SQL (django-scim2 filters tenants in Python);
- lists: LIMIT/OFFSET and a SQL count; `count` capped at filter.maxResults, `count=0`,
  startIndex below 1 read as 1, `attributes`/`excludedAttributes`;
- writes go through the accounts services; a user PATCH is one UPDATE, applied only to the
  row as read (read again and retried when a concurrent PATCH changed it); group PATCH is
  one transaction and answers 204.
"""

import copy
import json
import logging
from collections.abc import Callable, Container, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.views.generic import View
from django_scim import views as scim_views
from django_scim.exceptions import SCIMException

from qaportal.accounts.exceptions import (
    AccountsError,
    GroupNameTaken,
    UnknownMembers,
    UserNameTaken,
)
from qaportal.accounts.models import Group, User
from qaportal.accounts.services.groups import (
    group_create,
    group_delete,
    group_members_add,
    group_members_remove,
    group_members_replace,
    group_update,
)
from qaportal.accounts.services.users import (
    UserChangedMeanwhile,
    user_delete,
    user_provision,
    user_update,
)

from . import selectors
from .activity import activity_of
from .adapters import (
    GroupChanges,
    ScimGroup,
    ScimUser,
    group_changes_from_patch,
    group_changes_from_resource,
)
from .constants import GROUP_URN, LIST_RESPONSE_URN, MAX_RESULTS, SCIM_CONTENT_TYPE, USER_URN
from .discovery import SCHEMAS, ServiceProviderConfig, schema_document
from .errors import (
    Conflict,
    InvalidSyntax,
    InvalidValue,
    MethodNotAllowed,
    NotFound,
    NotImplementedByServer,
    PayloadTooLarge,
    ServiceUnavailable,
    error_response,
    response_for_exception,
)
from .filters import GroupFilterQuery, UserFilterQuery
from .patch import has_lone_surrogate, normalize_patch
from .projection import Projection

logger = logging.getLogger(__name__)

MAX_START_INDEX = 10**9
# Reads and UPDATEs of one user PATCH before giving up on concurrent changes (503, retried).
PATCH_ATTEMPTS = 10
_FOREIGN_KEY_VIOLATION = "23503"


@contextmanager
def referenced_users_may_vanish(detail: str) -> Iterator[None]:
    """400 invalidValue when a user referenced by the change was deleted meanwhile.

    A user deleted by a concurrent request after its id was resolved fails the foreign key
    check at commit (PostgreSQL's SQLSTATE 23503); the change is rolled back as a whole and
    Entra retries it, like any reference to a user that does not exist (docs/entra-behaviour.md).
    """
    try:
        yield
    except IntegrityError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != _FOREIGN_KEY_VIOLATION:
            raise
        raise InvalidValue(detail) from None


def _unknown_members(ids: Iterable[str]) -> InvalidValue:
    """400 invalidValue naming member ids that are not users of this company.

    The same answer for another company's user as for no user at all.
    """
    listed = ", ".join(sorted(set(ids)))
    return InvalidValue(f"These member ids are not users of this company: {listed}")


def _require_known_members(ids: Iterable[str], found: Container[str]) -> None:
    unknown = [member_id for member_id in ids if member_id not in found]
    if unknown:
        raise _unknown_members(unknown)


def _translate(exc: AccountsError) -> SCIMException:
    """The SCIM error for a domain error of the accounts app (translated once, here)."""
    if isinstance(exc, UserNameTaken):
        return Conflict(f"userName {exc.user_name} already exists.")
    if isinstance(exc, GroupNameTaken):
        return Conflict(f"displayName {exc.display_name} already exists.")
    if isinstance(exc, UnknownMembers):
        return _unknown_members(exc.ids)
    # InvalidManager, InvalidProfile and any other value the model cannot hold.
    return InvalidValue(str(exc))


class ScimErrorBoundary(View):
    """Placed after SCIMView in the MRO, so SCIMView.dispatch's `super()` call lands here.

    SCIMView.dispatch keeps its decorators (csrf_exempt, AUTH_CHECK_MIDDLEWARE), and no
    exception ever reaches its own handler, which renders `status` as a number and 500s
    without the detail an admin needs.
    """

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return super().dispatch(request, *args, **kwargs)
        except SCIMException as exc:
            return response_for_exception(exc)
        except AccountsError as exc:
            return response_for_exception(_translate(exc))
        except (OperationalError, InterfaceError):
            logger.exception("Database unavailable during SCIM %s %s", request.method, request.path)
            return response_for_exception(ServiceUnavailable("The service is briefly unavailable."))
        except Exception:
            logger.exception("Unexpected error in SCIM %s %s", request.method, request.path)
            return error_response(status=500, detail="An unexpected error occurred.")


class ScimViewMixin:
    """Shared helpers; first in each view's bases so its methods win over django-scim2's."""

    def http_method_not_allowed(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        allowed = ", ".join(m.upper() for m in self._allowed_methods())
        response = error_response(status=405, detail=f"{request.method} is not supported here.")
        response["Allow"] = allowed
        return response

    def status_501(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return response_for_exception(NotImplementedByServer("This endpoint is not supported."))

    @property
    def company_id(self) -> int:
        return self.request.scim_company_id

    def read_json(self) -> dict:
        """The JSON object of the request body, whatever its declared media type.

        A SCIM route never answers 406/415 for content negotiation (docs/entra-behaviour.md);
        a body that is not JSON is a 400 invalidSyntax.
        """
        request = self.request
        try:
            text = request.body.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise InvalidSyntax("The body is not UTF-8.") from None
        except RequestDataTooBig:
            # Only reachable if DATA_UPLOAD_MAX_MEMORY_SIZE is set below MAX_PAYLOAD_BYTES.
            raise PayloadTooLarge("The request body is too large.") from None
        if not text:
            raise InvalidSyntax("The request has no body.")
        if "\x00" in text or "\\u0000" in text:
            # PostgreSQL text cannot hold NUL; refuse it here rather than fail in the database.
            raise InvalidValue("NUL characters are not allowed.")
        try:
            body = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise InvalidSyntax(f"Could not decode the JSON body: {exc}") from None
        if not isinstance(body, dict):
            raise InvalidSyntax("The body must be a JSON object.")
        if has_lone_surrogate(body):
            # JSON can escape half of a UTF-16 pair ("\ud800"); no database text can hold it.
            raise InvalidValue("The body contains an unpaired UTF-16 surrogate (\\uD800-\\uDFFF).")
        return body

    def page_params(self) -> tuple[int, int]:
        def integer(name: str, default: int) -> int:
            raw = self.request.GET.get(name)
            if raw in (None, ""):
                return default
            try:
                return int(raw)
            except ValueError:
                raise InvalidValue(f"{name} must be an integer.") from None

        # RFC 7644 §3.4.2.4: startIndex below 1 is read as 1; count is capped, never negative.
        # startIndex is bounded too, so OFFSET always fits a PostgreSQL bigint.
        start = min(max(integer("startIndex", 1), 1), MAX_START_INDEX)
        count = min(max(integer("count", MAX_RESULTS), 0), MAX_RESULTS)
        return start, count

    @staticmethod
    def respond(doc: dict, *, status: int = 200, location: str | None = None) -> HttpResponse:
        response = HttpResponse(json.dumps(doc), status=status, content_type=SCIM_CONTENT_TYPE)
        if location:
            response["Location"] = location
        return response

    @staticmethod
    def list_response(resources: list[dict], *, total: int, start: int) -> HttpResponse:
        doc = {
            "schemas": [LIST_RESPONSE_URN],
            "totalResults": total,
            "Resources": resources,
            "startIndex": start,
            "itemsPerPage": len(resources),
        }
        return ScimViewMixin.respond(doc)


class ResourceViewMixin(ScimViewMixin):
    """/Users and /Groups answer GET and POST; /Users/{id} and /Groups/{id} the rest."""

    def list_page(
        self,
        request: HttpRequest,
        *,
        filter_query,
        named_by: tuple[str, ...],
        by_unique: Callable[[str, str], list],
        page: Callable[[Q | None, int, int], tuple[list, int]],
        render: Callable[[Any], dict],
    ) -> HttpResponse:
        """GET on a collection: parse `filter`, then one page of resources.

        An `eq` on a unique attribute (Entra's match lookup) reads at most one row, with no
        ORDER BY or COUNT (`by_unique`); anything else is a page (`page`). `named_by` are the
        attributes whose `eq` value names the request in the activity log.
        """
        condition = unique_eq = None
        # An empty filter is no filter: the reference Postman sends `/Users/?filter=`.
        if request.GET.get("filter", "").strip():
            parsed = filter_query.parse(request.GET["filter"])
            condition, unique_eq = parsed.condition, parsed.unique_eq
            activity_of(request).resource_name = parsed.eq_value(*named_by)
        start, count = self.page_params()
        if unique_eq:
            matches = by_unique(*unique_eq)
            rows, total = matches[start - 1 : start - 1 + count], len(matches)
        else:
            rows, total = page(condition, start, count)
        return self.list_response([render(row) for row in rows], total=total, start=start)

    def require_target(self, *, item: bool) -> None:
        """405 (with Allow) when the method is sent to the collection instead of an item."""
        on_item = bool(self.kwargs.get("uuid"))
        if on_item != item:
            error = MethodNotAllowed(f"{self.request.method} is not supported here.")
            error.headers = {"Allow": "GET, PUT, PATCH, DELETE" if on_item else "GET, POST"}
            raise error


class UsersView(ResourceViewMixin, scim_views.UsersView, ScimErrorBoundary):
    """/Users and /Users/{id}: the company's learners."""

    def _get_user(
        self,
        *,
        with_groups: bool = True,
        manager_scim_id: str | None = None,
        for_update: bool = False,
    ) -> User:
        scim_id = self.kwargs.get("uuid") or ""
        user = selectors.user_get(
            company_id=self.company_id,
            scim_id=scim_id,
            with_groups=with_groups,
            manager_scim_id=manager_scim_id,
            for_update=for_update,
        )
        if user is None:
            raise NotFound(f"User {scim_id} not found.")
        activity_of(self.request).resource_name = user.user_name or ""
        return user

    def _render(self, user: User, projection: Projection | None = None) -> dict:
        doc = ScimUser(user, request=self.request).to_dict()
        return (projection or Projection()).apply(doc, core_urn=USER_URN)

    def get_single(self, request: HttpRequest) -> HttpResponse:
        projection = Projection.from_request(request)
        user = self._get_user(with_groups=projection.wants("groups"))
        adapter = ScimUser(user, request=request)
        return self.respond(self._render(user, projection), location=adapter.location)

    def get_many(self, request: HttpRequest) -> HttpResponse:
        projection = Projection.from_request(request)
        with_groups = projection.wants("groups")
        company_id = self.company_id
        return self.list_page(
            request,
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
            ),
            render=lambda user: self._render(user, projection),
        )

    def _resolve_manager(
        self, profile: dict, original: str | None, *, strict: bool
    ) -> tuple[dict, str | None]:
        """Profile with `manager` as a User (or None) of this company, and its id.

        An id that is not a user of this company is a 400 invalidValue in a PATCH (Entra
        counts it as a reference failure and retries once the manager exists). In a POST or
        PUT it is left unset instead, so a dangling reference never blocks the user itself;
        the activity log says so.
        """
        profile = dict(profile)
        manager_id = profile.pop("manager")
        if manager_id == original:
            return profile, original
        manager = None
        if manager_id is not None:
            manager = self._manager_by_id(manager_id)
            if manager is None:
                message = f"manager {manager_id} is not a user of this company."
                if strict:
                    raise InvalidValue(message)
                activity_of(self.request).detail = message[0].upper() + message[1:-1] + "; not set."
                if original is not None:
                    profile["manager"] = None
                return profile, None
        profile["manager"] = manager
        return profile, str(manager.scim_id) if manager else None

    def _manager_by_id(self, manager_id: str) -> User | None:
        """The company's user with this id: read along with the PATCHed user when possible."""
        prefetched = getattr(self, "prefetched_manager", None)
        if prefetched is not None and prefetched[0] == manager_id:
            pk = prefetched[1]
            if pk is None:
                return None
            scim_id = selectors.parse_scim_id(manager_id)
            return User(pk=pk, company_id=self.company_id, scim_id=scim_id)
        return selectors.users_by_scim_ids(company_id=self.company_id, scim_ids=[manager_id]).get(
            str(selectors.parse_scim_id(manager_id))
        )

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.require_target(item=False)
        body = self.read_json()
        profile = ScimUser(User(), request=request).profile_from_resource(body)
        activity = activity_of(request)
        activity.resource_name = profile["user_name"]
        profile, manager_id = self._resolve_manager(profile, None, strict=False)
        with referenced_users_may_vanish("The manager was deleted meanwhile; no user was created."):
            user = user_provision(company_id=self.company_id, profile=profile)
        user.manager_scim_id = manager_id
        activity.resource_id = str(user.scim_id)
        adapter = ScimUser(user, request=request)
        return self.respond(self._render(user), status=201, location=adapter.location)

    def _update(
        self,
        user: User,
        profile: dict,
        *,
        strict: bool = True,
        unmodified_since: datetime | None = None,
    ) -> list[str]:
        adapter = ScimUser(user, request=self.request)
        original = adapter.current_profile()
        changes = adapter.changes_from(profile, original)
        if "manager" in changes:
            resolved, manager_id = self._resolve_manager(
                changes, original["manager"], strict=strict
            )
            changes = resolved
            user.manager_scim_id = manager_id
        try:
            with referenced_users_may_vanish("The manager was deleted meanwhile; nothing changed."):
                changed = user_update(user=user, changes=changes, unmodified_since=unmodified_since)
        except (OperationalError, InterfaceError):
            raise
        except DatabaseError:
            # A concurrent DELETE won: the UPDATE found no row ("did not affect any rows").
            if selectors.user_get(
                company_id=self.company_id, scim_id=str(user.scim_id), with_groups=False
            ):
                raise
            raise NotFound(f"User {user.scim_id} not found.") from None
        activity = activity_of(self.request)
        if "is_active" in changed:
            activity.operation = "reactivate_user" if user.is_active else "deactivate_user"
        if changed:
            note = "Changed " + ", ".join(sorted(changed))
            activity.detail = f"{activity.detail} {note}".strip()
        activity.resource_name = user.user_name or ""
        return changed

    def put(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.require_target(item=True)
        body = self.read_json()
        user = self._get_user()
        adapter = ScimUser(user, request=request)
        profile = adapter.profile_from_resource(body)
        if not any(str(key).lower() == "active" for key in body):
            profile["is_active"] = user.is_active  # PUT without active never reactivates
        self._update(user, profile, strict=False)
        return self.respond(self._render(user), location=adapter.location)

    def patch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.require_target(item=True)
        operations = normalize_patch(self.read_json())
        manager_id = ScimUser.requested_manager(operations)
        for _attempt in range(PATCH_ATTEMPTS):
            user = self._get_user(manager_scim_id=manager_id)
            if manager_id is not None:
                self.prefetched_manager = (manager_id, user.requested_manager_pk)
            adapter = ScimUser(user, request=request)
            profile = copy.deepcopy(adapter.current_profile())
            for operation in operations:
                adapter.apply(profile, operation)
            # All operations were applied in memory; the result is written by one UPDATE (or
            # nothing at all), so the PATCH is atomic without a transaction of its own. The
            # UPDATE applies only to the row as read: when a concurrent PATCH changed it
            # meanwhile, it is read again and the operations applied again, so no change is
            # lost (optimistic locking: no BEGIN/COMMIT or lock, within the query budget).
            try:
                self._update(user, profile, unmodified_since=user.updated_at)
            except UserChangedMeanwhile:
                continue
            break
        else:
            raise ServiceUnavailable("The user is being changed by other requests; retry.")
        projection = Projection.from_request(request)
        return self.respond(self._render(user, projection), location=adapter.location)

    def delete(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.require_target(item=True)
        with activity_of(request).change(), transaction.atomic():
            # Locked first: see selectors.user_get (a concurrent group PATCH adding this user).
            user = self._get_user(with_groups=False, for_update=True)
            user_delete(user=user)
            activity_of(request).record(status_code=204)
        return HttpResponse(status=204)


_MEMBER_VANISHED = "A member was deleted while the group was being changed; nothing changed."


class GroupsView(ResourceViewMixin, scim_views.GroupsView, ScimErrorBoundary):
    """/Groups and /Groups/{id}: the company's teams."""

    def _get_group(self, *, with_members: bool = True, for_update: bool = False) -> Group:
        scim_id = self.kwargs.get("uuid") or ""
        group = selectors.group_get(
            company_id=self.company_id,
            scim_id=scim_id,
            with_members=with_members,
            for_update=for_update,
        )
        if group is None:
            raise NotFound(f"Group {scim_id} not found.")
        activity_of(self.request).resource_name = group.display_name
        return group

    def _render(self, group: Group, projection: Projection | None = None) -> dict:
        projection = projection or Projection()
        doc = ScimGroup(group, request=self.request).to_dict(
            with_members=projection.wants("members")
        )
        return projection.apply(doc, core_urn=GROUP_URN)

    def get_single(self, request: HttpRequest) -> HttpResponse:
        projection = Projection.from_request(request)
        group = self._get_group(with_members=projection.wants("members"))
        adapter = ScimGroup(group, request=request)
        return self.respond(self._render(group, projection), location=adapter.location)

    def get_many(self, request: HttpRequest) -> HttpResponse:
        projection = Projection.from_request(request)
        with_members = projection.wants("members")
        company_id = self.company_id
        return self.list_page(
            request,
            filter_query=GroupFilterQuery,
            named_by=("displayname", "externalid"),
            by_unique=lambda field, value: selectors.group_by_unique(
                company_id=company_id, field=field, value=value, with_members=with_members
            ),
            page=lambda condition, start, count: selectors.page(
                selectors.group_queryset(company_id=company_id, with_members=with_members),
                condition=condition,
                start=start,
                count=count,
            ),
            render=lambda group: self._render(group, projection),
        )

    def _members(self, ids: list[str]) -> list[User]:
        """The users behind member ids, all of this company, or 400 naming the others."""
        found = selectors.users_by_scim_ids(company_id=self.company_id, scim_ids=ids)
        _require_known_members(ids, found)
        return [found[member_id] for member_id in dict.fromkeys(ids)]

    @staticmethod
    def _member_rows(users: list[User]) -> list[dict]:
        return [
            {"value": str(u.scim_id), "userName": u.user_name, "displayName": u.display_name}
            for u in users
        ]

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.require_target(item=False)
        changes = group_changes_from_resource(self.read_json())
        activity = activity_of(request)
        activity.resource_name = changes.fields["display_name"]
        members = self._members(list(changes.add))
        with referenced_users_may_vanish(_MEMBER_VANISHED):
            group = group_create(
                company_id=self.company_id,
                display_name=changes.fields["display_name"],
                external_id=changes.fields.get("external_id", ""),
                members=members,
            )
        group.scim_members = self._member_rows(members)
        activity.resource_id = str(group.scim_id)
        adapter = ScimGroup(group, request=request)
        return self.respond(self._render(group), status=201, location=adapter.location)

    def _apply(self, group: Group, changes: GroupChanges) -> None:
        """Resolve every member id with one query, then write; all inside the caller's atomic."""
        resolved = selectors.users_by_scim_ids(
            company_id=self.company_id, scim_ids=[*changes.add, *changes.remove]
        )
        _require_known_members(changes.add, resolved)
        to_add = [resolved[member_id] for member_id in changes.add]
        # Removing someone who is not a member (or not a user) is a no-op, like Entra expects.
        to_remove = [resolved[member_id] for member_id in changes.remove if member_id in resolved]
        group_update(group=group, changes=changes.fields, touch=changes.touches_members)
        if changes.replace_members:
            group_members_replace(group=group, users=to_add)
        else:
            group_members_remove(group=group, users=to_remove)
            group_members_add(group=group, users=to_add)
        activity = activity_of(self.request)
        activity.resource_name = group.display_name
        if changes.touches_members and not changes.fields:
            activity.operation = (
                "replace_members"
                if changes.replace_members
                else "add_members"
                if not to_remove
                else "remove_members"
                if not to_add
                else "update_members"
            )
        notes = []
        if changes.replace_members:
            notes.append(f"{len(to_add)} members set")
        else:
            if to_add:
                notes.append(f"{len(to_add)} members added")
            if to_remove:
                notes.append(f"{len(to_remove)} members removed")
        if changes.fields:
            notes.append("Changed " + ", ".join(sorted(changes.fields)))
        activity.detail = "; ".join(notes)

    def put(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.require_target(item=True)
        changes = group_changes_from_resource(self.read_json())
        activity = activity_of(request)
        with (
            activity.change(),
            referenced_users_may_vanish(_MEMBER_VANISHED),
            transaction.atomic(),
        ):
            group = self._get_group(with_members=False, for_update=True)
            self._apply(group, changes)
            activity.record(status_code=200)
        group = self._get_group()
        return self.respond(
            self._render(group), location=ScimGroup(group, request=request).location
        )

    def patch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.require_target(item=True)
        changes = group_changes_from_patch(normalize_patch(self.read_json()))
        projection = Projection.from_request(request)
        activity = activity_of(request)
        with (
            activity.change(),
            referenced_users_may_vanish(_MEMBER_VANISHED),
            transaction.atomic(),
        ):
            group = self._get_group(with_members=False, for_update=True)
            self._apply(group, changes)
            activity.record(status_code=204 if projection.is_default else 200)
        if projection.is_default:
            # docs/entra-behaviour.md: group PATCH answers 204 and does not return the member list.
            return HttpResponse(status=204)
        group = self._get_group(with_members=projection.wants("members"))
        return self.respond(self._render(group, projection))

    def delete(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.require_target(item=True)
        with activity_of(request).change(), transaction.atomic():
            # Locked first, so a concurrent PATCH's new memberships are committed (and then
            # collected) or not yet written: none is left pointing at a deleted team.
            group = self._get_group(with_members=False, for_update=True)
            group_delete(group=group)
            activity_of(request).record(status_code=204)
        return HttpResponse(status=204)


class ServiceProviderConfigView(
    ScimViewMixin, scim_views.ServiceProviderConfigView, ScimErrorBoundary
):
    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return self.respond(ServiceProviderConfig(request=request).to_dict())


class ResourceTypesView(ScimViewMixin, scim_views.ResourceTypesView, ScimErrorBoundary):
    def get(self, request: HttpRequest, uuid: str | None = None, *args, **kwargs) -> HttpResponse:
        docs = [adapter.resource_type_dict(request) for adapter in (ScimUser, ScimGroup)]
        if uuid:
            doc = next((d for d in docs if d["id"] == uuid), None)
            if doc is None:
                raise NotFound(f"ResourceType {uuid} not found.")
            return self.respond(doc)
        return self.list_response(docs, total=len(docs), start=1)


class SchemasView(ScimViewMixin, scim_views.SchemasView, ScimErrorBoundary):
    def get(self, request: HttpRequest, uuid: str | None = None, *args, **kwargs) -> HttpResponse:
        docs = [schema_document(schema, request) for schema in SCHEMAS]
        if uuid:
            doc = next((d for d in docs if d["id"].lower() == uuid.lower()), None)
            if doc is None:
                raise NotFound(f"Schema {uuid} not found.")
            return self.respond(doc)
        return self.list_response(docs, total=len(docs), start=1)


class NotImplementedView(ScimViewMixin, scim_views.SCIMView, ScimErrorBoundary):
    """/Me, /Bulk and .search: 501 with a SCIM error body (RFC 7644 §3.2)."""

    implemented = False


class UnknownEndpointView(ScimViewMixin, scim_views.SCIMView, ScimErrorBoundary):
    """Any other path under the SCIM base: a SCIM 404, never Django's HTML page."""

    def _not_found(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        raise NotFound(f"No SCIM endpoint at {request.path}.")

    get = post = put = patch = delete = _not_found
