"""SCIM errors (RFC 7644 §3.12): every failure under the SCIM base is one of these bodies.

The classes extend django-scim2's exceptions, so its own raise sites render the same way; the
body's `status` is a string, as the RFC's examples and Okta's tests require.
"""

import json
from collections.abc import Iterable

from django.http import HttpResponse
from django_scim import exceptions as scim_exceptions

from .constants import ERROR_URN, SCIM_CONTENT_TYPE


def error_body(*, status: int, detail: str = "", scim_type: str | None = None) -> dict:
    body: dict = {"schemas": [ERROR_URN], "status": str(status)}
    if scim_type:
        body["scimType"] = scim_type
    if detail:
        body["detail"] = detail
    return body


def error_response(*, status: int, detail: str = "", scim_type: str | None = None) -> HttpResponse:
    content = json.dumps(error_body(status=status, detail=detail, scim_type=scim_type))
    return HttpResponse(content, status=status, content_type=SCIM_CONTENT_TYPE)


def response_for_exception(exc: scim_exceptions.SCIMException) -> HttpResponse:
    response = error_response(
        status=int(exc.status), detail=str(exc.detail or ""), scim_type=exc.scim_type
    )
    for header, value in getattr(exc, "headers", {}).items():
        response[header] = value
    return response


class ScimError(scim_exceptions.SCIMException):
    """Base of the errors this server raises; `headers` are added to the response."""

    headers: dict[str, str] = {}


class BadRequest(ScimError):
    status = 400


class InvalidSyntax(BadRequest):
    scim_type = "invalidSyntax"


class InvalidValue(BadRequest):
    scim_type = "invalidValue"


class InvalidFilter(BadRequest):
    scim_type = "invalidFilter"


class InvalidPath(BadRequest):
    scim_type = "invalidPath"


class NoTarget(BadRequest):
    scim_type = "noTarget"


class MutabilityError(BadRequest):
    scim_type = "mutability"


class TooMany(BadRequest):
    """More operations or values than this server processes in one request (scim/constants.py)."""

    scim_type = "tooMany"


class NotFound(ScimError):
    status = 404


class PreconditionFailed(ScimError):
    """412: the If-Match of a PUT, PATCH or DELETE names a version that is no longer current
    (RFC 7644 §3.14); RFC 7644 defines no scimType for it."""

    status = 412


class MethodNotAllowed(ScimError):
    status = 405


class Conflict(ScimError):
    """409 uniqueness (RFC 7644 §3.3); the stock IntegrityError sets no scimType."""

    status = 409
    scim_type = "uniqueness"


class PayloadTooLarge(ScimError):
    status = 413


class TooManyRequests(ScimError):
    """Over the rate limit (RFC 6585 §4); Entra waits Retry-After seconds.

    See docs/entra-behaviour.md, Retries, quarantine and rate limits.
    """

    status = 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}


class NotImplementedByServer(ScimError):
    status = 501


class ServiceUnavailable(ScimError):
    """The database is unreachable; the client retries (RFC 7644 §3.12 lists 503)."""

    status = 503
    headers = {"Retry-After": "30"}


def unknown_members(ids: Iterable[str]) -> InvalidValue:
    """400 invalidValue naming member ids that are not users of this company.

    The same answer for another company's user as for no user at all.
    """
    listed = ", ".join(sorted(set(ids)))
    return InvalidValue(f"These member ids are not users of this company: {listed}")
