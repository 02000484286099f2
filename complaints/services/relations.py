"""Cases linked to each other: staff say that two complaints belong together (the same person's
second complaint, one problem told twice), from a case's related cases or by typing a reference.

A link is symmetric and stored once (`ComplaintRelation`, the lower id first); each link and each
removal is an internal entry on both timelines, naming the other case. Who may: any member of
staff (`complaints.rules.check_relate`). Neither case's version is bumped: nothing a colleague's
open form says changes. Two people linking (or unlinking) the same two cases at once: the pair's
unique constraint, or the row they both delete, lets one through; the other is told it is done.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from complaints.models import Complaint, ComplaintRelation, EventKind
from complaints.records import record_event
from complaints.refusals import RelationRefused
from complaints.rules import check_relate


def _record_both(first: Complaint, second: Complaint, *, kind: str, by: Any, now: datetime) -> None:
    """One internal timeline entry on each case, naming the other."""
    for complaint, other in ((first, second), (second, first)):
        record_event(
            complaint=complaint, kind=kind, by=by, now=now, public=False, payload={"case": other.reference}
        )


def relate_complaints(*, complaint: Complaint, other: Complaint, by: Any, now: datetime) -> ComplaintRelation:
    """Link two cases to each other, with an internal entry on both timelines; return the link.
    Raises RelationRefused (not staff, a case to itself, already linked)."""
    check_relate(complaint, other, by=by)
    low, high = ComplaintRelation.pair(complaint.pk, other.pk)
    try:
        with transaction.atomic():
            relation = ComplaintRelation.objects.create(
                low_id=low, high_id=high, created_at=now, created_by=by
            )
            _record_both(complaint, other, kind=EventKind.CASE_LINKED, by=by, now=now)
    except IntegrityError:  # the pair's unique constraint: linked already, now or just before
        raise RelationRefused(
            _("%(reference)s is already linked to this case."),
            params={"reference": other.reference},
            code="unchanged",
        ) from None
    return relation


def unrelate_complaints(*, complaint: Complaint, other: Complaint, by: Any, now: datetime) -> None:
    """Remove the link between two cases, with an internal entry on both timelines. Raises
    RelationRefused (not staff, or not linked)."""
    check_relate(complaint, other, by=by)
    low, high = ComplaintRelation.pair(complaint.pk, other.pk)
    with transaction.atomic():
        deleted, _kinds = ComplaintRelation.objects.filter(low_id=low, high_id=high).delete()
        if not deleted:
            raise RelationRefused(
                _("%(reference)s is not linked to this case."),
                params={"reference": other.reference},
                code="not_linked",
            )
        _record_both(complaint, other, kind=EventKind.CASE_UNLINKED, by=by, now=now)
