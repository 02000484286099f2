"""Secrets out of the logs: the tokens that grant access (a guest's tracking link, a
password-reset link) are written as "[redacted]" wherever a logged line carries a URL,
in Django's log records and in gunicorn's access log (config/gunicorn_conf.py)."""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

# Each URL that carries a secret in its path, the part before the secret kept.
# tests/config/test_logscrub.py checks that every URL pattern with a token is listed.
_SECRET_PATHS = [
    re.compile(r"(/complaints/track/)[^/\s?#\"']+"),
    re.compile(r"(/accounts/password/reset/[^/\s?#\"']+/)(?!set-password/)[^/\s?#\"']+"),
]


def scrub(text: str) -> str:
    """`text` with the secret of every URL of _SECRET_PATHS in it replaced by [redacted]."""
    if "/complaints/track/" not in text and "/password/reset/" not in text:
        return text
    for pattern in _SECRET_PATHS:
        text = pattern.sub(rf"\g<1>{REDACTED}", text)
    return text


class ScrubSecrets(logging.Filter):
    """A logging filter that scrubs each record's message (and its traceback's text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return True
