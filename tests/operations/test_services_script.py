"""scripts/services, which `make test` and CI run first, starts a local Redis that is down.

Only a Redis of its own, on a free port, is started here (and shut down): the shared servers
are never stopped. PostgreSQL is the one this suite already uses, so the script finds it up.
"""

import os
import shutil
import subprocess

import pytest
import redis

from tests.operations.conftest import ROOT
from tests.servers import free_port

SCRIPT = ROOT / "scripts" / "services"


@pytest.fixture
def redis_port():
    port = free_port()
    try:
        yield port
    finally:
        subprocess.run(  # noqa: S603 - fixed argv
            ["redis-cli", "-p", str(port), "shutdown", "nosave"],  # noqa: S607 - on PATH
            capture_output=True,
            timeout=10,
            check=False,
        )


def _answers(port: int) -> bool:
    try:
        return bool(redis.Redis(port=port, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def test_the_script_starts_redis_when_it_is_down_and_leaves_it_alone_when_up(redis_port):
    needed = ("redis-server", "redis-cli", "pg_isready", "chromium", "npm")
    if missing := [name for name in needed if shutil.which(name) is None]:
        pytest.skip(f"would install {missing} first")  # as root, with apt-get: not in a test
    env = {
        **os.environ,
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x"),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/3",
    }
    assert not _answers(redis_port)

    first = subprocess.run(  # noqa: S603 - fixed argv
        [str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert first.returncode == 0, first.stderr
    assert f"starting Redis on 127.0.0.1:{redis_port}" in first.stdout
    assert _answers(redis_port)

    again = subprocess.run(  # noqa: S603 - fixed argv
        [str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""
