"""Keep link tokens and other secrets in URLs out of logs.

Django's request loggers (`django.request` for errors, `django.server` for runserver's
access log) and gunicorn's access and error logs (gunicorn.conf.py) write the request
path, and a patient link's path holds its token (/l/<token>/). This filter rewrites
such paths in the message and its arguments before any handler sees the record.
Installed on those loggers and on the console handler.

`redact` is the one rule for every log the platform writes: a link's token, raw or
percent-encoded (a `?next=%2Fl%2F...` or a Referer), and the value of any query
parameter whose name says it is a secret. The platform puts no secret in a query
string itself; a client that does (an API key pasted into a URL) must not leave it in
the access log either.
"""

import logging
import re

_SECRET_PARAMS = ("token", "access_token", "api_key", "apikey", "key", "secret",
                  "password", "passwd", "code", "otp", "otp_token", "sig", "signature")
# Group 1 is kept: the link prefix (/l/, or %2Fl%2F percent-encoded) or the parameter's
# name; what follows it up to the next separator is the secret.
_SECRET = re.compile(
    r"(/l/)[^/\s\"'?#&]+"
    r"|(%2Fl%2F)[^\s\"'?#&%]+"
    r"|((?:^|(?<=[?&;]))(?:" + "|".join(_SECRET_PARAMS) + r")=)[^&;#\s\"']+",
    re.IGNORECASE)
REDACTED = "[redacted]"


def _keep_prefix(match):
    return next(g for g in match.groups() if g is not None) + REDACTED


def redact(value):
    if isinstance(value, str):
        return _SECRET.sub(_keep_prefix, value)
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
    return _SECRET.search(str(value)) is not None


def _args_have_path(record) -> bool:
    args = record.args.values() if isinstance(record.args, dict) else (record.args or ())
    return any(_has_path(a) for a in args)
