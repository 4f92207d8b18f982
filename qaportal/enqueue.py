"""Queueing Celery tasks, written once: by registered name, on commit, never stalling a request.

- **By name** (`"integrations.tasks.api_key_expire"`): the code that queues a task does not
  import the tasks module, which imports the services, so no module imports another in a
  circle.
- **On commit** of the current transaction (at once outside one): a task never runs before
  the rows it reads are committed, and a rolled-back change queues nothing.
- **Bounded**: publishing does not retry and uses its own broker connection with short socket
  timeouts (QA_ENQUEUE_TIMEOUT_SECONDS), so a broker that is down or hung costs a request at
  most about twice that. When the broker cannot take the message the warning is logged and
  `on_broker_down` runs (e.g. to give back a claim); every task queued here is also caught up
  by a beat sweep, so nothing is lost for good.
"""

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# What kombu raises when it cannot reach the broker, and what a socket timeout raises.
BROKER_ERRORS = (OperationalError, OSError)


def task_enqueue(
    name: str,
    *,
    args: Sequence = (),
    eta: datetime | None = None,
    on_broker_down: Callable[[], None] | None = None,
) -> None:
    """Queue the task registered as `name` once the current transaction commits.

    Never raises for a broker outage: see the module docstring.
    """
    arguments = list(args)
    transaction.on_commit(lambda: _publish(name, arguments, eta, on_broker_down))


def _publish(
    name: str, args: list, eta: datetime | None, on_broker_down: Callable[[], None] | None
) -> None:
    # Imported here: the Celery app reads Django settings, and this module is imported by
    # services that load before Celery is configured (management commands, migrations).
    from qaportal.celery import app

    try:
        with app.connection_for_write(transport_options=_transport_options(app)) as connection:
            app.send_task(name, args=args, eta=eta, connection=connection, retry=False)
    except BROKER_ERRORS:
        logger.warning("Could not queue %s%s; the beat sweep will catch up.", name, tuple(args))
        if on_broker_down is not None:
            on_broker_down()


def _transport_options(app) -> dict:
    # One connection attempt: kombu otherwise retries for as long as its connect timeout,
    # measured on a clock that a frozen test clock (or a hung broker) never lets run out.
    options = {**(app.conf.broker_transport_options or {}), "max_retries": 0}
    if str(app.conf.broker_url or "").startswith(("redis://", "rediss://")):
        timeout = settings.QA_ENQUEUE_TIMEOUT_SECONDS
        options.update(socket_connect_timeout=timeout, socket_timeout=timeout)
    return options
