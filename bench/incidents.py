"""The incident benchmark: a public reply to 10,000 complaints linked to one incident (their
timeline entries, first responses and notices), beside one hand-written INSERT … SELECT of the
same timeline entries; and, last, a resolve-all of the same cases (`incident_bulk_resolve_s`)."""

from __future__ import annotations

import statistics
import time

from bench.harness import DATABASE, PSQL_URL, emit, fresh_database, print_heaviest, probe, psql
from bench.seed import seed_complaints

LINKED = 10_000
TOTAL = 50_000  # the others are not linked to the incident
ROUNDS = 3
# What a reply wrote, undone for the next round: the cases as they were, the events and notices gone.
RESET = """UPDATE complaints_complaint SET first_responded_at = NULL, version = 1,
    next_check_at = first_response_due_at WHERE incident_id = {incident}"""
TRUNCATE = "TRUNCATE complaints_inboundmessage, complaints_complaintevent, complaints_notification"
FLOOR = """INSERT INTO complaints_complaintevent
        (complaint_id, kind, actor_id, actor_role, created_at, public, body, payload)
    SELECT id, 'reply', %(lead)s, 'staff', now(), true,
           CASE WHEN language = 'en' THEN %(en)s::text ELSE %(vi)s::text END,
           jsonb_build_object('incident', %(slug)s::text)
    FROM complaints_complaint WHERE incident_id = %(incident)s"""


# Beside the floor: the cases' own UPDATE alone, as one hand-written statement (the first response,
# the next check, the version), to read how much of the reply is the table's own cost.
UPDATE_FLOOR = """UPDATE complaints_complaint SET first_responded_at = now(),
    next_check_at = resolution_due_at, version = version + 1 WHERE incident_id = %(incident)s"""
# And the notices, one per complainant in their language, as one hand-written INSERT … SELECT.
NOTICE_FLOOR = """INSERT INTO complaints_notification (email, template, language, context, status,
        attempts, created_at, next_attempt_at, last_error, complaint_id, message_id)
    SELECT contact_email, 'case_update', language,
           jsonb_build_object('kind', 'reply',
               'note', CASE WHEN language = 'en' THEN %(en)s::text ELSE %(vi)s::text END,
               'with_tracking_link', complainant_id IS NULL,
               'incident_path', '/incidents/' || %(slug)s::text || '/'),
           'pending', 0, now(), now(), '', id, '<' || md5(random()::text) || '@portal.example.org>'
    FROM complaints_complaint WHERE incident_id = %(incident)s AND contact_email <> ''"""
# The foreign keys of the rows inserted are checked when the transaction commits (they are
# deferred); a floor rolled back checks none. SET CONSTRAINTS … IMMEDIATE checks them at once.
CHECKED = "SET CONSTRAINTS ALL IMMEDIATE"


def incident_floor(incident: int, lead: int, *statements: str) -> float:
    """Hand-written statements (the floor: the same timeline entries as one INSERT … SELECT), timed
    together: the median of ROUNDS, each rolled back."""
    import psycopg

    timings = []
    for _ in range(ROUNDS):
        with psycopg.connect(f"{PSQL_URL}/{DATABASE}") as conn:
            slug = conn.execute("SELECT slug FROM complaints_incident WHERE id = %s", [incident]).fetchone()[
                0
            ]
            params = {
                "lead": lead,
                "vi": "ShopNhanh đã khôi phục đăng nhập.",
                "en": "ShopNhanh restored log-in.",
                "slug": slug,
                "incident": incident,
            }
            started = time.perf_counter()
            for statement in statements or (FLOOR,):
                conn.execute(statement, params)
            timings.append(time.perf_counter() - started)
            conn.rollback()
        psql("VACUUM ANALYZE complaints_complaintevent", DATABASE)
        psql("VACUUM ANALYZE complaints_notification", DATABASE)
        psql("VACUUM ANALYZE complaints_complaint", DATABASE)
    return statistics.median(timings)


def reset(incident: int) -> None:
    """The cases as they were before a reply, its events and notices gone."""
    psql(RESET.format(incident=incident), DATABASE)
    psql(TRUNCATE, DATABASE)
    psql("VACUUM ANALYZE complaints_complaint", DATABASE)


def run() -> None:
    """`reply_to_linked` over LINKED linked complaints among TOTAL, ROUNDS times on the same
    cases reset in between (median), beside the floor."""
    fresh_database()
    seed_complaints(TOTAL, open_every=1)  # every case open, its first response due in 10 days
    psql("UPDATE complaints_complaint SET language = 'en' WHERE id % 2 = 0", DATABASE)
    made = probe("bench.incident_probe", "setup", str(LINKED))
    incident, lead = made["incident"], made["lead"]
    if made["linked"] != LINKED:
        raise SystemExit(f"{made['linked']} of {LINKED} linked")
    reset(incident)
    floor = incident_floor(incident, lead)
    update_floor = incident_floor(incident, lead, UPDATE_FLOOR)
    checked_floor = incident_floor(incident, lead, CHECKED, FLOOR)
    writes_floor = incident_floor(incident, lead, CHECKED, UPDATE_FLOOR, FLOOR, NOTICE_FLOOR)
    runs = []
    for _ in range(ROUNDS):
        done = probe("bench.incident_probe", "reply", str(incident), str(lead))
        if done["answered"] != LINKED:
            raise SystemExit(f"the reply answered {done['answered']} of {LINKED}")
        runs.append(done)
        reset(incident)
    profiled = probe("bench.incident_probe", "reply", str(incident), str(lead), "profile")
    reset(incident)
    resolved = probe("bench.incident_probe", "resolve_all", str(incident), str(lead))  # last: not undone
    if resolved["resolved"] != LINKED:
        raise SystemExit(f"the resolve-all resolved {resolved['resolved']} of {LINKED}")
    seconds = statistics.median(run["seconds"] for run in runs)
    emit("incident_bulk_reply_s", seconds, "s", LINKED)
    emit("incident_floor_s", floor, "s", LINKED)
    emit("incident_ratio_to_floor", seconds / floor, "ratio", LINKED)
    emit("incident_update_floor_s", update_floor, "s", LINKED)
    emit("incident_floor_checked_s", checked_floor, "s", LINKED)
    emit("incident_writes_floor_s", writes_floor, "s", LINKED)
    emit("incident_ratio_to_writes_floor", seconds / writes_floor, "ratio", LINKED)
    emit(
        "incident_bulk_reply_in_statements_s",
        statistics.median(r["statement_seconds"] for r in runs),
        "s",
        LINKED,
    )
    emit(
        "incident_bulk_reply_in_commits_s", statistics.median(r["commit_seconds"] for r in runs), "s", LINKED
    )
    emit("incident_bulk_reply_statements", runs[-1]["statements"], "statements", LINKED)
    emit("incident_batches", runs[-1]["batches"], "batches", LINKED)
    emit("incident_bulk_resolve_s", resolved["seconds"], "s", LINKED)
    emit("incident_bulk_resolve_statements", resolved["statements"], "statements", LINKED)
    print("# incidents, one bulk reply to 10,000 cases under cProfile (compare them with each other):")
    print_heaviest(profiled["profile"], "reply", 12)
