from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Installed only by bench.settings: the floor view's one table."""

    name = "bench"
    default_auto_field = "django.db.models.BigAutoField"
