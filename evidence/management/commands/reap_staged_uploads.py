"""Remove files chosen on a form that was never sent: staged longer ago than --hours (24)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from evidence.services import reap_staged


class Command(BaseCommand):
    help = "Delete staged files (chosen on a form, never claimed) older than --hours (default 24)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--hours", type=int, default=24, help="minimum age of a staged file (default 24)")
        parser.add_argument("--dry-run", action="store_true", help="only list what would be removed")

    def handle(self, *args: Any, hours: int, dry_run: bool, **options: Any) -> None:
        reaped = reap_staged(now=timezone.now(), older_than=timedelta(hours=hours), dry_run=dry_run)
        for key in reaped:
            self.stdout.write(("would remove " if dry_run else "removed ") + key)
        self.stdout.write(f"{len(reaped)} staged file(s) {'found' if dry_run else 'removed'}")
