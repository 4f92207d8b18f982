"""Code run in a fresh Python process: for what a process decides once, when it starts
(settings read from the environment, connection options)."""

import subprocess
import sys
from pathlib import Path

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
