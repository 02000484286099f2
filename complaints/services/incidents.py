"""Incidents: one problem that many complainants meet at once, declared by a team lead or
manager, with its updates and its resolution told to every complainant linked to it.

Each linked complaint keeps its own case, timeline and clocks: an incident only links them
(`Complaint.incident`) and speaks to them all at once. Linking a queue search's results and
telling the linked complainants are set-wise: one UPDATE, one INSERT of timeline entries
(`EventRows`) and one INSERT of notices (`NoticeRows`), whatever the number of cases. Who may
act is `complaints.rules.check_incident_staff` (team leads and managers). Answering every
linked case at once is `complaints.services.incident_answers`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from common.bulk import AnyOf
from complaints.models import (
    ENDED_STATUSES,
    ActorRole,
    Category,
    Complaint,
    EventKind,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    WaveAlert,
    WaveAlertState,
    in_language,
)
from complaints.records import EventRows, NoticeRows, case_update, notice_values, record_event
from complaints.refusals import IncidentRefused
from complaints.rules import (
    check_incident_join,
    check_incident_link,
    check_incident_open,
    check_incident_staff,
    check_related_incident_link,
)
from complaints.search import provider_key


def _new_slug(title: str) -> str:
    """The incident's address: its title as a slug, and a random tail (titles repeat)."""
    return f"{slugify(title)[:60].strip('-') or 'incident'}-{secrets.token_hex(3)}"


def declare_incident(
    *,
    title_vi: str,
    title_en: str,
    note_vi: str,
    note_en: str,
    category: Category,
    provider_name: str,
    started_at: datetime,
    by: Any,
    now: datetime,
    alert: UUID | None = None,
) -> Incident:
    """Declare an open incident and return it; the filing form shows it from now on to those
    filing about `provider_name` (folded) in `category`. The wave alert it is declared from
    (`alert`, its public id), unless an incident was declared from it already, and any open alert
    of the same category and provider, are marked as acted on, with the incident: the queues
    show them no more. Raises IncidentRefused unless `by` is a team lead or manager."""
    check_incident_staff(by=by)
    key = provider_key(provider_name)
    with transaction.atomic():
        incident = Incident.objects.create(
            slug=_new_slug(title_en or title_vi),
            title_vi=title_vi,
            title_en=title_en,
            note_vi=note_vi,
            note_en=note_en,
            category=category,
            provider_name=provider_name,
            provider_key=key,
            started_at=started_at,
            declared_by=by,
            declared_at=now,
        )
        acted_on = Q(category=category, provider_key=key, state=WaveAlertState.OPEN)
        if alert is not None:
            acted_on |= Q(public_id=alert, incident__isnull=True)
        WaveAlert.objects.filter(acted_on).update(
            state=WaveAlertState.DECLARED, incident=incident, handled_by=by, handled_at=now
        )
    return incident


def _tell_linked(incident: Incident, *, kind: str, text_vi: str, text_en: str, by: Any, now: datetime) -> int:
    """One public timeline entry on each linked case still open and one notice to its complainant,
    in their language, each set written by one INSERT; return how many cases. Cases that ended
    (closed, withdrawn) hear no more; an anonymised case has no address and gets no notice."""
    linked = (
        Complaint.objects.filter(incident=incident)
        .exclude(status__in=ENDED_STATUSES)
        .order_by("id")
        .values_list("id", "language", "contact_email", "complainant_id")
    )
    events, notices = EventRows(), NoticeRows()
    page = reverse("incident", args=[incident.slug])
    for complaint_id, language, email, complainant_id in linked:
        text = in_language(language, text_vi, text_en)
        events.add(
            complaint_id=complaint_id,
            kind=kind,
            now=now,
            actor_id=by.pk,
            actor_role=ActorRole.STAFF,
            body=text,
            payload={"incident": incident.slug},
        )
        if email:
            notices.add(
                notice_values(
                    email=email,
                    template="case_update",
                    language=language,
                    now=now,
                    complaint_id=complaint_id,
                    context={
                        **case_update(kind=kind, note=text, guest=complainant_id is None),
                        "incident_path": page,
                    },
                )
            )
    events.insert()
    notices.insert()
    return len(events)


def update_incident(
    *, incident: Incident, text_vi: str, text_en: str, by: Any, now: datetime
) -> IncidentUpdate:
    """Add public news to an open incident and tell every linked complainant (`_tell_linked`);
    return the update. Raises IncidentRefused (not a lead, or resolved). Locks the incident."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        check_incident_open(incident, by=by)
        update = IncidentUpdate.objects.create(
            incident=incident, text_vi=text_vi, text_en=text_en, at=now, by=by
        )
        _tell_linked(
            incident, kind=EventKind.INCIDENT_UPDATE, text_vi=text_vi, text_en=text_en, by=by, now=now
        )
    return update


def resolve_incident(*, incident: Incident, text_vi: str, text_en: str, by: Any, now: datetime) -> Incident:
    """Resolve an open incident with what was done, and tell every linked complainant
    (`_tell_linked`); the filing form shows it no more. The linked cases stay as they are: each
    is resolved on its own. Raises IncidentRefused. Locks the incident."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        check_incident_open(incident, by=by)
        incident.status = IncidentStatus.RESOLVED
        incident.resolved_at, incident.resolved_by = now, by
        incident.resolution_vi, incident.resolution_en = text_vi, text_en
        incident.save(
            update_fields=["status", "resolved_at", "resolved_by", "resolution_vi", "resolution_en"]
        )
        _tell_linked(
            incident, kind=EventKind.INCIDENT_RESOLVED, text_vi=text_vi, text_en=text_en, by=by, now=now
        )
    return incident


def link_complaint(*, complaint: Complaint, incident: Incident, by: Any, now: datetime) -> Complaint:
    """Link one open case to an open incident, with a public timeline entry. The case's version
    is not bumped: nothing a colleague's open form says changes. Raises IncidentRefused or
    ActionRefused (closed case). Locks the incident, then the case."""
    return _link(
        complaint,
        incident,
        by=by,
        now=now,
        actor_role=ActorRole.STAFF,
        check=partial(check_incident_link, by=by),
    )


def link_related(
    *, complaint: Complaint, related: Complaint, incident: Incident, by: Any, now: datetime
) -> Complaint:
    """The one click of a case's related cases: of two cases, link the one not linked to
    `incident` to it, the other being linked to it (a related case to this case's incident, or this
    case to the related case's), as `link_complaint` does; return the case linked. Raises
    IncidentRefused when neither case is linked to `incident` any more (the page was read before a
    change), when the one to link is linked to another incident (`check_related_incident_link`), and
    as `link_complaint` does. Locks the incident, then the case it links."""
    with transaction.atomic():
        # The incident first, as everything that links to it does; then where the two stand now.
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        check_incident_open(incident, by=by)
        standing = dict(
            Complaint.objects.filter(pk__in=[complaint.pk, related.pk]).values_list("pk", "incident_id")
        )
        linked = [pk for pk in (complaint.pk, related.pk) if standing.get(pk) == incident.pk]
        if not linked:
            raise IncidentRefused(
                _("Neither case is linked to this incident any more. Look at the case again."), code="stale"
            )
        target = related if linked == [complaint.pk] else complaint
        return _link(
            target,
            incident,
            by=by,
            now=now,
            actor_role=ActorRole.STAFF,
            check=partial(check_related_incident_link, by=by),
        )


def _link(
    complaint: Complaint,
    incident: Incident,
    *,
    by: Any,
    now: datetime,
    actor_role: str,
    check: Callable[[Complaint, Incident], None],
) -> Complaint:
    """Link a case to an incident as `check` allows, with a public timeline entry (naming the
    incident it was linked to before, if any)."""
    with transaction.atomic():
        # The incident first, as its updates lock it: an update sent meanwhile reaches this case.
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        complaint = Complaint.objects.locked(complaint)
        check(complaint, incident)
        previous = complaint.incident_id
        complaint.incident = incident
        complaint.save(update_fields=["incident"])
        record_event(
            complaint=complaint,
            kind=EventKind.INCIDENT_LINKED,
            by=by,
            now=now,
            actor_role=actor_role,
            payload={"incident": incident.slug, **({"from": previous} if previous else {})},
        )
    return complaint


@dataclass
class LinkResult:
    """What a bulk link did: the references linked now, and those refused (closed or withdrawn)."""

    linked: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def link_complaints(
    *, complaints: QuerySet[Complaint], incident: Incident, by: Any, now: datetime
) -> LinkResult:
    """Link every case of `complaints` (a queue search's results) not yet linked to the open
    `incident`: one SELECT that locks them, one UPDATE, one INSERT of their timeline entries,
    whatever their number. A closed or withdrawn case is not linked and is listed as refused.
    Raises IncidentRefused. Locks the incident and the cases."""
    result = LinkResult()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        check_incident_open(incident, by=by)
        rows = (
            complaints.exclude(incident=incident)
            .order_by("id")
            .select_for_update(of=("self",))
            .values_list("id", "reference", "status")
        )
        ids = []
        for complaint_id, reference, status in rows:
            if status in ENDED_STATUSES:
                result.refused.append(reference)
            else:
                ids.append(complaint_id)
                result.linked.append(reference)
        if ids:
            Complaint.objects.filter(AnyOf("id", ids)).update(incident=incident)
            events = EventRows()
            for complaint_id in ids:
                events.add(
                    complaint_id=complaint_id,
                    kind=EventKind.INCIDENT_LINKED,
                    now=now,
                    actor_id=by.pk,
                    actor_role=ActorRole.STAFF,
                    payload={"incident": incident.slug},
                )
            events.insert()
    return result


def declare_incident_for(
    *, complaints: QuerySet[Complaint], by: Any, now: datetime, **fields: Any
) -> tuple[Incident, LinkResult]:
    """Declare an incident (`declare_incident`'s `fields`) from a queue search and link to it, in
    the same transaction, every case of `complaints` (its results, as `link_complaints` links
    them): the incident is never declared without its cases, nor its cases half linked. Return the
    incident and what was linked and refused. Raises IncidentRefused."""
    with transaction.atomic():
        incident = declare_incident(**fields, by=by, now=now)
        return incident, link_complaints(complaints=complaints, incident=incident, by=by, now=now)


def join_incident(*, complaint: Complaint, incident: Incident, by: Any, now: datetime) -> Complaint:
    """The complainant says an open incident of their complaint's category and provider is their
    problem too (after filing; at filing, intake links it): the case is linked, with a public
    timeline entry. Raises IncidentRefused or ActionRefused. Locks the incident, then the case."""
    return _link(
        complaint, incident, by=by, now=now, actor_role=ActorRole.COMPLAINANT, check=check_incident_join
    )
