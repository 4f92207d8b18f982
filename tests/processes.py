"""Other processes in tests: code run in a fresh Python process (for what a process decides
once, when it starts: settings read from the environment, connection options), and a second
database session, as another process would hold one."""

import subprocess
import sys
from pathlib import Path

import psycopg
from django.db import connection

REPO = Path(__file__).resolve().parents[1]


def last_line_printed(code: str, *, env: dict[str, str]) -> str:
    """Run `code` with this interpreter in the repository, and return its output's last line."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def another_session(*, autocommit: bool = False) -> psycopg.Connection:
    """A second PostgreSQL session on the test database, as another process would hold one
    (a migration, a concurrent request); the caller closes it."""
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        autocommit=autocommit,
    )
