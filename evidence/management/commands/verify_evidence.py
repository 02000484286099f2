"""Re-hash every stored original and report any that no longer match its sealed SHA-256."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from evidence.services import verify_evidence


class Command(BaseCommand):
    help = "Re-hash every stored evidence original; exit non-zero if any is missing or altered."

    def handle(self, *args: Any, **options: Any) -> None:
        checked = bad = 0
        for evidence, mismatch in verify_evidence():
            checked += 1
            if mismatch is None:
                continue
            bad += 1
            complaint = evidence.complaint.reference
            if mismatch.problem == "missing":
                self.stderr.write(
                    f"MISSING {complaint} evidence {evidence.public_id} ({evidence.original_key})"
                )
            else:
                self.stderr.write(
                    f"ALTERED {complaint} evidence {evidence.public_id}: sealed {evidence.sha256}, "
                    f"found {mismatch.problem}"
                )
        self.stdout.write(f"checked {checked} original(s); {bad} mismatch(es)")
        if bad:
            raise CommandError(f"{bad} evidence original(s) do not match their seal")
