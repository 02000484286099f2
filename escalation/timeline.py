"""What the escalation and SLA events on a timeline say, in the viewer's language and time zone."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _

from common.times import when
from complaints.models import ComplaintEvent, EventKind
from escalation.models import DeadlineKind, LetterKind, Reason

# The events that move a case on the ladder: the only ones that name its rungs.
LADDER_EVENTS = frozenset({EventKind.ESCALATED, EventKind.ESCALATION_REQUESTED, EventKind.DE_ESCALATED})


def _when(value: str | None) -> str:
    """A moment kept in an event's payload (ISO 8601), as the reader reads times."""
    return when(datetime.fromisoformat(value)) if value else ""


def describe(event: ComplaintEvent, level_names: dict[int, str]) -> str:
    """One sentence for a ladder move, a missed deadline, a warning or a regime's letter; ""
    for other events."""
    payload = event.payload or {}
    if event.kind == EventKind.LETTER_SENT and payload.get("letter") in LetterKind.values:
        return _("%(letter)s: “%(subject)s”") % {
            "letter": LetterKind(payload["letter"]).label,
            "subject": payload.get("subject", ""),
        }
    due = _when(payload.get("due_at"))
    first_response = payload.get("deadline") == "first_response"
    regulatory = _regulatory_label(payload.get("deadline"))
    if event.kind in LADDER_EVENTS:
        if "to" not in payload:
            return ""
        level = level_names.get(payload["to"]) or _("level %(rank)s") % {"rank": payload["to"]}
        reason = payload.get("reason")
        if reason == Reason.FIRST_RESPONSE_BREACHED:
            return _("The first-response deadline (%(due)s) passed; the case moved up to “%(level)s”.") % {
                "due": due,
                "level": level,
            }
        if reason == Reason.RESOLUTION_BREACHED:
            return _("The resolution deadline (%(due)s) passed; the case moved up to “%(level)s”.") % {
                "due": due,
                "level": level,
            }
        if reason == Reason.REGULATORY_BREACHED:
            return _(
                "The deadline required by law “%(deadline)s” (%(due)s) passed; "
                "the case went straight to “%(level)s”."
            ) % {"deadline": regulatory, "due": due, "level": level}
        if reason == Reason.CLIMB:
            if payload.get("fell_due_at") and payload.get("from") is not None:
                left = level_names.get(payload["from"]) or _("level %(rank)s") % {"rank": payload["from"]}
                return _(
                    "The time allowed at “%(left)s” ran out (%(due)s); the case moved up to “%(level)s”."
                ) % {
                    "left": left,
                    "due": _when(payload["fell_due_at"]),
                    "level": level,
                }
            return _("Still unresolved at its level; the case moved up to “%(level)s”.") % {"level": level}
        if reason == Reason.DE_ESCALATION:
            return _("The case moved back to “%(level)s”.") % {"level": level}
        return _("The case moved up to “%(level)s”.") % {"level": level}
    if event.kind == EventKind.SLA_BREACHED and due:
        if regulatory:
            return _("The deadline required by law “%(deadline)s” (%(due)s) passed.") % {
                "deadline": regulatory,
                "due": due,
            }
        if first_response:
            return _("The first-response deadline (%(due)s) passed.") % {"due": due}
        return _("The resolution deadline (%(due)s) passed.") % {"due": due}
    if event.kind == EventKind.SLA_WARNING and due:
        if regulatory:
            return _("The deadline required by law “%(deadline)s” (%(due)s) is near.") % {
                "deadline": regulatory,
                "due": due,
            }
        if first_response:
            return _("The first-response deadline (%(due)s) is near.") % {"due": due}
        return _("The resolution deadline (%(due)s) is near.") % {"due": due}
    return ""


def _regulatory_label(deadline: str | None) -> str:
    """A regime's deadline named in an event's payload ("regulatory_accept"), as staff and
    complainants read it; "" for the service deadlines."""
    if not deadline or not deadline.startswith("regulatory_"):
        return ""
    kind = deadline.removeprefix("regulatory_")
    return str(DeadlineKind(kind).label) if kind in DeadlineKind.values else ""
