"""Error reports reach Sentry without secrets; JSON logs carry the request id.

A production web process runs with SENTRY_DSN pointing at a small HTTP server on 127.0.0.1
standing in for Sentry (it keeps every envelope it receives), DJANGO_LOG_FORMAT=json, and a
database that is down, so real requests fail for real: SCIM requests carrying an API key and
a password (the key check cannot reach PostgreSQL: a logged error and a 503) and the sign-in
page asked with a password in its query string (an unhandled error: a 500).
"""

import gzip
import json
import re
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import requests

from integrations.api_key_format import build_key, new_public_id
from qaportal.error_reporting import FILTERED, scrub_event
from tests.operations.conftest import WebProcess, production_env, start_web_process
from tests.servers import free_port, wait_until

API_KEY = build_key(new_public_id())
PASSWORD = "correct horse battery staple 42"
SESSION_COOKIE = "s3ss10n-c00kie-value-never-reported"
CLIENT_REQUEST_ID = "lb-7f3a9c1e-request"


class SentryStandIn(ThreadingHTTPServer):
    """Receives what sentry-sdk sends (envelopes, maybe compressed) and keeps it as text."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", free_port()), _EnvelopeHandler)
        self.envelopes: list[str] = []

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server_address[1]}/1"

    def events(self) -> list[dict]:
        """The error events of every envelope (items of type "event")."""
        found = []
        for envelope in self.envelopes:
            lines = envelope.splitlines()
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                if json.loads(header).get("type") == "event":
                    found.append(json.loads(payload))
        return found


class _EnvelopeHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":
            import brotli  # only when the SDK found it installed

            body = brotli.decompress(body)
        self.server.envelopes.append(body.decode())
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def sentry() -> Iterator[SentryStandIn]:
    server = SentryStandIn()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def failing_web(sentry, tmp_path_factory) -> Iterator[WebProcess]:
    """Production settings, Sentry on, JSON logs, and no database listening."""
    env = production_env(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/qaportal",
        SENTRY_DSN=sentry.dsn,
        SENTRY_ENVIRONMENT="test",
        DJANGO_LOG_FORMAT="json",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
    )
    web = start_web_process(env, Path(tmp_path_factory.mktemp("web")) / "web.log")
    try:
        yield web
    finally:
        web.stop()


@pytest.fixture(scope="module")
def failed_requests(failing_web: WebProcess, sentry: SentryStandIn) -> dict:
    """Two SCIM requests and the sign-in page, sent once; waits for their error reports."""
    scim = requests.get(
        f"{failing_web.origin}/webhooks/ad/v1/scim/Users",
        params={"filter": 'userName eq "alice@contoso.com"', "key": API_KEY},
        headers={
            "Authorization": f"Bearer {API_KEY}",
            "Cookie": f"sessionid={SESSION_COOKIE}",
            "X-Request-ID": CLIENT_REQUEST_ID,
        },
        timeout=15,
    )
    scim_create = requests.post(
        f"{failing_web.origin}/webhooks/ad/v1/scim/Users",
        json={"userName": "alice@contoso.com", "password": PASSWORD},
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/scim+json"},
        timeout=15,
    )
    # The sign-in page reads the database for any visitor: an unhandled error, a 500. (Its
    # error page then misses the static files manifest: no collectstatic ran for this server.)
    sign_in = requests.get(
        f"{failing_web.origin}/login/",
        params={"password": PASSWORD, "next": "/"},
        headers={"Cookie": f"sessionid={SESSION_COOKIE}"},
        timeout=15,
    )
    assert wait_until(lambda: len(sentry.events()) >= 3, timeout=20), failing_web.log()
    return {"scim": scim, "scim_create": scim_create, "sign_in": sign_in}


def test_errors_are_reported_to_sentry(failed_requests, sentry):
    assert failed_requests["scim"].status_code == 503
    assert failed_requests["scim_create"].status_code == 503
    assert failed_requests["sign_in"].status_code == 500
    events = sentry.events()
    exception_types = {
        value["type"] for event in events for value in event.get("exception", {}).get("values", [])
    }
    assert "OperationalError" in exception_types
    assert {event["environment"] for event in events} == {"test"}
    assert {event["tags"]["request_id"] for event in events} >= {CLIENT_REQUEST_ID}


def test_error_reports_hold_no_key_password_cookie_or_authorization(failed_requests, sentry):
    time.sleep(0.5)  # anything else the processes had queued for Sentry has arrived
    everything = "\n".join(sentry.envelopes)
    assert API_KEY not in everything
    assert "qa_scim_" not in everything
    for secret in (PASSWORD, quote_plus(PASSWORD), quote(PASSWORD)):
        assert secret not in everything
    assert SESSION_COOKIE not in everything
    assert "alice" not in everything  # the learner of the SCIM filter and body
    for event in sentry.events():
        headers = {
            name.lower(): value
            for name, value in event.get("request", {}).get("headers", {}).items()
        }
        for name in ("authorization", "cookie"):
            assert headers.get(name, FILTERED) in {FILTERED, ""}, (name, headers[name])
        assert not event["request"].get("data")  # no request bodies at all
        assert "query_string" not in event["request"]  # nor query strings


def test_json_logs_are_one_object_per_line_with_the_request_id(failed_requests, failing_web):
    lines = [line for line in failing_web.log().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object

    scim_errors = [r for r in records if r.get("logger") == "scim.middleware"]
    assert scim_errors, lines
    assert scim_errors[0]["level"] == "ERROR"
    assert scim_errors[0]["request_id"] == CLIENT_REQUEST_ID
    assert "OperationalError" in scim_errors[0]["exc_info"]
    # The answer carries the id it was given; requests without one get a fresh id.
    assert failed_requests["scim"].headers["X-Request-ID"] == CLIENT_REQUEST_ID
    assert re.fullmatch(r"[0-9a-f]{32}", failed_requests["scim_create"].headers["X-Request-ID"])

    # Django's line about the 503, written after the middleware returned, has the id too.
    answered = [r for r in records if r.get("logger") == "django.request"]
    assert {r["request_id"] for r in answered} >= {CLIENT_REQUEST_ID}
    assert "request" not in answered[0]  # the request's text holds its query string

    access = [r for r in records if r.get("logger") == "gunicorn.access"]
    scim_access = [r for r in access if "/webhooks/ad/v1/scim/Users" in r["message"]]
    assert scim_access and CLIENT_REQUEST_ID in scim_access[0]["message"]
    # Paths only: query strings (SCIM filters hold email addresses) are not logged.
    assert "alice@contoso.com" not in failing_web.log()
    assert API_KEY not in failing_web.log()
    for secret in (PASSWORD, quote_plus(PASSWORD), quote(PASSWORD)):
        assert secret not in failing_web.log()


def test_a_request_id_that_does_not_look_like_one_is_replaced(client):
    kept = client.get("/healthz-not", HTTP_X_REQUEST_ID="abc-123_DEF.456")
    assert kept["X-Request-ID"] == "abc-123_DEF.456"
    for insane in ["has spaces", "x" * 129, "new\nline", "<script>", "ü"]:
        replaced = client.get("/healthz-not", HTTP_X_REQUEST_ID=insane)
        assert re.fullmatch(r"[0-9a-f]{32}", replaced["X-Request-ID"])


def test_the_scrubber_removes_secrets_wherever_they_are():
    event = {
        "message": f"failed for Bearer {API_KEY} with client_secret=abc~123&next=/",
        "request": {
            "url": "https://portal.qa.example/sso/settings/",
            "query_string": f"filter=userName eq alice@contoso.com&password={PASSWORD}",
            "headers": {"Authorization": f"Bearer {API_KEY}", "X-Other": "kept"},
            "cookies": {"sessionid": SESSION_COOKIE},
        },
        "extra": {"form": {"client_secret": "Xy8Q~entra-secret", "tenant_id": "kept"}},
        "breadcrumbs": {"values": [{"message": f"key {API_KEY} refused"}]},
    }

    scrubbed = json.dumps(scrub_event(event, {}))

    for secret in (API_KEY, PASSWORD, SESSION_COOKIE, "Xy8Q~entra-secret", "abc~123", "alice"):
        assert secret not in scrubbed
    assert scrubbed.count(FILTERED) == 6
    assert "kept" in scrubbed and "next=/" in scrubbed
