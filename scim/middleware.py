"""Bearer-key authentication and the activity log of every SCIM request.

Plugged in as django-scim2's AUTH_CHECK_MIDDLEWARE, which SCIMView.dispatch applies as a
decorator: it wraps each SCIM view call, not the whole site. A browser session never counts;
only `Authorization: Bearer <API key>` does.

Rate limits (scim/throttle.py) are decided here, with no SQL query of their own: a found key,
accepted, revoked or expired, over QA_SCIM_RATE_LIMIT gets 429 (logged to the activity log at
most once a second per key), and an IP over QA_SCIM_AUTH_FAILURE_LIMIT failed bearer attempts
gets 429 instead of 401.
"""

import json
import logging
import time

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.debug import sensitive_variables

from integrations.models import ProvisioningEvent
from integrations.notifications import api_key_rejected_use_notify
from integrations.services import KeyRejection, api_key_authenticate
from qaportal.accounts.mixins import client_ip_address
from qaportal.metrics import observe_scim_request

from . import throttle
from .activity import RequestActivity
from .constants import MAX_PAYLOAD_BYTES, WWW_AUTHENTICATE
from .errors import ServiceUnavailable, TooManyRequests, error_response, response_for_exception

logger = logging.getLogger(__name__)

_REJECTION_DETAIL = {
    None: "Authorization: Bearer <API key> is required.",
    KeyRejection.MALFORMED: "The bearer token is not a QA Portal API key.",
    KeyRejection.UNKNOWN: "The bearer token is not a valid API key.",
    KeyRejection.REVOKED: "This API key was revoked. Generate a new key in QA Portal and "
    "paste it into Microsoft Entra ID as the Secret Token.",
    KeyRejection.EXPIRED: "This API key has expired. Paste the current key from QA Portal "
    "into Microsoft Entra ID as the Secret Token.",
}


@sensitive_variables("header", "token")
def _bearer_token(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class UnauthenticatedAttempts:
    """Requests that named no company (no key, not a key, an unknown key), counted per client
    address and minute in this process, and logged as one line per address and minute.

    Nobody's activity log can show them (there is no company to show them to), and a row each
    would let anyone grow the table from rotating addresses; a line per address and minute in
    the server log (and the metrics' request counter) says what staff need: who, how often,
    why. A minute's lines are written when a later minute's first attempt arrives. At most
    MAX_ADDRESSES addresses are counted per minute; the rest add to one "other addresses" line.
    """

    MAX_ADDRESSES = 1000
    OTHER = "other addresses"

    def __init__(self) -> None:
        self.minute = 0
        self.counts: dict[tuple[str, str], int] = {}

    def add(self, *, client_ip: str, reason: str, now: float | None = None) -> None:
        minute = int((time.time() if now is None else now) // 60)
        if minute != self.minute:
            self.flush()
            self.minute = minute
        key = (client_ip or "unknown", reason)
        if key not in self.counts and len(self.counts) >= self.MAX_ADDRESSES:
            key = (self.OTHER, reason)
        self.counts[key] = self.counts.get(key, 0) + 1

    def flush(self) -> None:
        for (client_ip, reason), count in sorted(self.counts.items()):
            logger.warning(
                "SCIM requests without a valid key from %s in the minute from %s UTC: %d (%s)",
                client_ip,
                time.strftime("%H:%M", time.gmtime(self.minute * 60)),
                count,
                reason,
            )
        self.counts = {}


unauthenticated_attempts = UnauthenticatedAttempts()


class ScimBearerAuthMiddleware:
    def __init__(self, get_response=None):
        self.get_response = get_response

    def __call__(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        activity = RequestActivity.for_request(request)
        request.scim_activity = activity  # type: ignore[attr-defined]
        response = self._answer(request, activity, *args, **kwargs)
        # Every answer is counted, the early ones too (429, 503 with the database down).
        observe_scim_request(
            operation=activity.operation, status=response.status_code, started=activity.started
        )
        return response

    @sensitive_variables("token")
    def _answer(
        self, request: HttpRequest, activity: RequestActivity, *args, **kwargs
    ) -> HttpResponse:
        api_key = None
        company_id = None

        token = _bearer_token(request)
        if token is None:
            rejection: str | None = "missing"
            response = self._unauthorized(None)
            throttled = self._throttle_failure(request, rejection)
            if throttled is not None:
                return throttled
        else:
            try:
                authentication = api_key_authenticate(raw=token)
            except (OperationalError, InterfaceError):
                # The database is down: nothing can be checked or logged; Entra retries.
                logger.exception("Database unavailable while checking a SCIM key")
                return response_for_exception(
                    ServiceUnavailable("The service is briefly unavailable.")
                )
            api_key = authentication.api_key
            company_id = api_key.integration.company_id if api_key else None
            rejection = authentication.rejection
            # A found key, even a revoked or expired one, is held to its own rate limit, so a
            # leaked old key cannot flood the company's activity log either.
            decision = (
                throttle.key_request_allow(key_id=api_key.public_id)
                if api_key
                else throttle.ALLOWED
            )
            if not decision.allowed:
                response = self._too_many_requests(
                    decision,
                    detail="Too many requests with this API key (the limit is "
                    f"{throttle.rate_limit_text()}). Retry after {decision.retry_after} s.",
                )
                if not decision.log_refusal:
                    return response
            elif rejection is not None:
                throttled = self._throttle_failure(request, rejection)
                if throttled is not None:
                    return throttled
                response = self._unauthorized(rejection)
                if api_key is not None:
                    self._notify_rejected_use(api_key)
            else:
                request.scim_api_key = api_key  # type: ignore[attr-defined]
                request.scim_company_id = company_id  # type: ignore[attr-defined]
                activity.api_key_id, activity.company_id = api_key.pk, company_id
                response = self._too_large(request) or self.get_response(request, *args, **kwargs)

        if rejection is not None and company_id is None:
            unauthenticated_attempts.add(
                client_ip=client_ip_address(request) or "", reason=rejection
            )
            return response
        self._record(
            request,
            response,
            activity=activity,
            api_key_id=api_key.pk if api_key else None,
            company_id=company_id,
            rejected=rejection is not None,
        )
        return response

    @classmethod
    def _throttle_failure(cls, request: HttpRequest, rejection: str) -> HttpResponse | None:
        """429 when this IP is over its failed-attempt limit (not logged: no company to log for).

        Revoked and expired keys are Entra holding an old key; they stay 401s, logged for the
        company that owned the key, and never count against the IP.
        """
        if rejection in (KeyRejection.REVOKED, KeyRejection.EXPIRED):
            return None
        decision = throttle.auth_failure_register(client_ip=client_ip_address(request) or "")
        if decision.allowed:
            return None
        response = cls._too_many_requests(
            decision,
            detail="Too many failed authentication attempts from this address. "
            f"Retry after {decision.retry_after} s.",
        )
        response["WWW-Authenticate"] = WWW_AUTHENTICATE
        return response

    @staticmethod
    def _too_many_requests(decision: throttle.Decision, *, detail: str) -> HttpResponse:
        return response_for_exception(TooManyRequests(detail, retry_after=decision.retry_after))

    @staticmethod
    def _notify_rejected_use(api_key) -> None:
        """Entra still sends a revoked or expired key: the admins hear of it (once a day)."""
        try:
            api_key_rejected_use_notify(api_key=api_key)
        except DatabaseError:
            logger.exception("Could not record the use of refused API key %s", api_key.pk)

    @staticmethod
    def _unauthorized(rejection: str | None) -> HttpResponse:
        response = error_response(status=401, detail=_REJECTION_DETAIL.get(rejection, ""))
        response["WWW-Authenticate"] = WWW_AUTHENTICATE
        return response

    @staticmethod
    def _too_large(request: HttpRequest) -> HttpResponse | None:
        # Decided on the declared length, before Django reads or parses the body.
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(status=400, detail="Invalid Content-Length.")
        if length > MAX_PAYLOAD_BYTES:
            return error_response(
                status=413,
                detail=f"The request body is larger than {MAX_PAYLOAD_BYTES} bytes.",
            )
        return None

    @staticmethod
    def _record(
        request: HttpRequest,
        response: HttpResponse,
        *,
        activity: RequestActivity,
        api_key_id: int | None,
        company_id: int | None,
        rejected: bool,
    ) -> None:
        if activity.recorded:  # a change, recorded in its own transaction by the view
            return
        activity.api_key_id, activity.company_id = api_key_id, company_id
        scim_type = detail = ""
        if response.status_code >= 400:
            try:
                body = json.loads(response.content or b"{}")
            except ValueError:
                body = {}
            scim_type = str(body.get("scimType", ""))
            detail = str(body.get("detail", ""))
            outcome = (
                ProvisioningEvent.Outcome.REJECTED_KEY
                if rejected
                else ProvisioningEvent.Outcome.FAILED
            )
        else:
            outcome = ProvisioningEvent.Outcome.SUCCESS
        try:
            activity.record(
                status_code=response.status_code,
                outcome=outcome,
                scim_type=scim_type,
                detail=detail,
            )
        except DatabaseError:
            # The answer to Entra matters more than its log line; the failure is logged.
            logger.exception(
                "Could not record the SCIM request %s %s", request.method, request.path
            )
