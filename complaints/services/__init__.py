"""The complaint workflows, grouped by who acts.

- `intake`: a complaint filed with its dossier, contacts and evidence;
- `complainant`: what the complainant does to their case;
- `staff`: what staff do to a case (ladder moves are `escalation.moves`);
- `incidents`: one problem many complainants meet, its cases linked and told at once;
- `relations`: two cases staff link to each other;
- `waves`: a surge of one provider's complaints noticed, and the managers alerted;
- `lifecycle`: what every workflow shares (locks, versions, transitions) and the
  automatic closing of resolved cases.

Pages and tasks call these to change things; they read through selectors. The names
below are the workflows' public face.
"""

from complaints.services.complainant import (
    accept_resolution,
    add_contact,
    complete_complaint,
    dispute_resolution,
    rate_handling,
    reply_as_complainant,
    resend_tracking_link,
    send_reminder,
    withdraw_complaint,
    withdraw_consent,
)
from complaints.services.incident_answers import reply_to_linked, resolve_linked
from complaints.services.incidents import (
    declare_incident,
    declare_incident_for,
    join_incident,
    link_complaint,
    link_complaints,
    link_related,
    resolve_incident,
    update_incident,
)
from complaints.services.intake import file_complaint, submit_complaint
from complaints.services.lifecycle import close_expired_resolutions, transition_complaint
from complaints.services.relations import relate_complaints, unrelate_complaints
from complaints.services.staff import (
    add_internal_note,
    assign_complaint,
    reclassify_complaint,
    reply_as_staff,
    request_information,
    resolve_complaint,
)
from complaints.services.waves import detect_waves, dismiss_wave_alert

__all__ = [
    "accept_resolution",
    "add_contact",
    "add_internal_note",
    "assign_complaint",
    "close_expired_resolutions",
    "complete_complaint",
    "declare_incident",
    "declare_incident_for",
    "detect_waves",
    "dismiss_wave_alert",
    "dispute_resolution",
    "file_complaint",
    "join_incident",
    "link_complaint",
    "link_complaints",
    "link_related",
    "rate_handling",
    "reclassify_complaint",
    "relate_complaints",
    "reply_as_complainant",
    "reply_as_staff",
    "reply_to_linked",
    "request_information",
    "resend_tracking_link",
    "resolve_complaint",
    "resolve_incident",
    "resolve_linked",
    "send_reminder",
    "submit_complaint",
    "transition_complaint",
    "unrelate_complaints",
    "update_incident",
    "withdraw_complaint",
    "withdraw_consent",
]
