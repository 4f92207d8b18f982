"""What one SCIM request did, filled in while it runs and stored as a ProvisioningEvent."""

from dataclasses import dataclass

from django.http import HttpRequest

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

    @classmethod
    def for_request(cls, request: HttpRequest) -> "RequestActivity":
        match = request.resolver_match
        url_name = match.url_name if match else ""
        resource_id = str((match.kwargs if match else {}).get("uuid") or "")[:64]
        resource_type = _RESOURCE_BY_URL_NAME.get(url_name or "", "")
        if not resource_type:
            operation = _DISCOVERY_OPERATIONS.get(url_name or "", "unsupported_endpoint")
            return cls(operation=operation)
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
        return cls(operation=operation, resource_type=resource_type, resource_id=resource_id)


def activity_of(request: HttpRequest) -> RequestActivity:
    """The request's activity record (a blank one outside the SCIM middleware)."""
    activity = getattr(request, "scim_activity", None)
    if activity is None:
        activity = RequestActivity()
        request.scim_activity = activity  # type: ignore[attr-defined]
    return activity
