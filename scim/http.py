"""The HTTP base of every SCIM view: error boundary, JSON reading, paging, responses.

Views build on django-scim2's SCIMView for its dispatch: CSRF exemption and the auth-check
hook (AUTH_CHECK_MIDDLEWARE, our bearer-key middleware) wrapped around every call, and the
`implemented = False` switch for 501 endpoints. What its dispatch does wrong for us is replaced
here: every failure becomes a SCIM error body with `status` as a string (its handler renders a
number, and a 500 without the detail an admin needs), and domain errors of the accounts app are
translated once.
"""

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.views.generic import View
from django_scim.exceptions import SCIMException
from django_scim.views import SCIMView

from qaportal.accounts.exceptions import (
    AccountsError,
    GroupNameTaken,
    UnknownMembers,
    UserNameTaken,
)

from . import versions
from .activity import RequestActivity, activity_of
from .constants import LIST_RESPONSE_URN, MAX_RESULTS, SCIM_CONTENT_TYPE
from .errors import (
    Conflict,
    InvalidSyntax,
    InvalidValue,
    MethodNotAllowed,
    NotImplementedByServer,
    PayloadTooLarge,
    ServiceUnavailable,
    error_response,
    response_for_exception,
    unknown_members,
)
from .filters import FilterQuery
from .patch import has_lone_surrogate

logger = logging.getLogger(__name__)

_QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement timeout
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

# startIndex is bounded so that OFFSET always fits a PostgreSQL bigint.
MAX_START_INDEX = 10**9


def scim_error_for(exc: AccountsError) -> SCIMException:
    """The SCIM error for a domain error of the accounts app (translated once, here)."""
    if isinstance(exc, UserNameTaken):
        return Conflict(f"userName {exc.user_name} already exists.")
    if isinstance(exc, GroupNameTaken):
        return Conflict(f"displayName {exc.display_name} already exists.")
    if isinstance(exc, UnknownMembers):
        return unknown_members(exc.ids)
    # InvalidManager, InvalidProfile and any other value the model cannot hold.
    return InvalidValue(str(exc))


class _ErrorBoundary(View):
    """After SCIMView in the MRO, so that SCIMView.dispatch's `super()` call lands here: no
    exception ever reaches SCIMView's own handler."""

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return super().dispatch(request, *args, **kwargs)
        except SCIMException as exc:
            return response_for_exception(exc)
        except AccountsError as exc:
            return response_for_exception(scim_error_for(exc))
        except (OperationalError, InterfaceError) as exc:
            if getattr(exc.__cause__, "sqlstate", None) == _QUERY_CANCELED:
                # A statement ran over QA_DB_STATEMENT_TIMEOUT_MS and PostgreSQL cancelled it.
                logger.warning("SQL statement timeout in SCIM %s %s", request.method, request.path)
                return response_for_exception(
                    ServiceUnavailable("The request took too long and was stopped.")
                )
            logger.exception("Database unavailable during SCIM %s %s", request.method, request.path)
            return response_for_exception(ServiceUnavailable("The service is briefly unavailable."))
        except Exception:
            logger.exception("Unexpected error in SCIM %s %s", request.method, request.path)
            return error_response(status=500, detail="An unexpected error occurred.")


class ScimView(SCIMView, _ErrorBoundary):
    """Base of the SCIM views: parse the request, call one service or selector, render.

    Dispatch is SCIMView's (CSRF exemption, the bearer-key middleware, the 501 switch), whose
    call to View.dispatch goes through the error boundary.
    """

    # --- who is asking ----------------------------------------------------------------------

    @property
    def company_id(self) -> int:
        """The company of the request's API key (set by the bearer-key middleware only)."""
        return self.request.scim_company_id

    @property
    def activity(self) -> RequestActivity:
        return activity_of(self.request)

    # --- refusals ---------------------------------------------------------------------------

    def http_method_not_allowed(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        allowed = ", ".join(m.upper() for m in self._allowed_methods())
        response = error_response(status=405, detail=f"{request.method} is not supported here.")
        response["Allow"] = allowed
        return response

    def status_501(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return response_for_exception(NotImplementedByServer("This endpoint is not supported."))

    def require_target(self, *, item: bool) -> None:
        """405 (with Allow) when the method is sent to the collection instead of an item."""
        on_item = bool(self.kwargs.get("uuid"))
        if on_item != item:
            error = MethodNotAllowed(f"{self.request.method} is not supported here.")
            error.headers = {"Allow": "GET, PUT, PATCH, DELETE" if on_item else "GET, POST"}
            raise error

    # --- reading the request ----------------------------------------------------------------

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
        # Only a \uD800-\uDFFF escape can put a surrogate into decoded UTF-8 text: walk the
        # document only when the text has one (the walk is most of a 2 MB body's parse time).
        if _SURROGATE_ESCAPE.search(text) and has_lone_surrogate(body):
            # JSON can escape half of a UTF-16 pair ("\ud800"); no database text can hold it.
            raise InvalidValue("The body contains an unpaired UTF-16 surrogate (\\uD800-\\uDFFF).")
        return body

    def page_params(self) -> tuple[int, int]:
        """`startIndex` and `count` (RFC 7644 §3.4.2.4): startIndex below 1 is read as 1, count
        is capped at MAX_RESULTS and never negative."""

        def integer(name: str, default: int) -> int:
            raw = self.request.GET.get(name)
            if raw in (None, ""):
                return default
            try:
                return int(raw)
            except ValueError:
                raise InvalidValue(f"{name} must be an integer.") from None

        start = min(max(integer("startIndex", 1), 1), MAX_START_INDEX)
        count = min(max(integer("count", MAX_RESULTS), 0), MAX_RESULTS)
        return start, count

    # --- responses --------------------------------------------------------------------------

    @property
    def if_match(self) -> str | None:
        """The If-Match header of a PUT, PATCH or DELETE (RFC 7644 §3.14), if sent."""
        return self.request.headers.get("If-Match")

    def not_modified(self, version: str) -> HttpResponse | None:
        """304 without a body when a GET's If-None-Match names `version` (RFC 7644 §3.14)."""
        if_none_match = self.request.headers.get("If-None-Match")
        if if_none_match is None or not versions.matches(if_none_match, version):
            return None
        response = HttpResponse(status=304)
        response["ETag"] = version
        return response

    @staticmethod
    def respond(
        doc: dict, *, status: int = 200, location: str | None = None, version: str | None = None
    ) -> HttpResponse:
        response = HttpResponse(json.dumps(doc), status=status, content_type=SCIM_CONTENT_TYPE)
        if location:
            response["Location"] = location
        if version:
            response["ETag"] = version
        return response

    @classmethod
    def list_response(cls, resources: list[dict], *, total: int, start: int) -> HttpResponse:
        doc = {
            "schemas": [LIST_RESPONSE_URN],
            "totalResults": total,
            "Resources": resources,
            "startIndex": start,
            "itemsPerPage": len(resources),
        }
        return cls.respond(doc)

    def list_page(
        self,
        *,
        filter_query: type[FilterQuery],
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
        parsed = None
        # An empty filter is no filter: the reference Postman sends `/Users/?filter=`.
        raw_filter = self.request.GET.get("filter", "")
        if raw_filter.strip():
            parsed = filter_query.parse(raw_filter)
            self.activity.about(resource_name=parsed.eq_value(*named_by))
        unique_eq = parsed.unique_eq if parsed else None
        start, count = self.page_params()
        if unique_eq:
            matches = by_unique(*unique_eq)
            rows, total = matches[start - 1 : start - 1 + count], len(matches)
        else:
            rows, total = page(parsed.condition if parsed else None, start, count)
        return self.list_response([render(row) for row in rows], total=total, start=start)
