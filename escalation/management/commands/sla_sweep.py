"""Run the SLA sweep by hand: the same function beat runs."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from escalation.clock import database_now
from escalation.sweep import sweep


class Command(BaseCommand):
    help = "Warn, flag breached deadlines and escalate everything due now (or at --at)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--at", help="sweep as if it were this moment (ISO 8601, e.g. 2026-03-02T10:00+07:00)"
        )
        parser.add_argument("--dry-run", action="store_true", help="report what would happen; change nothing")

    def handle(self, *args: Any, at: str | None, dry_run: bool, **options: Any) -> None:
        if at:
            now = parse_datetime(at)
            if now is None:
                raise CommandError(f"--at must be an ISO 8601 date-time, not {at!r}")
            if now.tzinfo is None:
                now = now.replace(tzinfo=UTC)
        else:
            now = database_now()
        result = sweep(
            now=now,
            dry_run=dry_run,
            batch_size=settings.SLA_SWEEP_BATCH_SIZE,
            threads=settings.SLA_SWEEP_THREADS,
        )
        counts = result.as_dict()
        prefix = "would have: " if dry_run else ""
        self.stdout.write(
            f"{prefix}warned {counts['warned']}, breached {counts['breached']}, "
            f"escalated {counts['escalated']}, skipped {counts['skipped']}, failed {counts['failed']} "
            f"(at {now.isoformat()})" + ("; nothing was changed" if dry_run else "")
        )
