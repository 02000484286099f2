"""Cases linked to each other (complaints.services.relations) and the one click that links one of
two related cases to the other's incident (complaints.services.incidents.link_related)."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction

from accounts.models import Role
from complaints import services
from complaints.models import Complaint, ComplaintEvent, ComplaintRelation, EventKind
from complaints.refusals import IncidentRefused, RelationRefused
from tests.factories import NOW, make_complaint, make_incident, make_user


def events(complaint, kind):
    return list(ComplaintEvent.objects.filter(complaint=complaint, kind=kind).order_by("pk"))


def declared(by, provider="ShopNhanh"):
    return make_incident(by, provider_name=provider, started_at=NOW)


@pytest.mark.django_db
def test_a_link_is_stored_once_lower_id_first_and_told_on_both_timelines():
    agent = make_user(role=Role.AGENT)
    first, second = make_complaint(), make_complaint()
    relation = services.relate_complaints(complaint=second, other=first, by=agent, now=NOW)
    assert (relation.low_id, relation.high_id) == (first.pk, second.pk)
    for one, two in ((first, second), (second, first)):
        [event] = events(one, EventKind.CASE_LINKED)
        assert not event.public and event.payload == {"case": two.reference} and event.actor == agent
    # Neither case's version moves: nothing a colleague's open form says changed.
    assert {c.version for c in Complaint.objects.filter(pk__in=[first.pk, second.pk])} == {first.version}


@pytest.mark.django_db
def test_linking_again_either_way_is_refused_and_writes_nothing():
    agent = make_user(role=Role.AGENT)
    first, second = make_complaint(), make_complaint()
    services.relate_complaints(complaint=first, other=second, by=agent, now=NOW)
    for one, two in ((first, second), (second, first)):
        with pytest.raises(RelationRefused) as refused:
            services.relate_complaints(complaint=one, other=two, by=agent, now=NOW)
        assert refused.value.code == "unchanged"
    assert ComplaintRelation.objects.count() == 1
    assert len(events(first, EventKind.CASE_LINKED)) == len(events(second, EventKind.CASE_LINKED)) == 1


@pytest.mark.django_db
def test_not_to_itself_and_only_by_staff():
    case, other = make_complaint(), make_complaint()
    with pytest.raises(RelationRefused):
        services.relate_complaints(complaint=case, other=case, by=make_user(role=Role.AGENT), now=NOW)
    for someone in (None, make_user()):
        with pytest.raises(RelationRefused):
            services.relate_complaints(complaint=case, other=other, by=someone, now=NOW)
    assert not ComplaintRelation.objects.exists()
    assert not ComplaintEvent.objects.filter(kind=EventKind.CASE_LINKED).exists()


@pytest.mark.django_db
def test_a_link_is_removed_once_from_either_side():
    agent = make_user(role=Role.AGENT)
    first, second = make_complaint(), make_complaint()
    services.relate_complaints(complaint=first, other=second, by=agent, now=NOW)
    services.unrelate_complaints(complaint=second, other=first, by=agent, now=NOW)
    assert not ComplaintRelation.objects.exists()
    with pytest.raises(RelationRefused):
        services.unrelate_complaints(complaint=first, other=second, by=agent, now=NOW)
    for one, two in ((first, second), (second, first)):
        [event] = events(one, EventKind.CASE_UNLINKED)
        assert not event.public and event.payload == {"case": two.reference}
    services.relate_complaints(complaint=first, other=second, by=agent, now=NOW)  # and made again
    assert ComplaintRelation.objects.count() == 1


@pytest.mark.django_db
def test_the_database_holds_each_pair_once_lower_id_first():
    first, second = make_complaint(), make_complaint()
    ComplaintRelation.objects.create(low_id=first.pk, high_id=second.pk, created_at=NOW)
    for low, high in ((first.pk, second.pk), (second.pk, first.pk), (first.pk, first.pk)):
        with pytest.raises(IntegrityError), transaction.atomic():
            ComplaintRelation.objects.create(low_id=low, high_id=high, created_at=NOW)


class _OtherStaffMember:
    """Another member of staff's transaction on a second connection, left open: their link (or
    its removal) is made and not yet committed."""

    def __init__(self) -> None:
        database = connection.settings_dict
        self.connection = psycopg.connect(
            dbname=database["NAME"],
            user=database["USER"] or None,
            password=database["PASSWORD"] or None,
            host=database["HOST"] or None,
            port=database["PORT"] or None,
        )

    def execute(self, statement: str, params: list) -> None:
        self.connection.execute(statement, params)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("act", ["relate", "unrelate"])
def test_two_people_at_once_one_goes_through_and_the_other_is_told(act):
    """The other's uncommitted link (or removal) holds this one until it commits; then this one
    finds the pair linked already (or gone), is refused, and writes nothing."""
    agent = make_user(role=Role.AGENT)
    first, second = make_complaint(), make_complaint()
    if act == "unrelate":
        services.relate_complaints(complaint=first, other=second, by=agent, now=NOW)
    other = _OtherStaffMember()
    if act == "relate":
        other.execute(
            "INSERT INTO complaints_complaintrelation (low_id, high_id, created_at) VALUES (%s, %s, now())",
            [first.pk, second.pk],
        )
    else:
        other.execute("DELETE FROM complaints_complaintrelation WHERE low_id = %s", [first.pk])
    outcome: list[object] = []

    def mine() -> None:
        try:
            getattr(services, f"{act}_complaints")(complaint=second, other=first, by=agent, now=NOW)
            outcome.append("done")
        except RelationRefused as refused:
            outcome.append(refused.code)
        finally:
            connection.close()

    worker = threading.Thread(target=mine)
    worker.start()
    time.sleep(0.5)
    assert worker.is_alive()  # waiting for the other's transaction
    other.connection.commit()
    other.connection.close()
    worker.join(10)
    assert outcome == ["unchanged" if act == "relate" else "not_linked"]
    kind = EventKind.CASE_LINKED if act == "relate" else EventKind.CASE_UNLINKED
    assert not events(first, kind) and not events(second, kind)


@pytest.mark.django_db
def test_one_click_links_whichever_of_the_two_is_not_in_the_incident():
    lead = make_user(role=Role.TEAM_LEAD)
    incident = declared(lead)
    case, related = make_complaint(), make_complaint()
    services.link_complaint(complaint=case, incident=incident, by=lead, now=NOW)
    linked = services.link_related(complaint=case, related=related, incident=incident, by=lead, now=NOW)
    assert linked.pk == related.pk and Complaint.objects.get(pk=related.pk).incident == incident
    third = make_complaint()
    linked = services.link_related(complaint=third, related=case, incident=incident, by=lead, now=NOW)
    assert linked.pk == third.pk and Complaint.objects.get(pk=third.pk).incident == incident
    assert len(events(third, EventKind.INCIDENT_LINKED)) == 1


@pytest.mark.django_db
def test_one_click_refuses_a_stale_page_another_incident_and_an_agent():
    lead, agent = make_user(role=Role.TEAM_LEAD), make_user(role=Role.AGENT)
    incident, other = declared(lead), declared(lead, provider="Tiki")
    case, related = make_complaint(), make_complaint()
    with pytest.raises(IncidentRefused) as refused:  # neither is in it (any more)
        services.link_related(complaint=case, related=related, incident=incident, by=lead, now=NOW)
    assert refused.value.code == "stale"
    services.link_complaint(complaint=case, incident=incident, by=lead, now=NOW)
    services.link_complaint(complaint=related, incident=other, by=lead, now=NOW)
    with pytest.raises(IncidentRefused) as refused:
        services.link_related(complaint=case, related=related, incident=incident, by=lead, now=NOW)
    assert refused.value.code == "other_incident"
    assert Complaint.objects.get(pk=related.pk).incident == other
    fresh = make_complaint()
    with pytest.raises(IncidentRefused) as refused:
        services.link_related(complaint=case, related=fresh, incident=incident, by=agent, now=NOW)
    assert refused.value.code == "not_lead"
    assert Complaint.objects.get(pk=fresh.pk).incident is None
