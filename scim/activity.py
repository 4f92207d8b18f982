"""What one SCIM request did, filled in while it runs and stored as a ProvisioningEvent.

A write records its row with the change: in the same statement for a user's create or update
(`write_with_row`), inside the change's transaction otherwise (`record_change`): one durable
commit for both, and never one without the other. Every other row (reads, failures, refused
keys, an update that changed nothing) is written by its own statement once the answer is known,
committed without waiting for a WAL flush (see provisioning_event_log): nothing else was
written, and a log row is not worth a flush to disk per request. Every row is written before
the answer leaves the worker, so a worker that dies mid-request has sent no answer either.
"""

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from integrations.changes import ChangeRecord, ChangeSet
from integrations.models import ProvisioningEvent
from integrations.services import provisioning_event_log, provisioning_event_log_with_write
from qaportal.accounts.models import User
from qaportal.accounts.services.users import StatementRunner

Operation = ProvisioningEvent.Operation

_RESOURCE_BY_URL_NAME = {"users": "User", "groups": "Group"}
_DISCOVERY_OPERATIONS = {
    "service-provider-config": Operation.GET_SERVICE_PROVIDER_CONFIG,
    "schemas": Operation.GET_SCHEMAS,
    "resource-types": Operation.GET_RESOURCE_TYPES,
    "search": Operation.SEARCH,
}
# POST .search on a collection is a list (a filter makes it a lookup, known once the body is
# read), never the create that a POST to the collection is.
_SEARCHES = {
    "users-search": ("User", Operation.LIST_USERS),
    "groups-search": ("Group", Operation.LIST_GROUPS),
}
# What a request is about before its body is read: refined by the services (a PATCH that
# deactivates, a group PATCH that only adds members).
_OPERATIONS = {
    ("User", "GET", True): Operation.GET_USER,
    ("User", "GET", False): Operation.LIST_USERS,
    ("User", "POST", False): Operation.CREATE_USER,
    ("User", "PUT", True): Operation.REPLACE_USER,
    ("User", "PATCH", True): Operation.UPDATE_USER,
    ("User", "DELETE", True): Operation.DELETE_USER,
    ("Group", "GET", True): Operation.GET_GROUP,
    ("Group", "GET", False): Operation.LIST_GROUPS,
    ("Group", "POST", False): Operation.CREATE_GROUP,
    ("Group", "PUT", True): Operation.REPLACE_GROUP,
    ("Group", "PATCH", True): Operation.UPDATE_GROUP,
    ("Group", "DELETE", True): Operation.DELETE_GROUP,
}
_FILTERS = {"User": Operation.FILTER_USERS, "Group": Operation.FILTER_GROUPS}
_SUCCESS_STATUS = {"POST": 201, "DELETE": 204}


@dataclass
class RequestActivity:
    """The activity-log row of one SCIM request, as it is learnt."""

    operation: str = ""
    resource_type: str = ""
    resource_id: str = ""
    resource_name: str = ""
    # Who asked and how; set by the bearer-key middleware.
    method: str = ""
    path: str = ""
    company_id: int | None = None
    api_key_id: int | None = None
    # The status a successful write answers with, when not the method's usual one (a group
    # PATCH answers 204 unless the client asked for the resource).
    success_status: int | None = None
    started: float = field(default_factory=time.monotonic)
    recorded: bool = False

    def about(self, *, resource_id: str = "", resource_name: str = "") -> None:
        """Name the resource the request is about, so that a failure row names it too."""
        if resource_id:
            self.resource_id = resource_id
        if resource_name:
            self.resource_name = resource_name

    def record_change(self, change: ChangeRecord) -> None:
        """Write the row of a successful change; called by a scim service inside the change's
        transaction, so the row commits or rolls back with it."""
        self.operation = change.operation
        self.resource_type = change.resource_type
        self.about(resource_id=change.resource_id, resource_name=change.resource_name)
        self.record(status_code=self._success_status(), changes=change.changes.as_json())

    def write_with_row(self, *, operation: str, changes: ChangeSet) -> StatementRunner:
        """A StatementRunner for the accounts services: it runs a user's INSERT or UPDATE and
        this request's activity row as one statement (provisioning_event_log_with_write), so a
        change of one user costs one round trip and one commit, log row included."""

        def run(sql: str, params: Sequence[Any], user: User) -> tuple | None:
            self.operation, self.resource_type = operation, "User"
            self.about(resource_id=str(user.scim_id), resource_name=user.user_name or "")
            row = provisioning_event_log_with_write(
                write=(sql, params),
                **self._fields(
                    status_code=self._success_status(),
                    outcome=ProvisioningEvent.Outcome.SUCCESS,
                    changes=changes.as_json(),
                ),
            )
            self.recorded = row is not None
            return row

        return run

    def _success_status(self) -> int:
        return self.success_status or _SUCCESS_STATUS.get(self.method, 200)

    def _fields(self, *, status_code: int, **extra: Any) -> dict:
        return {
            "company_id": self.company_id,
            "api_key_id": self.api_key_id,
            "method": self.method,
            "path": self.path,
            "operation": self.operation,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "resource_name": self.resource_name,
            "status_code": status_code,
            "duration_ms": int((time.monotonic() - self.started) * 1000),
            **extra,
        }

    def record(
        self,
        *,
        status_code: int,
        outcome: str = ProvisioningEvent.Outcome.SUCCESS,
        scim_type: str = "",
        detail: str = "",
        changes: dict | None = None,
    ) -> None:
        """Write the request's activity-log row, once (a second call does nothing)."""
        if self.recorded or not self.method:  # recorded already, or not a SCIM request
            return
        provisioning_event_log(
            **self._fields(
                status_code=status_code,
                outcome=outcome,
                scim_type=scim_type,
                detail=detail,
                changes=changes,
            ),
            durable=False,
        )
        self.recorded = True

    @contextmanager
    def change_recording(self) -> Iterator[None]:
        """Around a transaction whose change records itself: when it fails, its row was rolled
        back with it, and the middleware records the failure instead."""
        try:
            yield
        except BaseException:
            self.recorded = False
            raise

    @classmethod
    def for_request(cls, request: HttpRequest) -> "RequestActivity":
        match = request.resolver_match
        url_name = match.url_name if match else ""
        resource_id = str((match.kwargs if match else {}).get("uuid") or "")[:64]
        resource_type = _RESOURCE_BY_URL_NAME.get(url_name or "", "")
        method = request.method or ""
        asked = {"method": method, "path": request.path}
        if url_name in _SEARCHES and method == "POST":
            resource_type, operation = _SEARCHES[url_name]
            return cls(operation=operation, resource_type=resource_type, **asked)
        if not resource_type:
            operation = _DISCOVERY_OPERATIONS.get(url_name or "", Operation.UNSUPPORTED_ENDPOINT)
            return cls(operation=operation, **asked)
        operation = _OPERATIONS.get(
            (resource_type, method, bool(resource_id)), Operation.UNSUPPORTED_ENDPOINT
        )
        if operation == _OPERATIONS[(resource_type, "GET", False)] and "filter" in request.GET:
            operation = _FILTERS[resource_type]
        return cls(
            operation=operation, resource_type=resource_type, resource_id=resource_id, **asked
        )


def activity_of(request: HttpRequest) -> RequestActivity:
    """The request's activity record (a blank one outside the bearer-key middleware)."""
    activity = getattr(request, "scim_activity", None)
    if activity is None:
        activity = RequestActivity()
        request.scim_activity = activity  # type: ignore[attr-defined]
    return activity
