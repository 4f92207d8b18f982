"""`manage.py check --deploy` is clean in production with a real secret key.

Run in a subprocess: the deploy checks read settings made at import from the environment,
which the test run's settings module has already fixed.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def deploy_check(
    *, fail_level: str = "WARNING", **env_overrides: str
) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="portal.qa.example",
        QA_SSO_ENCRYPTION_KEYS="tDqvFFxgkFzXHhE3OWxq3nFFA0p5-CdKMyvsH2VLCvk=",
        REDIS_URL="redis://127.0.0.1:6379/15",
        QA_PORTAL_URL="https://portal.qa.example",
        EMAIL_URL="smtp+tls://mailer:mail-password@smtp.qa.example:587",
        DATABASE_URL=os.environ.get("DATABASE_URL", "sqlite:////tmp/qaportal-deploy-check.db"),
    )
    env.update(env_overrides)
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", fail_level],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "settings_module", ["qaportal.settings.production", "qaportal.settings.base"]
)
def test_deploy_check_is_clean_with_debug_off_and_a_real_secret_key(settings_module):
    result = deploy_check(DJANGO_SETTINGS_MODULE=settings_module)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_deploy_check_fails_on_a_weak_secret_key():
    """The check above would notice a regression: a short key is a warning, and fails it."""
    result = deploy_check(
        DJANGO_SETTINGS_MODULE="qaportal.settings.production", DJANGO_SECRET_KEY="too-short"
    )
    assert result.returncode != 0
    assert "security.W009" in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = deploy_check(
        DJANGO_SETTINGS_MODULE="qaportal.settings.production", DJANGO_SECRET_KEY=""
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_deploy_check_fails_when_sso_secrets_have_no_key_of_their_own():
    """An error, which fails `check --deploy` at its default level, not only with
    --fail-level WARNING."""
    result = deploy_check(
        DJANGO_SETTINGS_MODULE="qaportal.settings.production",
        QA_SSO_ENCRYPTION_KEYS="",
        fail_level="ERROR",
    )
    assert result.returncode != 0
    assert "sso.E002" in result.stderr
    assert "ERRORS:" in result.stderr


def test_a_malformed_sso_encryption_key_is_an_error():
    result = deploy_check(
        DJANGO_SETTINGS_MODULE="qaportal.settings.production", QA_SSO_ENCRYPTION_KEYS="not-a-key"
    )
    assert result.returncode != 0
    assert "sso.E001" in result.stderr


@pytest.mark.parametrize(
    ("overrides", "check_id"),
    [
        ({"REDIS_URL": ""}, "integrations.W001"),
        ({"QA_PORTAL_URL": "http://localhost:8000"}, "integrations.W002"),
        ({"EMAIL_URL": ""}, "integrations.W003"),
    ],
)
def test_deploy_check_warns_about_a_one_machine_broker_a_local_portal_url_or_undelivered_email(
    overrides, check_id
):
    result = deploy_check(DJANGO_SETTINGS_MODULE="qaportal.settings.production", **overrides)
    assert result.returncode != 0
    assert check_id in result.stderr
