"""The letters a regime requires: acknowledgement of receipt, holding letter, final response.

A letter is a `LetterTemplate` (per regime, kind and language, edited in the admin) whose
{placeholders} are filled from the complaint when the letter is sent. The text is composed
once, then goes out through the outbox (the notice holds it) and onto the timeline (a
LETTER_SENT event holds it too), so what the complainant was sent is on the record as sent.

A final response cannot be composed without its required parts: the findings, whether the
complaint is upheld, the remedy, and the complainant's next route (the regime's).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from django.utils import formats, numberformat
from django.utils.translation import gettext_lazy as _

from common.times import day, reading_as, when
from complaints.models import ActorRole, Complaint, EventKind, Notification, Outcome, Remedy
from complaints.records import notify_complainant, record_event
from complaints.refusals import ActionRefused
from escalation.models import REGULATORY_DUE, DeadlineKind, LetterKind, LetterTemplate, Regime
from escalation.policies import regime_of_category

# What a template may name, and what each is filled with (shown in the admin).
PLACEHOLDERS: dict[str, Any] = {
    "name": _("the complainant's name"),
    "reference": _("the complaint's reference"),
    "subject": _("the complaint's subject"),
    "received": _("when the complaint was received"),
    "regime": _("the regime's name"),
    "deadlines": _("the regime's deadlines on the complaint, one per line"),
    "final_due": _("the date the final response is due"),
    "findings": _("what staff found (the resolution summary)"),
    "outcome": _("whether the complaint is upheld"),
    "remedy": _("the remedy, with a refund's amount"),
    "next_route": _("where the complainant can go next (the regime's)"),
}

# The parts a letter cannot be sent without.
REQUIRED: dict[str, tuple[str, ...]] = {
    LetterKind.ACKNOWLEDGEMENT: ("reference",),
    LetterKind.HOLDING: ("reference",),
    LetterKind.FINAL_RESPONSE: ("findings", "outcome", "remedy", "next_route"),
}

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def placeholders_in(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def template_errors(kind: str, subject: str, body: str) -> list[Any]:
    """What is wrong with a template's text: names no placeholder stands for, required parts absent."""
    errors: list[Any] = []
    unknown = sorted((placeholders_in(subject) | placeholders_in(body)) - PLACEHOLDERS.keys())
    if unknown:
        errors.append(
            _("Unknown placeholders: %(names)s.") % {"names": ", ".join(f"{{{name}}}" for name in unknown)}
        )
    missing = [name for name in REQUIRED.get(kind, ()) if name not in placeholders_in(body)]
    if missing:
        errors.append(
            _("This letter must contain %(names)s.") % {"names": ", ".join(f"{{{name}}}" for name in missing)}
        )
    return errors


def fill(text: str, values: dict[str, str]) -> str:
    """The text with each {placeholder} replaced by its value (an unknown one is left as written)."""
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)


class Letter(NamedTuple):
    kind: str
    language: str
    subject: str
    body: str


def templates_for(regime_ids: Iterable[int], kind: str) -> dict[tuple[int, str], LetterTemplate]:
    """The templates of `kind` of these regimes, by (regime id, language): one query."""
    rows = LetterTemplate.objects.filter(regime_id__in=set(regime_ids), kind=kind).select_related("regime")
    return {(row.regime_id, row.language): row for row in rows}


def template_of(complaint: Any, kind: str) -> LetterTemplate | None:
    """The template of `kind` of the complaint's regime in the complainant's language, if any."""
    if complaint.regime_id is None:
        return None
    return templates_for([complaint.regime_id], kind).get((complaint.regime_id, complaint.language))


def acknowledgement_template(category_id: int, language: str) -> LetterTemplate | None:
    """The acknowledgement a complaint of this category, in this language, is sent when filed:
    its category's regime's, if the regime has one in that language."""
    rules = regime_of_category(category_id)
    if rules is None:
        return None
    regime_id = rules.regime.pk
    return templates_for([regime_id], LetterKind.ACKNOWLEDGEMENT).get((regime_id, language))


def acknowledge_late(complaint: Complaint, *, now: Any) -> list[str]:
    """A complaint that came under a regime after it was filed (reclassified by staff, or
    completed by its complainant after an e-mail opened it) and is not acknowledged: send the
    regime's acknowledgement now, if it has one in the complainant's language (the timeline
    shows when). Returns the fields set; the caller reschedules the clock and saves."""
    if complaint.regime_id is None or complaint.acknowledged_at is not None:
        return []
    template = template_of(complaint, LetterKind.ACKNOWLEDGEMENT)
    if template is None:
        return []
    send_letter(complaint, compose(complaint, template), now=now)  # from the portal, whoever acted
    complaint.acknowledged_at = now
    return ["acknowledged_at"]


def deadline_lines(complaint: Any) -> str:
    """The regime's deadlines on the complaint, one per line (in the active language)."""
    lines = []
    for kind in DeadlineKind:
        due = getattr(complaint, REGULATORY_DUE[kind.value])
        if due is not None:
            lines.append(f"{kind.label}: {day(due)}")
    return "\n".join(lines)


def remedy_text(complaint: Any) -> str:
    """The remedy as a letter names it (in the active language), a refund with its amount."""
    if complaint.remedy == Remedy.REFUND and complaint.remedy_amount is not None:
        amount = complaint.remedy_amount
        places = 0 if amount == amount.to_integral_value() else 2
        # In thousands, as both languages write money (Django's Vietnamese format groups nothing).
        written = numberformat.format(
            amount,
            formats.get_format("DECIMAL_SEPARATOR"),
            decimal_pos=places,
            grouping=3,
            thousand_sep=formats.get_format("THOUSAND_SEPARATOR"),
            force_grouping=True,
        )
        return f"{Remedy.REFUND.label} {written} {complaint.remedy_currency}"
    return str(Remedy(complaint.remedy).label) if complaint.remedy else ""


def compose(complaint: Any, template: LetterTemplate) -> Letter:
    """The letter `template` makes for the complaint, in the template's language.

    For a final response, refuses (ActionRefused) when a required part is empty: the
    findings, the outcome, the remedy, the regime's next route in that language. Only a
    final response reads what staff found (a holding letter's complaint need not hold it).
    """
    regime = template.regime
    final = template.kind == LetterKind.FINAL_RESPONSE
    with reading_as(template.language):
        values = {
            "name": complaint.contact_name,
            "reference": complaint.reference,
            "subject": complaint.subject,
            "received": when(complaint.submitted_at),
            "regime": regime.name_vi if template.language == "vi" else regime.name_en,
            "deadlines": deadline_lines(complaint),
            "final_due": day(complaint.final_response_due_at) if complaint.final_response_due_at else "",
            "findings": complaint.resolution_summary if final else "",
            "outcome": str(Outcome(complaint.outcome).label) if final and complaint.outcome else "",
            "remedy": remedy_text(complaint) if final else "",
            "next_route": regime.next_route_in(template.language),
        }
        if final:
            _check_parts(values, template, regime)
        return Letter(
            kind=template.kind,
            language=template.language,
            subject=fill(template.subject, values),
            body=fill(template.body, values),
        )


# What to say when a final response lacks a part, per part.
_MISSING_PART = {
    "findings": _("Write what was found."),
    "outcome": _("Say whether the complaint is upheld."),
    "remedy": _("Choose the remedy."),
    "next_route": _(
        "“%(regime)s” does not say where the complainant can go next in this language: an administrator "
        "adds it to the regime."
    ),
}


def _check_parts(values: dict[str, str], template: LetterTemplate, regime: Regime) -> None:
    missing = [name for name in REQUIRED[LetterKind.FINAL_RESPONSE] if not values[name].strip()]
    absent = [
        name for name in REQUIRED[LetterKind.FINAL_RESPONSE] if name not in placeholders_in(template.body)
    ]
    if absent:
        raise ActionRefused(
            _("The final response letter of “%(regime)s” lacks %(names)s: an administrator mends it."),
            params={"regime": regime.name, "names": ", ".join(f"{{{name}}}" for name in absent)},
            code="letter_incomplete",
        )
    if missing:
        raise ActionRefused(
            _MISSING_PART[missing[0]], params={"regime": regime.name}, code="letter_part_missing"
        )


def final_response_letter(complaint: Complaint) -> Letter | None:
    """The final response the complaint's regime requires, composed; None outside a regime or
    once a final response was sent. Refuses (ActionRefused) when the regime has no final
    response template in the complainant's language, or a required part is missing."""
    if complaint.regime_id is None or complaint.final_response_at is not None:
        return None
    template = template_of(complaint, LetterKind.FINAL_RESPONSE)
    if template is None:
        regime = Regime.objects.get(pk=complaint.regime_id)
        raise ActionRefused(
            _(
                "“%(regime)s” has no final response letter in this complainant's language: "
                "an administrator adds it."
            ),
            params={"regime": regime.name},
            code="letter_missing",
        )
    return compose(complaint, template)


# The e-mail that carries a letter (templates/emails/regime_letter*).
LETTER_NOTICE = "regime_letter"


def letter_context(letter: Letter, *, guest: bool, kind: str = "") -> dict[str, Any]:
    """What a letter's notice holds: the letter as composed, and how the complainant follows the case."""
    return {
        "letter": letter.kind,
        "subject": letter.subject,
        "body": letter.body,
        "kind": kind,
        "with_tracking_link": guest,
    }


def letter_event(letter: Letter, *, message_id: str) -> dict[str, Any]:
    """The timeline entry of a letter sent: its text, which letter, and the notice that carried
    it (by its Message-ID, known before the notice is written: the sweep writes both set-wise)."""
    return {
        "kind": EventKind.LETTER_SENT,
        "public": True,
        "body": letter.body,
        "payload": {"letter": letter.kind, "subject": letter.subject, "message_id": message_id},
    }


def send_letter(
    complaint: Complaint, letter: Letter, *, now: Any, by: Any = None, kind: str = ""
) -> Notification:
    """Send the letter through the outbox and record it on the timeline (caller's transaction).

    `kind` is the case update it stands for (a final response: "resolved").
    """
    notice = notify_complainant(
        complaint,
        template=LETTER_NOTICE,
        now=now,
        **letter_context(letter, guest=complaint.complainant_id is None, kind=kind),
    )
    event = letter_event(letter, message_id=notice.message_id)
    record_event(
        complaint=complaint,
        by=by,
        now=now,
        actor_role=ActorRole.STAFF if by is not None else ActorRole.SYSTEM,
        **event,
    )
    return notice


# What composing a letter reads of a complaint, beyond what the sweep reads.
LETTER_READS = (
    "id",
    "reference",
    "regime_id",
    "language",
    "contact_name",
    "contact_email",
    "complainant_id",
    "subject",
    "submitted_at",
    *REGULATORY_DUE.values(),
)


def holding_letters(complaint_ids: Iterable[int]) -> list[tuple[Complaint, Letter]]:
    """The holding letters of these complaints (their final response is near and not sent),
    each in its complainant's language where the regime has one: two queries, whatever their number."""
    complaints = list(Complaint.objects.filter(pk__in=set(complaint_ids)).only(*LETTER_READS))
    templates = templates_for((complaint.regime_id for complaint in complaints), LetterKind.HOLDING)
    found = []
    for complaint in complaints:
        template = templates.get((complaint.regime_id, complaint.language))
        if template is not None:
            found.append((complaint, compose(complaint, template)))
    return found
