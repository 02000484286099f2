from django.db import models


class FloorRow(models.Model):
    """One row per floor request: what the cheapest form post that writes costs."""

    body = models.TextField()

    def __str__(self) -> str:
        return self.body[:40]
