"""Error reports to Sentry (optional: only when SENTRY_DSN is set), with secrets scrubbed.

sentry-sdk with its Django and Celery integrations reports unhandled errors of the web
processes and the worker, and error-level log records. What leaves for Sentry is cut down
first, then scrubbed:

- `send_default_pii=False`: no cookies, no Authorization header, no user, no client IP;
- no request bodies (`max_request_body_size="never"`) and no query strings: SCIM bodies and
  filters hold learners' personal data, and the sign-in form holds a password;
- no local variables of stack frames: a variable may hold a key or a secret under any name;
- `scrub_event` (before_send, and before_breadcrumb for breadcrumbs) replaces the value of
  every field whose name says secret (password, client_secret, authorization, cookie, ...),
  every API key (`qa_scim_...`) and bearer token wherever it appears in text, and
  `name=value` pairs with such names in query strings and messages.
"""

import re
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

FILTERED = "[Filtered]"

# Field names whose values never leave, compared lower-cased with "-" read as "_".
SECRET_FIELD_NAMES = frozenset(
    name.lower().replace("-", "_")
    for name in [
        *DEFAULT_DENYLIST,
        "client_secret",
        "plaintext",
        "raw_key",
        "api_key",
        "key_digest",
        "bearer",
        "http_authorization",
        "http_cookie",
        "encryption_keys",
        "secret_key",
        "dsn",
    ]
)
_API_KEY = re.compile(r"qa_scim_[A-Za-z0-9_]+")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[^\s\"',;]+")
_SECRET_PAIR = re.compile(
    r"(?i)\b(password|passwd|secret|client_secret|token|api_key|key|sessionid|csrftoken)"
    r"=[^&\s\"',;]*"
)


def scrub_text(text: str) -> str:
    """`text` with API keys, bearer tokens and secret `name=value` pairs replaced."""
    text = _API_KEY.sub(FILTERED, text)
    text = _BEARER.sub(rf"\1 {FILTERED}", text)
    return _SECRET_PAIR.sub(rf"\1={FILTERED}", text)


def _is_secret_field(name: object) -> bool:
    return isinstance(name, str) and name.lower().replace("-", "_") in SECRET_FIELD_NAMES


def scrub(value: Any) -> Any:
    """A copy of `value` (dicts, lists, strings) with every secret replaced by FILTERED."""
    if isinstance(value, dict):
        return {
            key: FILTERED if _is_secret_field(key) and item else scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """Sentry's before_send: the event without secrets (see the module docstring)."""
    scrubbed = scrub(event)
    request = scrubbed.get("request")
    if isinstance(request, dict):
        # SCIM filters name learners (userName eq "alice@contoso.com"): paths only, as in the
        # access log.
        request.pop("query_string", None)
    return scrubbed


def scrub_breadcrumb(crumb: dict, hint: dict | None = None) -> dict:
    return scrub(crumb)


def sentry_init(*, dsn: str, environment: str, release: str | None) -> None:
    """Start reporting to Sentry; called once by the settings when SENTRY_DSN is set."""
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        event_scrubber=EventScrubber(denylist=sorted(SECRET_FIELD_NAMES), recursive=True),
        before_send=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
    )
