"""Test settings: the real settings, with the few values tests must differ on.

The database stays PostgreSQL and the broker stays Redis (DESIGN.md, Tests).
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789-abcdefghijklmnop")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("CELERY_RESULT_BACKEND", os.environ["CELERY_BROKER_URL"])
os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("EMAIL_BACKEND", "locmem")
# As in production: notices carry a reply address (tests of the portal without one clear it).
os.environ.setdefault("INBOUND_EMAIL_ADDRESS", "replies@portal.example.org")

from config.settings import *  # noqa: F403
from config.settings import STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = False
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="portal-test-files-"))
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
    STORAGES["default"] = {**STORAGES["default"], "OPTIONS": {"location": MEDIA_ROOT, "base_url": None}}
ALLOWED_HOSTS = ["*"]
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="portal-test-static-"))
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
SITE_URL = "http://testserver"
NOTIFICATION_NUDGE_INTERVAL = 0  # every nudge goes out; test_notifications covers the throttle
# Tests file many complaints from one address; those about the limits lower them.
INTAKE_LIMIT_PER_IP = INTAKE_LIMIT_PER_EMAIL = REMINDER_LIMIT_PER_IP = REMINDER_LIMIT_PER_EMAIL = 10_000
LOOKUP_FAILURE_LIMIT = 10_000
