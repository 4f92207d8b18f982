"""Discovery (/ServiceProviderConfig, /ResourceTypes, /Schemas) and the endpoints this server
does not implement."""

from django.http import HttpRequest, HttpResponse

from ..adapters import ScimGroup, ScimUser
from ..discovery import SCHEMAS, ServiceProviderConfig, schema_document
from ..errors import NotFound
from ..http import ScimView


class ServiceProviderConfigView(ScimView):
    http_method_names = ["get"]

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.respond(ServiceProviderConfig(request=request).to_dict())


class ResourceTypesView(ScimView):
    http_method_names = ["get"]

    def get(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        docs = [adapter.resource_type_dict(request) for adapter in (ScimUser, ScimGroup)]
        if uuid:
            doc = next((d for d in docs if d["id"] == uuid), None)
            if doc is None:
                raise NotFound(f"ResourceType {uuid} not found.")
            return self.respond(doc)
        return self.list_response(docs, total=len(docs), start=1)


class SchemasView(ScimView):
    http_method_names = ["get"]

    def get(self, request: HttpRequest, uuid: str | None = None) -> HttpResponse:
        docs = [schema_document(schema, request) for schema in SCHEMAS]
        if uuid:
            doc = next((d for d in docs if d["id"].lower() == uuid.lower()), None)
            if doc is None:
                raise NotFound(f"Schema {uuid} not found.")
            return self.respond(doc)
        return self.list_response(docs, total=len(docs), start=1)


class NotImplementedView(ScimView):
    """/Me, /Bulk and .search: 501 with a SCIM error body (RFC 7644 §3.2)."""

    implemented = False


class UnknownEndpointView(ScimView):
    """Any other path under the SCIM base: a SCIM 404, never Django's HTML page."""

    def _not_found(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        raise NotFound(f"No SCIM endpoint at {request.path}.")

    get = post = put = patch = delete = _not_found
