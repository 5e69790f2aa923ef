"""Structured logs: one line per event, text or JSON, set up by ``fewlat serve`` only
(importing fewlat never attaches handlers)."""

from __future__ import annotations

import json
import logging
import sys

__all__ = ["configure_logging"]

#: attributes of every LogRecord; anything else on a record is a structured field
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        return line + "".join(f" {k}={v}" for k, v in fields.items())


def configure_logging(*, json_lines: bool = False, level: int = logging.INFO) -> None:
    """Send fewlat's logs to stderr as text (``key=value`` fields) or JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _JsonFormatter() if json_lines else _TextFormatter("%(asctime)s %(levelname)s %(message)s")
    )
    logger = logging.getLogger("fewlat")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
