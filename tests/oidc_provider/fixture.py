"""`local_entra`: a local OpenID Connect provider imitating Entra ID's v2.0 endpoints.

It runs in its own process (`python -m django runserver` on tests.oidc_provider.settings, its
own SQLite in a temp dir), so the portal under test reaches it over real HTTP exactly as it
reaches login.microsoftonline.com. Import the fixtures where they are used:

    from tests.oidc_provider.fixture import entra, local_entra  # noqa: F401

Nothing here imports the provider's Django modules: this file runs under the portal's settings.
"""

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
SETTINGS_MODULE = "tests.oidc_provider.settings"
TIMEOUT = 10.0
STARTUP_TIMEOUT = 30.0
# Authorize -> sign-in page -> POST -> authorize -> client; a loop means a broken provider.
MAX_HOPS = 10


class SignInFailed(AssertionError):
    """The provider's sign-in did not end in a redirect back to the client."""


class _SignInFormParser(HTMLParser):
    """The sign-in page's POST form: its action and its inputs' names and values."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form" and (attributes.get("method") or "").lower() == "post":
            self._in_form = True
            self.action = attributes.get("action") or ""
        elif tag == "input" and self._in_form and attributes.get("name"):
            self.fields[attributes["name"]] = attributes.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


@dataclass
class LocalEntra:
    """A running local Entra-like provider and its control API."""

    authority: str  # "http://127.0.0.1:PORT", in place of https://login.microsoftonline.com
    control_token: str = field(repr=False)
    _control: requests.Session = field(default_factory=requests.Session, repr=False)

    def issuer(self, tenant: str) -> str:
        return f"{self.authority}/{tenant}/v2.0"

    def authorization_endpoint(self, tenant: str) -> str:
        return f"{self.authority}/{tenant}/oauth2/v2.0/authorize"

    def token_endpoint(self, tenant: str) -> str:
        return f"{self.authority}/{tenant}/oauth2/v2.0/token"

    def jwks_uri(self, tenant: str) -> str:
        return f"{self.authority}/{tenant}/discovery/v2.0/keys"

    def add_user(self, username: str, password: str, oid: str | None = None, name: str = "") -> str:
        """Create (or update) a directory user; returns its object id (`oid` claim)."""
        body = {"username": username, "password": password, "name": name}
        if oid is not None:
            body["oid"] = oid
        return self._call("POST", "users", body)["oid"]

    def register_client(self, client_id: str, client_secret: str, redirect_uris: list[str]) -> None:
        """Register (or update) a confidential web app that skips consent."""
        self._call(
            "POST",
            "clients",
            {
                "client_id": client_id,
                "client_secret": client_secret,
                "redirect_uris": redirect_uris,
            },
        )

    def set_fault(self, mode: str | None) -> None:
        """Break every ID token issued from now on in one way (None: behave)."""
        self._call("POST", "faults", {"mode": mode})

    def rotate_key(self) -> str:
        """Sign with a new key from now on; old keys stay in the JWKS. Returns the new kid."""
        return self._call("POST", "rotate-key")["kid"]

    def stats(self) -> dict[str, int]:
        """Requests since start or the last reset: {"jwks_requests": n, "token_requests": n}."""
        return self._call("GET", "stats")

    def reset(self) -> None:
        """Faults off, counters zero; users, clients and keys are kept."""
        self._call("POST", "reset")

    def sign_in(
        self, http: requests.Session, authorize_url: str, username: str, password: str
    ) -> str:
        """Sign in on the provider's own page; return the redirect back to the client, unfollowed.

        The returned URL carries `code` and `state` (or `error`). `http` keeps the provider's
        session cookie, so a second call with the same session skips the sign-in page, as a
        browser already signed in to Microsoft would.
        """
        response = http.get(authorize_url, allow_redirects=False, timeout=TIMEOUT)
        submitted = False
        for _ in range(MAX_HOPS):
            if response.is_redirect:
                location = urljoin(response.url, response.headers["Location"])
                if not self._is_provider_url(location):
                    return location
                response = http.get(location, allow_redirects=False, timeout=TIMEOUT)
                continue
            form = _SignInFormParser()
            form.feed(response.text)
            if response.status_code != 200 or form.action is None:
                raise SignInFailed(
                    f"{response.status_code} from {response.url}: {response.text[:2000]}"
                )
            if submitted:
                raise SignInFailed(f"the provider did not accept {username!r} and its password")
            response = http.post(
                urljoin(response.url, form.action),
                data={**form.fields, "username": username, "password": password},
                allow_redirects=False,
                timeout=TIMEOUT,
            )
            submitted = True
        raise SignInFailed(f"more than {MAX_HOPS} redirects inside the provider")

    def is_up(self) -> bool:
        try:
            self._call("GET", "stats", timeout=1.0)
        except requests.RequestException:
            return False
        return True

    def _is_provider_url(self, url: str) -> bool:
        own = urlsplit(self.authority)
        other = urlsplit(url)
        return (other.scheme, other.netloc) == (own.scheme, own.netloc)

    def _call(
        self, method: str, action: str, body: dict | None = None, timeout: float = TIMEOUT
    ) -> dict:
        response = self._control.request(
            method,
            f"{self.authority}/_control/{action}",
            json=body,
            headers={"X-Control-Token": self.control_token},
            timeout=timeout,
        )
        response.raise_for_status()
        return response.json()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _provider_env(database: Path, control_token: str) -> dict[str, str]:
    pythonpath = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return {
        **os.environ,
        # pytest-django has put the portal's settings in the environment; replace them.
        "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
        "OIDC_PROVIDER_DB": str(database),
        "OIDC_PROVIDER_CONTROL_TOKEN": control_token,
        "PYTHONPATH": pythonpath,
        "PYTHONUNBUFFERED": "1",
    }


def _fail_startup(message: str, output: str) -> None:
    print(f"local_entra: {message}\n{output}", file=sys.stderr)
    pytest.fail(f"local_entra: {message}\n{output}", pytrace=False)


@pytest.fixture(scope="session")
def local_entra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEntra]:
    """The provider, started once per test session on a free port of 127.0.0.1."""
    workdir = tmp_path_factory.mktemp("local_entra")
    control_token = secrets.token_urlsafe(32)
    env = _provider_env(workdir / "provider.sqlite3", control_token)
    django = [sys.executable, "-m", "django"]

    migrated = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [*django, "migrate", "--run-syncdb", "-v0"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if migrated.returncode != 0:
        _fail_startup("migrate failed", migrated.stdout + migrated.stderr)

    port = _free_port()
    log_path = workdir / "provider.log"
    # A file, not a pipe: runserver logs every request, and a full pipe would block it.
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [*django, "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    provider = LocalEntra(authority=f"http://127.0.0.1:{port}", control_token=control_token)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not provider.is_up():
            if process.poll() is not None:
                _fail_startup(f"exited with {process.returncode}", log_path.read_text())
            if time.monotonic() > deadline:
                _fail_startup(f"no answer in {STARTUP_TIMEOUT}s", log_path.read_text())
            time.sleep(0.05)
        yield provider
    finally:
        provider._control.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def entra(local_entra: LocalEntra) -> LocalEntra:
    """The session's provider with faults off and counters at zero."""
    local_entra.reset()
    return local_entra
