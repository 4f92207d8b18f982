"""The Celery app: configured from Django settings (CELERY_* names), tasks autodiscovered."""

import os
from pathlib import Path

from celery import Celery
from celery.signals import task_postrun

from . import metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qaportal.settings.dev")

app = Celery("qaportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def ensure_filesystem_broker_folders() -> None:
    """Create the folders of kombu's filesystem transport (the `make run` default).

    The transport does not create them itself, and the web process, the worker and beat may
    start in any order, so every process that loads the app makes sure they exist.
    """
    if not str(app.conf.broker_url or "").startswith("filesystem://"):
        return
    options = app.conf.broker_transport_options or {}
    names = ["data_folder_in", "data_folder_out", "control_folder"]
    if options.get("store_processed"):
        names.append("processed_folder")
    for name in names:
        if options.get(name):
            Path(options[name]).mkdir(parents=True, exist_ok=True)


@app.on_after_configure.connect
def _on_after_configure(sender: Celery, **kwargs: object) -> None:
    ensure_filesystem_broker_folders()


@task_postrun.connect(weak=False)
def _count_task_run(sender: object = None, state: str | None = None, **kwargs: object) -> None:
    """Every finished task run, by task name and state, for Prometheus (qaportal/metrics.py)."""
    metrics.observe_celery_task(task_name=getattr(sender, "name", ""), state=state or "")
