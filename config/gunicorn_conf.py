"""gunicorn's settings for the portal: `gunicorn config.wsgi -c config/gunicorn_conf.py ...`.

Its access log goes to standard output with the tokens of tracking and password-reset
links written as [redacted] (common.logscrub), so a log shipped anywhere holds no key to a
complaint. Options given on the command line override these.
"""

from gunicorn.glogging import Logger

from common.logscrub import scrub

accesslog = "-"
errorlog = "-"


class ScrubbingLogger(Logger):
    """gunicorn's logger, every access-log field scrubbed (request line, path, query, referrer)."""

    def atoms(self, resp, req, environ, request_time):
        return {
            key: scrub(value) if isinstance(value, str) else value
            for key, value in super().atoms(resp, req, environ, request_time).items()
        }


logger_class = ScrubbingLogger
