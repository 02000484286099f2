"""Answers in bulk to the cases linked to an incident: a public reply to every linked open case,
and a resolve-all with a summary and what was found. Set-wise, in batches of ANSWER_BATCH: each
one transaction of one locking read, one UPDATE of the cases, one INSERT of their timeline entries
and one of their notices; every case not answered is listed with why.

A reply to an open case whose clock is plain (nothing fell due before it, no regime, no deadline
missed, wall-clock time: `escalation.responses`) is written without reading its clock: its first
response and next check are computed in the UPDATE. Every other case (to triage, to settle first,
to resolve) is read whole, as the sweep reads it, and answered through the clock in Python: the
sweep's settling of what fell due before the answer, then the case's own changes, in a second
UPDATE."""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from types import SimpleNamespace
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from common.bulk import AnyOf, BulkUpdate
from complaints.models import (
    ENDED_STATUSES,
    ActorRole,
    Cause,
    Complaint,
    EventKind,
    Incident,
    Status,
    in_language,
)
from complaints.records import EventRows, NoticeRows, case_update, notice_values
from complaints.refusals import ActionRefused
from complaints.rules import (
    check_incident_staff,
    check_resolution,
)
from escalation import clock, letters, responses
from escalation.clock import FIRED_FIELDS
from escalation.models import LetterKind
from escalation.sweep import SWEEP_READS

# Cases answered per transaction: each batch is one locking read, one UPDATE of the cases, one
# INSERT of their timeline entries and one of their notices (and, for cases answered through the
# clock in Python, one read of them, one more UPDATE and, where a deadline fell due before the
# answer, the sweep's few INSERTs of what it fired).
ANSWER_BATCH = 1_000

# What a bulk answer reads of each case it answers through the clock in Python: what the sweep
# reads (so the engine settles the rows as it settles its own), and what the answer itself changes
# or writes into a letter.
ANSWER_READS = (
    *SWEEP_READS,
    "next_check_at",
    "status_changed_at",
    "resolved_at",
    "closed_at",
    "contact_name",
    "subject",
    "resolution_summary",
    "cause_id",
    "outcome",
    "remedy",
    "remedy_amount",
    "remedy_currency",
)

# What a bulk answer reads of each linked case when it locks it: whether it is answered (its
# status, its regime, its category for a resolution's cause), and what a notice needs.
LOCK_READS = (
    "id",
    "reference",
    "status",
    "regime_id",
    "category_id",
    "language",
    "contact_email",
    "complainant_id",
)
_Case = namedtuple("_Case", LOCK_READS)

# What an answer may change on a case (those no row of a batch changed are left out of its UPDATE).
REPLY_WRITES = (
    "status",
    "status_changed_at",
    "accepted_at",
    "first_responded_at",
    *FIRED_FIELDS,
    "next_check_at",
)
RESOLVE_WRITES = (
    *REPLY_WRITES,
    "resolved_at",
    "clock_paused_at",
    "final_response_at",
    "resolution_summary",
    "cause_id",
    "outcome",
    "remedy",
    "remedy_amount",
    "remedy_currency",
)

# Why a linked case is not answered, as the incident's page lists it.
REFUSED_ENDED = _("closed or withdrawn")
REFUSED_AWAITING = _("waiting for the complainant: resolve it on its own page once they answer")
REFUSED_RESOLVED = _("already resolved")
REFUSED_NEW_UNDER_REGIME = _(
    "not yet accepted, under a regime whose deadlines start at acceptance: answer it on its own page"
)
REFUSED_BUSY = _("being changed by someone else at that moment: answer it on its own page")


@dataclass
class AnswerResult:
    """What a bulk answer did: the references answered, and those refused with why (a lazy text,
    read in the reader's language); how many batches it took."""

    answered: list[str] = field(default_factory=list)
    refused: list[tuple[str, Any]] = field(default_factory=list)
    batches: int = 0


@dataclass
class _Answer:
    """What one bulk answer says and does to each case it reaches."""

    incident: Incident
    kind: str  # the case update's kind: reply or resolved
    text_vi: str
    text_en: str
    by: Any
    now: datetime
    writes: tuple[str, ...]
    found: dict[str, Any] = field(default_factory=dict)  # a resolution's cause, outcome, remedy
    letters: dict[tuple[int, str], Any] = field(default_factory=dict)  # final response templates

    def text(self, language: str) -> str:
        """The answer's text in a complainant's language."""
        return in_language(language, self.text_vi, self.text_en)

    @cached_property
    def page(self) -> str:
        return reverse("incident", args=[self.incident.slug])

    def update_context(self, text: str, *, guest: bool) -> dict[str, Any]:
        """The context of a complainant's `case_update` notice of this answer: the case update,
        and the incident's page."""
        return {**case_update(kind=self.kind, note=text, guest=guest), "incident_path": self.page}

    def refusal(self, row: Any) -> Any:
        """Why this case is not answered, or None."""
        if row.status in ENDED_STATUSES:
            return REFUSED_ENDED
        if row.status == Status.NEW and row.regime_id is not None:
            return REFUSED_NEW_UNDER_REGIME
        if self.kind != Status.RESOLVED:
            return None
        if row.status == Status.AWAITING_COMPLAINANT:
            return REFUSED_AWAITING
        if row.status == Status.RESOLVED:
            return REFUSED_RESOLVED
        try:
            check_resolution(row, **self.found)  # a case reclassified since it was linked
        except ActionRefused as exc:
            return exc.messages[0]
        return None


def _answer_linked(answer: _Answer) -> AnswerResult:
    """Answer every case linked to the incident, in batches of ANSWER_BATCH, each in its own
    transaction; a case someone else holds locked is skipped, tried again once at the end, and
    listed if it is still held."""
    result = AnswerResult()
    ids = list(Complaint.objects.filter(incident=answer.incident).order_by("id").values_list("id", flat=True))
    busy: list[int] = []
    for start in range(0, len(ids), ANSWER_BATCH):
        busy += _answer_batch(answer, ids[start : start + ANSWER_BATCH], result)
    if busy:
        busy = _answer_batch(answer, busy, result)
    if busy:
        still = Complaint.objects.filter(AnyOf("id", busy), incident=answer.incident)
        result.refused += [
            (reference, REFUSED_BUSY) for reference in still.values_list("reference", flat=True)
        ]
    return result


def _answer_batch(answer: _Answer, ids: list[int], result: AnswerResult) -> list[int]:
    """Lock, answer and write one batch of cases in one transaction; return the ids someone else
    held locked (SKIP LOCKED: a sweep or a colleague working on them).

    The locking read takes only what decides whether a case is answered, and what its notice
    needs: a reply to an open case whose clock is plain is written by the clock's set-wise form
    (`escalation.responses`) without reading the clock at all; the other cases (to triage, to
    settle, to resolve) are read whole and answered through the clock in Python."""
    with transaction.atomic():
        locked = [
            _Case(*values)
            for values in Complaint.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(AnyOf("id", ids), incident=answer.incident)
            .order_by("id")
            .values_list(*LOCK_READS)
        ]
        result.batches += 1
        held = sorted(set(ids) - {case.id for case in locked})  # some may have been unlinked meanwhile
        reached = []
        for case in locked:
            why = answer.refusal(case)
            if why is None:
                reached.append(case)
            else:
                result.refused.append((case.reference, why))
        events, notices = EventRows(), NoticeRows()
        answered = _reply_plain(answer, reached, events=events, notices=notices)
        rest = [case.id for case in reached if case.id not in answered]
        answered |= _answer_rows(answer, rest, result, events=events, notices=notices)
        events.insert()
        notices.insert()
        result.answered += [case.reference for case in reached if case.id in answered]
    return held


def _reply_plain(answer: _Answer, cases: list[_Case], *, events: EventRows, notices: NoticeRows) -> set[int]:
    """A reply to those of the open cases outside a regime whose clock is plain: their first
    response, next check and version in one UPDATE (`responses.note_staff_responses`), their
    timeline entries and notices gathered column by column; return their ids."""
    if answer.kind != "reply":
        return set()
    open_cases = [case.id for case in cases if case.status == Status.OPEN and case.regime_id is None]
    plain = responses.note_staff_responses(open_cases, now=answer.now, bump="version")
    done = [case for case in cases if case.id in plain]
    if not done:
        return plain
    texts = {case.language: answer.text(case.language) for case in done}
    events.add_each(
        [case.id for case in done],
        body=[texts[case.language] for case in done],
        kind=EventKind.REPLY,
        payload={"incident": answer.incident.slug},
        actor_id=answer.by.pk,
        actor_role=ActorRole.STAFF,
        now=answer.now,
    )
    told = [case for case in done if case.contact_email]
    contexts = {
        (language, guest): answer.update_context(texts[language], guest=guest)
        for language in texts
        for guest in (False, True)
    }
    notices.add_each(
        [case.id for case in told],
        email=[case.contact_email for case in told],
        language=[case.language for case in told],
        context=[contexts[case.language, case.complainant_id is None] for case in told],
        template="case_update",
        now=answer.now,
    )
    return plain


def _answer_rows(
    answer: _Answer, ids: list[int], result: AnswerResult, *, events: EventRows, notices: NoticeRows
) -> set[int]:
    """Answer the locked cases `ids` through the clock in Python, each read whole, as the sweep
    reads them: what fell due before the answer fires first (`clock.settle_rows`), a new case is
    triaged, the answer goes onto its timeline, its clock fields move as for one case, and all of
    them are written in one UPDATE; return the ids answered (a resolution whose letter cannot be
    composed is refused and listed)."""
    if not ids:
        return set()
    now = answer.now
    rows = [
        SimpleNamespace(pk=values[0], **dict(zip(ANSWER_READS, values, strict=True)))
        for values in Complaint.objects.filter(AnyOf("id", ids)).order_by("id").values_list(*ANSWER_READS)
    ]
    reached = []
    for row in rows:
        why = _compose_final_response(answer, row) if answer.kind == Status.RESOLVED else None
        if why is None:
            reached.append(row)
        else:
            result.refused.append((row.reference, why))
    before = [tuple(getattr(row, name) for name in answer.writes) for row in reached]
    clock.settle_rows(reached, now=now)  # what fell due before the answer fires first
    staff = {"actor_id": answer.by.pk, "actor_role": ActorRole.STAFF, "now": now}
    for row in reached:
        text = answer.text(row.language)
        if row.status == Status.NEW:  # triaged by the first action that works on it
            _move(row, Status.OPEN, events=events, **staff)
        if answer.kind == Status.RESOLVED:
            _resolve_row(answer, row, text, events=events, **staff)
        else:
            events.add(
                complaint_id=row.id,
                kind=EventKind.REPLY,
                body=text,
                payload={"incident": answer.incident.slug},
                **staff,
            )
            clock.note_staff_response(complaint=row, now=now)
        _tell(answer, row, text, events=events, notices=notices)
    changed = [
        name
        for index, name in enumerate(answer.writes)
        if any(old[index] != getattr(row, name) for old, row in zip(before, reached, strict=True))
    ]
    update = BulkUpdate(Complaint, tuple(changed), bump="version")
    for row in reached:
        update.add(row.id, **{name: getattr(row, name) for name in changed})
    update.update()
    return {row.id for row in reached}


def _move(
    row: Any,
    to_status: str,
    *,
    events: EventRows,
    actor_id: int,
    actor_role: str,
    now: datetime,
    body: str = "",
    payload: dict[str, Any] | None = None,
) -> None:
    """A status change on a row, as `lifecycle.transition` makes it on a complaint (its timestamps,
    the clock paused, stopped or started, its timeline entry), the entry gathered for the batch."""
    from_status = row.status
    Complaint.apply_status(row, to_status, now=now)
    clock.on_status_change(complaint=row, from_status=from_status, to_status=to_status, now=now)
    kind = EventKind.TRIAGED if to_status == Status.OPEN else EventKind.RESOLVED
    events.add(
        complaint_id=row.id,
        kind=kind,
        body=body,
        payload={"from": from_status, "to": to_status, **(payload or {})},
        actor_id=actor_id,
        actor_role=actor_role,
        now=now,
    )


def _resolve_row(answer: _Answer, row: Any, text: str, *, events: EventRows, **staff: Any) -> None:
    """Resolve one locked row as `resolve_complaint` resolves a case: what staff found, the summary
    (a public message from staff: it is the first response if none was given), the clock stopped."""
    found = answer.found
    row.cause_id = found["cause"].pk
    for name in ("outcome", "remedy", "remedy_amount", "remedy_currency"):
        setattr(row, name, found[name])
    row.resolution_summary = text
    payload = {
        "cause": found["cause"].slug,
        "outcome": found["outcome"],
        "remedy": found["remedy"],
        "incident": answer.incident.slug,
    }
    _move(row, Status.RESOLVED, events=events, body=text, payload=payload, **staff)
    clock.note_staff_response(complaint=row, now=staff["now"])


def _compose_final_response(answer: _Answer, row: Any) -> Any:
    """Compose the final response a case's regime requires (its first resolution), kept on the row;
    return why it cannot be (no template in the complainant's language, a part missing) or None."""
    row.letter = None
    if row.regime_id is None or row.final_response_at is not None:
        return None
    template = answer.letters.get((row.regime_id, row.language))
    if template is None:
        return REFUSED_NO_LETTER
    row.resolution_summary = answer.text(row.language)
    found = answer.found
    row.outcome, row.remedy = found["outcome"], found["remedy"]
    row.remedy_amount, row.remedy_currency = found["remedy_amount"], found["remedy_currency"]
    try:
        row.letter = letters.compose(row, template)
    except ActionRefused as exc:
        return exc.messages[0]
    return None


REFUSED_NO_LETTER = _(
    "its regime has no final response letter in the complainant's language: an administrator adds it"
)


def _tell(answer: _Answer, row: Any, text: str, *, events: EventRows, notices: NoticeRows) -> None:
    """The complainant's notice, in their language: the case update, or the regime's final response
    letter in its place (with its own timeline entry). An anonymised case has no address."""
    letter = getattr(row, "letter", None)
    if letter is not None:
        values = notice_values(
            email=row.contact_email,
            template=letters.LETTER_NOTICE,
            language=row.language,
            now=answer.now,
            complaint_id=row.id,
            context=letters.letter_context(letter, guest=row.complainant_id is None, kind=Status.RESOLVED),
        )
        notices.add(values)
        events.add(
            complaint_id=row.id,
            now=answer.now,
            actor_id=answer.by.pk,
            actor_role=ActorRole.STAFF,
            **letters.letter_event(letter, message_id=values["message_id"]),
        )
        return
    if row.contact_email:
        notices.add(
            notice_values(
                email=row.contact_email,
                template="case_update",
                language=row.language,
                now=answer.now,
                complaint_id=row.id,
                context=answer.update_context(text, guest=row.complainant_id is None),
            )
        )


def _check_texts(text_vi: str, text_en: str) -> None:
    if not text_vi.strip() or not text_en.strip():
        raise ActionRefused(_("Write the text in both languages."), code="texts")


def reply_to_linked(
    *, incident: Incident, body_vi: str, body_en: str, by: Any, now: datetime
) -> AnswerResult:
    """A public reply from staff to every open case linked to the incident, as `reply_as_staff`
    makes one on each: what fell due before `now` fires first (a deadline already passed is
    recorded as missed), a new case is triaged, the reply goes onto its timeline and satisfies its
    first response if none was given (one given before keeps its time), and its complainant gets
    one notice in their language (the incident's text in vi or en).

    Set-wise, in batches of ANSWER_BATCH cases, each batch one transaction (see `_answer_batch`).
    Closed and withdrawn cases, new ones under a regime (their deadlines start at acceptance) and
    any still held by someone else after a second try are refused and listed, with why. Raises
    IncidentRefused unless `by` is a team lead or manager, ActionRefused if a text is empty.
    """
    check_incident_staff(by=by)
    _check_texts(body_vi, body_en)
    answer = _Answer(incident, "reply", body_vi, body_en, by, now, REPLY_WRITES)
    return _answer_linked(answer)


def resolve_linked(
    *,
    incident: Incident,
    summary_vi: str,
    summary_en: str,
    cause: Cause | None,
    outcome: str,
    remedy: str,
    by: Any,
    now: datetime,
    remedy_amount: Decimal | None = None,
    remedy_currency: str = "",
) -> AnswerResult:
    """Resolve every open case linked to the incident, as `resolve_complaint` resolves each: what
    fell due first, the summary (in the complainant's language) on its timeline and in its notice,
    what staff found (`check_resolution`: a cause of the incident's category or of every category;
    a refund's amount and currency, if any, are each case's), the resolution clock stopped, the
    resolution's SLA outcome what `resolved_at` against `resolution_due_at` says.

    Under a regime, a case's first resolution is its final response: the regime's letter, composed
    for that case, goes in place of the usual notice and onto its timeline, as for one case. A case
    whose regime has no such letter in its complainant's language, or whose letter lacks a part,
    is refused and listed, as are cases closed, withdrawn, already resolved, waiting for the
    complainant, new under a regime, of a category the cause is not for, or held by someone else.

    Set-wise, in batches (see `reply_to_linked`). Raises IncidentRefused or ActionRefused (a text
    empty, a finding the incident's category does not allow).
    """
    check_incident_staff(by=by)
    _check_texts(summary_vi, summary_en)
    found = {
        "cause": cause,
        "outcome": outcome,
        "remedy": remedy,
        "remedy_amount": remedy_amount,
        "remedy_currency": remedy_currency,
    }
    check_resolution(SimpleNamespace(category_id=incident.category_id), **found)
    regimes = (
        Complaint.objects.filter(incident=incident, regime__isnull=False)
        .values_list("regime_id", flat=True)
        .distinct()
    )
    answer = _Answer(
        incident,
        Status.RESOLVED,
        summary_vi,
        summary_en,
        by,
        now,
        RESOLVE_WRITES,
        found=found,
        letters=letters.templates_for(list(regimes), LetterKind.FINAL_RESPONSE),
    )
    return _answer_linked(answer)
