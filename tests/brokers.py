"""Pointing the Celery app at another broker for one test, and back."""

from collections.abc import Iterator
from contextlib import contextmanager

from kombu import pools

from qaportal.celery import app as celery_app


def _drop_pooled_broker_connections() -> None:
    # Publishing reuses pooled connections: the app's pool and producer pool, both taken from
    # kombu's process-wide registry, keyed by broker URL (Celery.close() resets only the
    # first). Resetting the registry (it closes every pool and forgets them) and the app's
    # references makes a new broker_url take effect and leaves no closed pool behind for a
    # later publish to the same URL.
    pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def broker_url_set(url: str) -> Iterator[str]:
    """Publish to `url` inside the block; the original broker afterwards."""
    original = celery_app.conf.broker_url
    _drop_pooled_broker_connections()
    celery_app.conf.broker_url = url
    try:
        yield url
    finally:
        _drop_pooled_broker_connections()
        celery_app.conf.broker_url = original
