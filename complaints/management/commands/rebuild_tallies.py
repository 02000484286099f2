"""Count the SLA dashboard's tallies afresh in the portal's time zone.

python manage.py rebuild_tallies

The migration installs the tallies in settings.TIME_ZONE. After TIME_ZONE is changed, the
dashboard counts from the complaints (correct, slower) until this is run; it reinstalls the
triggers for the new zone and recounts every complaint in one transaction, holding writes to
complaints until it commits (seconds at a million complaints).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from complaints import tallies
from complaints.models import Tally


class Command(BaseCommand):
    help = "Recount the SLA dashboard's tallies in settings.TIME_ZONE (PostgreSQL)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not tallies.kept():
            raise CommandError("This database keeps no tallies: the dashboard counts from the complaints.")
        tallies.install(time_zone=settings.TIME_ZONE)
        self.stdout.write(f"Tallies recounted in {settings.TIME_ZONE}: {Tally.objects.count()} rows.")
