"""Count the SLA dashboard's and the compliance report's tallies afresh in the portal's time zone.

python manage.py rebuild_tallies

The migrations install the tallies in settings.TIME_ZONE. After TIME_ZONE is changed (or, for the
report, a regime's calendar moved to another time zone), the dashboard and the report count
from the complaints (correct, slower) until this is run; it reinstalls the triggers for the
new zone and recounts every complaint in one transaction, holding writes to complaints until
it commits (seconds at a million complaints).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from complaints import report_tallies, tallies
from complaints.models import ReportTally, Tally


class Command(BaseCommand):
    help = (
        "Recount the SLA dashboard's and the compliance report's tallies in settings.TIME_ZONE (PostgreSQL)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not tallies.kept():
            raise CommandError("This database keeps no tallies: the dashboard counts from the complaints.")
        with transaction.atomic():
            tallies.install(time_zone=settings.TIME_ZONE)
            report_tallies.install(time_zone=settings.TIME_ZONE)
        self.stdout.write(
            f"Tallies recounted in {settings.TIME_ZONE}: {Tally.objects.count()} rows for the dashboard,"
            f" {ReportTally.objects.count()} for the compliance report."
        )
