"""Logging for the workers: text for people, or one JSON object per line for log collectors (DSR_LOG_FORMAT)."""

from __future__ import annotations

import logging
import sys
import time

from pythonjsonlogger.json import JsonFormatter

from streams import request_log

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Libraries that log per message or per connection at INFO; the pipeline's own loggers keep the chosen level.
NOISY = ("aiokafka", "kafka", "faust.transport", "faust.tables", "faust.assignor", "aiohttp.access")


class PipelineJsonFormatter(JsonFormatter):
    """time, level, logger, event, and the request id of the case whose step logged the line (streams.request_log:
    set around each consumed message), or the one a caller passed (`extra={"request_id": ...}`).
    The pipeline never logs personal data; log messages carry types, ids and counts; a request id is a uuid."""

    def add_fields(self, log_record: dict, record: logging.LogRecord, message_dict: dict) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record["time"] = self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z"
        log_record["level"] = record.levelname.lower()
        log_record["logger"] = record.name
        log_record["event"] = log_record.pop("message", record.getMessage())
        if "request_id" not in log_record and (current := request_log.request_id()) is not None:
            log_record["request_id"] = current
        if record.exc_info:
            log_record["exception"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            log_record.pop("exc_info", None)


def configure_logging(log_format: str, level: str) -> None:
    """Replace the root handlers: one handler on stderr, in the chosen format; UTC timestamps."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        formatter: logging.Formatter = PipelineJsonFormatter(reserved_attrs=_RESERVED)
    else:
        formatter = logging.Formatter(TEXT_FORMAT)
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in NOISY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


# Attributes of every LogRecord left out of the JSON object (only the fields above and `extra` go in).
_RESERVED = [
    "args",
    "asctime",
    "created",
    "exc_info",
    "exc_text",
    "filename",
    "funcName",
    "levelname",
    "levelno",
    "lineno",
    "module",
    "msecs",
    "msg",
    "name",
    "pathname",
    "process",
    "processName",
    "relativeCreated",
    "stack_info",
    "thread",
    "threadName",
    "taskName",
    "message",
]
