"""A request id on every request, its log lines and its answer (`X-Request-ID`).

An id sent by the proxy in front (`X-Request-ID`) is kept when it looks like one (letters,
digits and `._:/+=-`, at most 128 characters), so the proxy's access log and ours can be
joined; anything else is replaced by a new random id. Log records made while the request runs
carry it as `request_id` (`-` outside a request), and the JSON log format prints it.
"""

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

import sentry_sdk
from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,127}")
_NO_REQUEST = "-"

_current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "request_id", default=_NO_REQUEST
)


def current_request_id() -> str:
    """The id of the request being served by this thread, or "-"."""
    return _current_request_id.get()


def request_id_for(incoming: str | None) -> str:
    """The incoming id when it is sane, else a new one (32 hex digits)."""
    if incoming and _SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Sets the request's id (request.request_id), echoes it in the answer's X-Request-ID."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request.headers.get(HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = _current_request_id.set(request_id)
        # Error reports (when Sentry is on) carry the id too; without a client this does nothing.
        sentry_sdk.set_tag("request_id", request_id)
        try:
            response = self.get_response(request)
        finally:
            _current_request_id.reset(token)
        response[HEADER] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every record (a handler filter in settings.LOGGING)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Django logs a 4xx/5xx answer (django.request) after the middleware has returned,
        # with the request attached: its id is the one to print.
        request = getattr(record, "request", None)
        record.request_id = getattr(request, "request_id", None) or _current_request_id.get()
        return True
