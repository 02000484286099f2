"""Where personal data lives: every field of every model of the portal, with its decision.

`ERASED` lists, per model, the fields that hold what a person told us or what identifies
them: anonymisation (complaints.services.retention) blanks them, deletes the stored
objects they name, or deletes the rows; the person's export reads them. `KEPT` lists every
other field, each kept because it is not personal (codes, dates, deadlines, counters, staff
actions) so that the statistics do not change. tests/complaints/test_personal_data.py
checks that every field of every model is in exactly one of the two: a new field without
a decision fails it.
"""

from __future__ import annotations

# Rows about a complaint whose personal fields are blanked (or, for tokens, whose rows go).
ERASED: dict[str, frozenset[str]] = {
    "complaints.Complaint": frozenset(
        {
            "complainant",  # the link to the person's account (set to nothing)
            "subject",
            "description",
            "desired_outcome",
            "steps_taken",
            "contact_name",
            "contact_email",
            "contact_phone",
            "provider_username",
            "provider_email",
            "provider_account_id",
            "resolution_summary",
            "rating_comment",
            "search_text",
            "related_text",  # the subject and description's start, folded
            "legal_hold_reason",  # may name the person (kept while the hold stands)
        }
    ),
    "complaints.ComplaintEvent": frozenset({"body", "payload"}),  # payload: structural keys kept
    "complaints.ContactAttempt": frozenset({"with_whom", "their_reference", "summary"}),
    "complaints.TrackingToken": frozenset({"token_hash"}),  # rows deleted
    "complaints.ReplyToken": frozenset({"email", "token_hash"}),  # rows deleted
    "complaints.Notification": frozenset({"email", "context", "last_error"}),
    "complaints.InboundMessage": frozenset(
        {"from_address", "subject", "text", "detail", "problem", "raw_key"}
    ),
    "escalation.Escalation": frozenset({"note"}),
    "evidence.Evidence": frozenset(
        {"caption", "original_name", "original_key", "derivative_key", "thumbnail_key"}
    ),
    "complaints.PrivacyRequest": frozenset({"details", "requester", "email", "answer"}),
}

KEPT: dict[str, frozenset[str]] = {
    "complaints.Complaint": frozenset(
        {
            "id",
            "reference",
            "submission_key",
            "category",
            "subcategory",
            "occurred_at",
            "first_reported_at",
            "language",
            "provider_name",  # the company complained about, not the person
            "provider_key",  # the same, as a key
            "complexity",
            "status",
            "assignee",
            "submitted_at",
            "status_changed_at",
            "resolved_at",
            "closed_at",
            "last_reminder_at",
            "rating",
            "incomplete_since",
            "missing_parts",
            "consent_version",
            "consent_given_at",
            "consent_withdrawn_at",
            "processing_restricted_at",
            "legal_hold_since",
            "anonymised_at",
            "version",
            "clock_started_at",
            "clock_paused_at",
            "first_response_due_at",
            "first_responded_at",
            "first_response_warned_at",
            "first_response_breached_at",
            "resolution_due_at",
            "resolution_warned_at",
            "resolution_breached_at",
            "escalation_level",
            "level_since",
            "next_check_at",
            "regime",
            "acknowledged_at",
            "accepted_at",
            "final_response_at",
            # what staff found: counted in the dashboard and the compliance report
            "cause",
            "outcome",
            "remedy",
            "remedy_amount",
            "remedy_currency",
            "acknowledge_due_at",
            "accept_due_at",
            "final_response_due_at",
            "acknowledge_warning_at",
            "accept_warning_at",
            "final_response_warning_at",
            "acknowledge_warned_at",
            "acknowledge_breached_at",
            "accept_warned_at",
            "accept_breached_at",
            "final_response_warned_at",
            "final_response_breached_at",
            "incident",  # the service outage it was one of: counted, never about the person
        }
    ),
    "complaints.ComplaintEvent": frozenset(
        {"id", "complaint", "kind", "actor", "actor_role", "created_at", "public"}
    ),
    "complaints.ContactAttempt": frozenset({"id", "complaint", "channel", "contacted_at", "created_at"}),
    "complaints.TrackingToken": frozenset({"id", "complaint", "created_at", "expires_at", "last_used_at"}),
    "complaints.ReplyToken": frozenset({"id", "complaint", "recipient", "created_at", "revoked_at"}),
    "complaints.Notification": frozenset(
        {
            "id",
            "complaint",
            "recipient",
            "template",
            "language",
            "status",
            "attempts",
            "created_at",
            "next_attempt_at",
            "sent_at",
            "message_id",
        }
    ),
    "complaints.InboundMessage": frozenset(
        {
            "id",
            "door",
            "message_id",
            "sha256",
            "size",
            "received_at",
            "status",
            "reason",
            "complaint",
            "event",
            "handled_by",
            "handled_at",
        }
    ),
    "escalation.Escalation": frozenset(
        {
            "id",
            "complaint",
            "from_level",
            "to_level",
            "reason",
            "deadline_at",
            "trigger_key",
            "by",
            "due_at",
            "created_at",
        }
    ),
    "evidence.Evidence": frozenset(
        {
            "id",
            "public_id",
            "complaint",
            "uploaded_by",
            "uploader_role",
            "kind",
            "content_type",
            "size",
            "sha256",  # proof of what was filed, kept when the file goes
            "derivative_content_type",
            "width",
            "height",
            "created_at",
        }
    ),
    "complaints.PrivacyRequest": frozenset(
        {"id", "complaint", "kind", "status", "language", "created_at", "due_at", "handled_by", "handled_at"}
    ),
    # Two cases staff linked to each other: which, when and by whom; nothing the person said.
    "complaints.ComplaintRelation": frozenset({"id", "low", "high", "created_at", "created_by"}),
}

# Models that hold no personal data at all: the catalogue and the settings of the engine.
NOT_PERSONAL: frozenset[str] = frozenset(
    {
        "complaints.Category",
        "complaints.Subcategory",
        "complaints.CannedReply",
        "complaints.ConsentWording",
        "complaints.Tally",  # counts per week, category and level: nobody in them
        "complaints.ReportTally",  # counts per day and regime: nobody in them
        "escalation.BusinessCalendar",
        "escalation.WorkingPeriod",
        "escalation.Holiday",
        "escalation.SlaPolicy",
        "escalation.EscalationLevel",
        "escalation.Regime",
        "escalation.RegimeDeadline",
        "escalation.LetterTemplate",  # the letters' wording; a letter sent is on the timeline
        "complaints.Cause",
        # A service's outage as staff announced it in public, and its public updates: the
        # complainants are only linked to it (Complaint.incident); the authors are staff.
        "complaints.Incident",
        "complaints.IncidentUpdate",
        # A surge of complaints about one service: a category, the service's name, counts and
        # times, and which member of staff handled it; nobody who complained.
        "complaints.WaveAlert",
    }
)

# Models with personal data that is not a complaint's, and where it is dealt with.
ELSEWHERE: dict[str, str] = {
    "accounts.User": "a person's account: closed on request (a privacy request), not by a case's retention",
    "evidence.StagedUpload": "files chosen on a form and not sent: deleted after a day (evidence.tasks)",
    "complaints.AccessRecord": (
        "the append-only log of who saw what: readers, times and addresses, kept as the record "
        "of access (staff's, and a complainant's own downloads); its own retention is to come"
    ),
}

# The keys of an event's payload kept by anonymisation: ids, codes and times, never text.
KEPT_PAYLOAD_KEYS: frozenset[str] = frozenset(
    {
        "from",
        "to",
        "status",
        "fell_due_at",
        "due_at",
        "deadline",
        "missing",
        "via",
        "door",
        "evidence",
        "contacts",
        "contact_id",
        "inbound",
        "reviewed_by",
        "kind",
        "level",
        "letter",  # which of a regime's letters was sent (its subject and text go)
        "message_id",
        "cause",
        "outcome",
        "remedy",
        "incident",  # the incident's address (its slug): public, about a service
        "case",  # the reference of a case linked to this one (or unlinked from it)
    }
)


# What a person's export (complaints.services.personal_data) gives of each model's personal
# fields, read from the rows about them: their complaints, the public entries of their
# timelines, their earlier contacts, their files (and the files themselves), the notices
# sent to them and the e-mails they sent.
EXPORTED: dict[str, frozenset[str]] = {
    "complaints.Complaint": ERASED["complaints.Complaint"]
    - {"complainant", "search_text", "related_text", "legal_hold_reason"},
    "complaints.ComplaintEvent": frozenset({"body"}),
    "complaints.ContactAttempt": ERASED["complaints.ContactAttempt"],
    "complaints.Notification": frozenset({"email"}),
    "complaints.InboundMessage": frozenset({"from_address", "subject", "text"}),
    "evidence.Evidence": frozenset({"caption", "original_name", "original_key"}),  # the key: the file
    "complaints.PrivacyRequest": frozenset({"details", "email", "answer"}),
}

# The personal fields an export leaves out, and why; with EXPORTED, every erased field is
# decided (tests/complaints/test_personal_data.py).
NOT_EXPORTED: dict[tuple[str, str], str] = {
    ("complaints.Complaint", "complainant"): "the account itself is exported once, not per complaint",
    ("complaints.Complaint", "search_text"): "an index built from fields that are exported",
    ("complaints.Complaint", "related_text"): "an index built from fields that are exported",
    ("complaints.Complaint", "legal_hold_reason"): "a legal matter between the operator and an authority",
    ("complaints.ComplaintEvent", "payload"): "ids and codes; what they mean is exported with the entry",
    ("complaints.TrackingToken", "token_hash"): "a secret's hash, useless to anyone",
    ("complaints.ReplyToken", "email"): "the contact address, exported with the complaint",
    ("complaints.ReplyToken", "token_hash"): "a secret's hash, useless to anyone",
    ("complaints.Notification", "context"): "what the notice said is in the timeline",
    ("complaints.Notification", "last_error"): "the mail server's words, not the person's data",
    ("complaints.InboundMessage", "detail"): "why staff had to review it",
    ("complaints.InboundMessage", "problem"): "why staff had to review it",
    (
        "complaints.InboundMessage",
        "raw_key",
    ): "the sealed e-mail is the person's own message, exported as text",
    ("escalation.Escalation", "note"): "staff's reasons for moving the case, internal",
    ("evidence.Evidence", "derivative_key"): "a re-encoded copy of a file whose original is exported",
    ("evidence.Evidence", "thumbnail_key"): "a preview of a file whose original is exported",
    ("complaints.PrivacyRequest", "requester"): "the account itself is exported once",
}
