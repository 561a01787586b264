"""The link-token filter (patients/log_filters.py) on Django's loggers and handlers."""

import logging

from patients.log_filters import RedactLinkTokens


def record(msg, *args):
    # As Logger.info(msg, *args) makes it (a single mapping becomes the args).
    return logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, None)


def redacted(msg, *args):
    r = record(msg, *args)
    assert RedactLinkTokens().filter(r) is True
    return r.getMessage()


def test_a_token_in_the_template_or_the_arguments_is_redacted():
    assert redacted("Not Found: /l/abc123/") == "Not Found: /l/[redacted]/"
    assert redacted("%s: %s", "Not Found", "/l/abc123/") == "Not Found: /l/[redacted]/"
    assert redacted("%(path)s", {"path": "/l/abc123/"}) == "/l/[redacted]/"


def test_a_placeholder_after_the_link_prefix_still_formats():
    # Before: the template lost its "%s" to the redaction and the line was lost
    # ("not all arguments converted" in logging's own error handler).
    assert redacted("Opening /l/%s/ for %s", "abc123", "link 7") == (
        "Opening /l/[redacted]/ for link 7")


def test_other_lines_are_untouched():
    r = record("Filed submission %s", "5b1e")
    RedactLinkTokens().filter(r)
    assert (r.msg, r.args) == ("Filed submission %s", ("5b1e",))


def test_encoded_links_and_secret_query_parameters_are_redacted():
    # The one rule gunicorn's access log uses too (gunicorn.conf.py).
    assert redacted('"GET /account/login/?next=%2Fl%2FAbc_1%2F HTTP/1.1"') == (
        '"GET /account/login/?next=%2Fl%2F[redacted]%2F HTTP/1.1"')
    assert redacted("GET /api/v1/patients/?page=2&API_KEY=k1;token=t2&code=9") == (
        "GET /api/v1/patients/?page=2&API_KEY=[redacted];token=[redacted]&code=[redacted]")
    assert redacted("%s", "api_key=k1") == "api_key=[redacted]"  # a bare query string
    assert redacted("GET /x/?monkey=1&keyboard=2") == "GET /x/?monkey=1&keyboard=2"
