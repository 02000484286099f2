"""Anonymise the complaints past their category's retention, or show which would go.

python manage.py retention --dry-run   # what would go, per category, and the cases
python manage.py retention             # do it now (beat does it daily)
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from complaints.models import Category, Complaint
from complaints.services.retention import anonymise_expired, expired, retention_cutoffs


class Command(BaseCommand):
    help = "Anonymise the ended complaints past their category's retention (--dry-run: only list them)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help="List what would go; change nothing.")
        parser.add_argument("--limit", type=int, default=None, help="At most this many complaints.")

    def handle(self, *args: Any, dry_run: bool = False, limit: int | None = None, **options: Any) -> None:
        now = timezone.now()
        if not dry_run:
            done = anonymise_expired(now=now, limit=limit)
            self.stdout.write(
                f"Anonymised {done.complaints} complaints; {done.objects} stored objects deleted."
            )
            return
        cutoffs = retention_cutoffs(now)
        due = expired(now)
        if limit is not None:
            due = due[:limit]
        rows = list(due.values_list("reference", "category_id", "status", "status_changed_at"))
        per_category = Counter(category_id for _ref, category_id, _status, _at in rows)
        held = Complaint.objects.exclude(legal_hold_reason="").filter(anonymised_at__isnull=True).count()
        self.stdout.write(f"Dry run at {now:%Y-%m-%d %H:%M} UTC: {len(rows)} complaints would be anonymised.")
        for category in Category.objects.filter(pk__in=cutoffs).order_by("position", "pk"):
            count, cutoff = per_category.get(category.pk, 0), cutoffs[category.pk]
            self.stdout.write(f"  {category.slug}: {count} (ended before {cutoff:%Y-%m-%d})")
        for reference, _category_id, status, ended in rows:
            self.stdout.write(f"  {reference}  {status}  ended {ended:%Y-%m-%d}")
        self.stdout.write(f"Kept by a legal hold: {held}.")
