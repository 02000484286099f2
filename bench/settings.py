"""Settings for `make bench`: production settings over plain HTTP on 127.0.0.1, plus the floor view."""

import os

os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production-0123456789-abcdefghijklmnop")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("EMAIL_BACKEND", "locmem")
# As in production: each notice mints its reply address when it is sent.
os.environ.setdefault("INBOUND_EMAIL_ADDRESS", "replies@portal.example.org")

from config.settings import *  # noqa: F403
from config.settings import STORAGES

INSTALLED_APPS = [*INSTALLED_APPS, "bench"]  # noqa: F405
ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = False
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
# No collectstatic for a benchmark run: serve from the source folders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# The load comes from one address: the abuse limits would refuse most of it.
INTAKE_LIMIT_PER_IP = INTAKE_LIMIT_PER_EMAIL = REMINDER_LIMIT_PER_IP = REMINDER_LIMIT_PER_EMAIL = 10**9
