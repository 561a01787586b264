"""Keep link tokens out of logs.

Django's request loggers (`django.request` for errors, `django.server` for runserver's
access log) write the request path, and a patient link's path holds its token
(/l/<token>/). This filter rewrites such paths in the message and its arguments before
any handler sees the record. Installed on those loggers and on the console handler.
"""

import logging
import re

_LINK_PATH = re.compile(r"(/l/)[^/\s\"'?]+")
REDACTED = r"\1[redacted]"


def redact(value):
    if isinstance(value, str):
        return _LINK_PATH.sub(REDACTED, value)
    return value


class RedactLinkTokens(logging.Filter):
    def filter(self, record):
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(str(a)) if _has_path(a) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(str(v)) if _has_path(v) else v
                           for k, v in record.args.items()}
        # The request object Django attaches is for handlers that print it (e.g. email
        # to admins); none here should, so drop it rather than risk its path.
        if hasattr(record, "request"):
            record.request = None
        return True


def _has_path(value) -> bool:
    return "/l/" in str(value)
