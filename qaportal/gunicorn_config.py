"""gunicorn settings of the web process: `gunicorn --config python:qaportal.gunicorn_config`.

- Binds 0.0.0.0:$PORT (8000) with $WEB_CONCURRENCY sync workers (2).
- Access log on stdout, one line per request: client, method, path *without the query string*
  (SCIM filters carry learners' email addresses; keys travel only in the Authorization header,
  which is never logged), status, bytes, milliseconds and the request id. The probes
  (/healthz, /readyz, /metrics) are not logged.
- With DJANGO_LOG_FORMAT=json, gunicorn's own lines are JSON objects too.
- With PROMETHEUS_MULTIPROC_DIR, a worker that exits is marked dead for prometheus_client.
"""

import os

from gunicorn.glogging import Logger

from qaportal.probes import PROBES

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms %({x-request-id}o)s'
logger_class = "qaportal.gunicorn_config.AccessLogWithoutProbes"


class AccessLogWithoutProbes(Logger):
    """gunicorn's logger, without access lines for the probes (polled every few seconds), and
    without query strings in its "Error handling request <uri>" lines either."""

    def access(self, resp, req, environ, request_time) -> None:
        if environ.get("PATH_INFO") in PROBES:
            return
        super().access(resp, req, environ, request_time)

    def exception(self, msg: str, *args: object, **kwargs: object) -> None:
        paths = [
            arg.split("?", 1)[0] if isinstance(arg, str) and arg.startswith("/") else arg
            for arg in args
        ]
        super().exception(msg, *paths, **kwargs)


if os.environ.get("DJANGO_LOG_FORMAT") == "json":
    logconfig_dict = {
        "formatters": {"json": {"()": "qaportal.log_format.JsonLogFormatter"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            },
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
        },
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        },
    }


def child_exit(server, worker) -> None:
    """A worker ended: prometheus_client drops its live samples (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
