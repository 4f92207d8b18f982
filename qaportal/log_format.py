"""The JSON log format (DJANGO_LOG_FORMAT=json): one object per line, for a log pipeline.

Used by Django's LOGGING (web and worker) and by gunicorn's own logs (qaportal.gunicorn_config).
"""

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter


class JsonLogFormatter(JsonFormatter):
    """`time`, `level`, `logger`, `message`, then what the record carries: `request_id`,
    `exc_info` (the traceback, escaped onto the one line) and any `extra` fields (Django's
    `status_code`), except the request object Django's loggers attach, whose text holds the
    query string (SCIM filters name learners)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            reserved_attrs=[*RESERVED_ATTRS, "request"],
        )
