"""Logs: JSON lines in production, plain text in development (settings LOG_FORMAT).

django-structlog binds a request id to every line a request writes and carries it in
the headers of every task the request enqueues, so a submission can be followed from
the web request into its worker's filing task (`request_id` in both). Lines written
through the standard library (Django, Celery, our own modules) go through the same
formatter and carry the same bound ids.

No patient data in any field: `redact_event` runs on every line of every format just
before it is rendered, whichever logger wrote it (and on structlog's events before they
become log records at all). It reuses the link-token redaction of
patients/log_filters.py on every string (message, request line, traceback), blanks
fields whose name says they hold patient data or secrets, and masks anything shaped
like an NHS number or a mobile number. The platform's own code logs ids and states
only; this is the net under it.
"""

import logging
import re
import sys

import structlog

from patients.log_filters import redact
from patients.outage import is_database_outage

# Field names that hold patient data or secrets, wherever they appear.
SENSITIVE_KEYS = frozenset({
    "answers", "answer", "draft_answers", "wizard_state", "nhs_number", "date_of_birth",
    "dob", "birth_date", "name", "first_name", "last_name", "given_name", "family_name",
    "email", "phone", "mobile", "mobile_number", "address", "postcode", "token",
    "password", "otp_code", "one_time_code", "otp_token", "authorization", "cookie",
    "secret",
})
# Ten digits, optionally grouped 3-3-4 as NHS numbers are written; UK mobile numbers.
_NUMBERS = re.compile(r"(?<![\w.-])(?:\d{3}[ -]?\d{3}[ -]?\d{4}|(?:\+44\s?|0)7\d{3}\s?\d{6})"
                      r"(?![\w.-])")
REDACTED = "[redacted]"


def _clean(value):
    if isinstance(value, str):
        return _NUMBERS.sub(REDACTED, redact(value))
    if isinstance(value, dict):
        return {k: REDACTED if str(k).lower() in SENSITIVE_KEYS else _clean(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_clean(v) for v in value]
    return value


def redact_event(logger, method_name, event_dict):
    """structlog processor: the event with patient data and secrets taken out."""
    return _clean(event_dict)


def drop_outage_failures(logger, method_name, event_dict):
    """structlog processor: no "request_failed" traceback for a lost database
    connection. django-structlog logs every exception a view raises, before the outage
    handling (patients/outage.py) answers "try again in a moment" or runs the request
    again; that handling logs the outage once, as a warning, and counts it."""
    if event_dict.get("event") == "request_failed":
        exc_info = event_dict.get("exc_info")
        error = (sys.exc_info()[1] if exc_info is True
                 else exc_info[1] if isinstance(exc_info, tuple)
                 else exc_info if isinstance(exc_info, BaseException) else None)
        if is_database_outage(error):
            raise structlog.DropEvent
    return event_dict


# Run on lines from the standard library before the shared rendering chain.
_FOREIGN_PRE_CHAIN = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.ExtraAdder(allow=["task_id"]),
]


def formatter(fmt: str) -> dict:
    """A logging formatter definition (settings.LOGGING) for LOG_FORMAT."""
    renderer = (structlog.processors.JSONRenderer(sort_keys=False) if fmt == "json"
                else structlog.dev.ConsoleRenderer(colors=False))
    return {
        "()": structlog.stdlib.ProcessorFormatter,
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_event,
            renderer,
        ],
        "foreign_pre_chain": _FOREIGN_PRE_CHAIN,
    }


def configure_structlog(fmt: str) -> None:
    """structlog's own loggers (django-structlog's events) hand their events to the
    standard library, so one handler and one formatter write every line."""
    if fmt == "json":
        # Python's warnings (Celery's, the libraries') as log lines too, not bare text.
        logging.captureWarnings(True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            drop_outage_failures,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.UnicodeDecoder(),
            # Here too, not only in the formatter: the record that any handler sees
            # (a test's, an error tracker's) carries the event already redacted.
            redact_event,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
