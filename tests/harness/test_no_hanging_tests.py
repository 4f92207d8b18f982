"""The test suite cannot hang: every wait is bounded, and pytest-timeout is the backstop."""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.scim_hardening.conftest import requests_until_refused

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent

# The only `while` loops in tests/, each bounded by a deadline or an event it is handed.
BOUNDED_WHILE_LOOPS = {
    ("celery/conftest.py", "wait_for"),  # a deadline
    ("servers.py", "wait_until"),  # a deadline
    ("oidc_provider/fixture.py", "local_entra"),  # a startup deadline
    ("scim_hardening/test_faults.py", "traffic"),  # a thread stopped by an Event, then joined
}


class _WhileFinder(ast.NodeVisitor):
    """(file, innermost enclosing function) of every `while` loop."""

    def __init__(self, path: str) -> None:
        self.path, self.functions, self.found = path, ["<module>"], set()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815 - ast.NodeVisitor naming

    def visit_While(self, node: ast.While) -> None:
        self.found.add((self.path, self.functions[-1]))
        self.generic_visit(node)


def _while_loops() -> set[tuple[str, str]]:
    found = set()
    for path in TESTS.rglob("*.py"):
        finder = _WhileFinder(path.relative_to(TESTS).as_posix())
        finder.visit(ast.parse(path.read_text(encoding="utf-8")))
        found |= finder.found
    return found


def test_every_while_loop_in_the_tests_is_a_known_bounded_one():
    unexpected = _while_loops() - BOUNDED_WHILE_LOOPS
    assert not unexpected, (
        "Loop with a bound instead (wait_for, wait_until, requests_until_refused, or "
        f"`for _ in range(limit)` with an else that fails): {sorted(unexpected)}"
    )


def test_a_limiter_that_never_refuses_fails_the_wait_instead_of_hanging_it():
    class Answer:
        status_code = 200

    with pytest.raises(pytest.fail.Exception, match="no request was refused with 429 in 5"):
        requests_until_refused(Answer, limit=5)


def test_a_global_timeout_is_configured():
    options = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]
    assert 60 <= int(options["ini_options"]["timeout"]) <= 600


def test_a_hanging_test_is_stopped_by_the_timeout(tmp_path):
    hanging = tmp_path / "test_hangs.py"
    hanging.write_text(
        "import time\n\ndef test_hangs():\n    while True:\n        time.sleep(0.05)\n"
    )
    completed = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [
            sys.executable,
            "-m",
            "pytest",
            str(hanging),
            "-p",
            "no:django",
            "-p",
            "no:cacheprovider",
            "-o",
            "timeout=2",
            "-q",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "Timeout (>2.0s) from pytest-timeout" in completed.stdout
