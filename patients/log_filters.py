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
        # The message is formatted first and redacted whole: redacting the template
        # alone would eat a "/l/%s/" placeholder and leave its argument unformattable
        # (the line lost to a logging error), and a path can also be split between
        # the template and an argument.
        if isinstance(record.msg, str) and (_has_path(record.msg) or _args_have_path(record)):
            try:
                message = record.getMessage()
            except (TypeError, ValueError):
                message = record.msg  # a malformed call: keep the template, drop the args
            record.msg, record.args = redact(message), ()
        # The request object Django attaches is for handlers that print it (e.g. email
        # to admins); none here should, so drop it rather than risk its path.
        if hasattr(record, "request"):
            record.request = None
        return True


def _has_path(value) -> bool:
    return "/l/" in str(value)


def _args_have_path(record) -> bool:
    args = record.args.values() if isinstance(record.args, dict) else (record.args or ())
    return any(_has_path(a) for a in args)
