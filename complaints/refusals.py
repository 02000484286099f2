"""Every refusal the portal gives a person, in one place.

A refusal is a `ValidationError` whose message says why in the person's language: the
views show it as a form error or a message, never as a 500. The rules that raise them
live in `complaints.rules` and `escalation.rules`; `permitted` lets a page ask the same
rule whether to offer an action at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


class ActionRefused(ValidationError):
    """A business rule refuses the action; the message says why, in the user's language."""


class NotAllowed(ActionRefused):
    """The action is not allowed to this person, or not in the case's present state."""


class TransitionNotAllowed(NotAllowed):
    """The lifecycle table does not allow this status change."""


class AssignmentRefused(NotAllowed):
    """The case cannot go to that person, or not by this member of staff."""


class EscalationRefused(NotAllowed):
    """The ladder move is not allowed now."""


class IncidentRefused(NotAllowed):
    """The incident action is not this person's to take, or not in the incident's state."""


class RelationRefused(ActionRefused):
    """Two cases cannot be linked to each other (or unlinked) as asked."""


class WaveAlertRefused(NotAllowed):
    """The wave alert is not this person's to handle, or was handled already."""


class StaleForm(ActionRefused):
    """The case changed since the form was opened."""


class LimitReached(ActionRefused):
    """The action was already taken as often as it may be (a reminder a day, files per case)."""


class EvidenceRejected(ActionRefused):
    """One file is refused; the message names it and says why."""


class FilesRefused(ActionRefused):
    """A file sent with a new complaint was refused, so nothing was filed.

    `refusals` are the evidence vault's refusals (name, message, index of the file).
    """

    def __init__(self, refusals: list[Any]) -> None:
        super().__init__([refusal.message for refusal in refusals], code="files_refused")
        self.refusals = refusals


STALE_MESSAGE = _("This case changed while you were editing. Look at it again, then retry.")
CLOSED_MESSAGE = _("This complaint is closed; it can no longer be changed.")


def stale_form() -> StaleForm:
    return StaleForm(STALE_MESSAGE, code="stale_form")


def permitted(rule: Callable[..., Any], /, *args: Any, **kwargs: Any) -> bool:
    """Whether `rule` lets the action through: what a page asks before offering it."""
    try:
        rule(*args, **kwargs)
    except ActionRefused:
        return False
    return True
