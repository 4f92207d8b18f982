"""What one SCIM request did, filled in while it runs and stored as a ProvisioningEvent.

A change made in a transaction (group writes, deletions) records its row inside that
transaction (`record`): one durable commit for both, and never one without the other. Every
other row (reads, single-statement user writes, failures, refused keys) is written by the
auth middleware once the response is ready, committed without waiting for a WAL flush (see
provisioning_event_log): the change itself was already durably committed, and a log row is
not worth a second flush to disk per request.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.http import HttpRequest

from integrations.models import ProvisioningEvent
from integrations.services import provisioning_event_log

_RESOURCE_BY_URL_NAME = {"users": "User", "groups": "Group"}
_VERB_BY_METHOD = {"POST": "create", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}
_DISCOVERY_OPERATIONS = {
    "service-provider-config": "get_service_provider_config",
    "schemas": "get_schemas",
    "resource-types": "get_resource_types",
}


@dataclass
class RequestActivity:
    operation: str = ""
    resource_type: str = ""
    resource_id: str = ""
    resource_name: str = ""
    # A success note such as "3 members added"; errors come from the response body.
    detail: str = ""
    # Who asked and when; set by the auth middleware.
    method: str = ""
    path: str = ""
    company_id: int | None = None
    api_key_id: int | None = None
    started: float = field(default_factory=time.monotonic)
    recorded: bool = False

    def record(
        self,
        *,
        status_code: int,
        outcome: str = ProvisioningEvent.Outcome.SUCCESS,
        scim_type: str = "",
        detail: str | None = None,
    ) -> None:
        """Write the request's activity-log row, once (a second call does nothing).

        Called inside a change's transaction by the view (the row commits or rolls back with
        the change; `duration_ms` then ends at the change, before rendering), else by the
        middleware with the response.
        """
        if self.recorded or not self.method:  # recorded already, or not a SCIM request
            return
        provisioning_event_log(
            company_id=self.company_id,
            api_key_id=self.api_key_id,
            method=self.method,
            path=self.path,
            operation=self.operation,
            resource_type=self.resource_type,
            resource_id=self.resource_id,
            resource_name=self.resource_name,
            status_code=status_code,
            outcome=outcome,
            scim_type=scim_type,
            detail=self.detail if detail is None else detail,
            duration_ms=int((time.monotonic() - self.started) * 1000),
            durable=False,
        )
        self.recorded = True

    @contextmanager
    def change(self) -> Iterator[None]:
        """Around a change that records itself: if it fails, its row was rolled back with it,
        and the middleware records the failure instead."""
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
        asked = {"method": request.method or "", "path": request.path}
        if not resource_type:
            operation = _DISCOVERY_OPERATIONS.get(url_name or "", "unsupported_endpoint")
            return cls(operation=operation, **asked)
        noun = resource_type.lower()
        if request.method == "GET":
            if resource_id:
                operation = f"get_{noun}"
            elif "filter" in request.GET:
                operation = f"filter_{noun}s"
            else:
                operation = f"list_{noun}s"
        else:
            operation = f"{_VERB_BY_METHOD.get(request.method or '', 'unsupported')}_{noun}"
        return cls(
            operation=operation, resource_type=resource_type, resource_id=resource_id, **asked
        )


def activity_of(request: HttpRequest) -> RequestActivity:
    """The request's activity record (a blank one outside the SCIM middleware)."""
    activity = getattr(request, "scim_activity", None)
    if activity is None:
        activity = RequestActivity()
        request.scim_activity = activity  # type: ignore[attr-defined]
    return activity
