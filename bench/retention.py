"""The retention benchmark: anonymising the complaints past their retention among a million,
beside one hand-written UPDATE blanking the same fields."""

from __future__ import annotations

import statistics
import time

from bench.harness import DATABASE, PSQL_URL, emit, fresh_database, probe, psql
from bench.seed import seed_complaints

TOTAL = 1_000_000
EXPIRED = 10_000
# The complaint's personal fields as anonymisation blanks them (complaints.services.retention).
BLANKED = """complainant_id = NULL, subject = '', description = '', desired_outcome = '', steps_taken = '',
    contact_name = '', contact_email = '', contact_phone = '', provider_username = '', provider_email = '',
    provider_account_id = '', resolution_summary = '', rating_comment = '', search_text = '',
    legal_hold_reason = '', anonymised_at = now()"""
EXPIRED_ROWS = "status IN ('closed', 'withdrawn') AND status_changed_at < now() - interval '3 years'"


def seed() -> None:
    """A million complaints (80 % closed a day ago), of which EXPIRED closed four years ago,
    each of those with three timeline entries (texts and a payload), an earlier contact and
    two evidence rows (their objects are not in storage: deleting them is the storage's cost,
    not the portal's), as many more complaints with entries that stay."""
    seed_complaints(TOTAL, open_every=5)
    psql(
        f"""UPDATE complaints_complaint SET status_changed_at = now() - interval '4 years',
               closed_at = now() - interval '4 years'
        WHERE id IN (SELECT id FROM complaints_complaint WHERE status = 'closed'
                     ORDER BY id LIMIT {EXPIRED})""",
        DATABASE,
    )
    psql(
        f"""INSERT INTO complaints_complaintevent
               (complaint_id, kind, actor_role, created_at, public, body, payload)
        SELECT c.id, k.kind, 'complainant', c.submitted_at, true, 'Nội dung của ' || c.contact_email,
               jsonb_build_object('status', 'open', 'reason', 'Lý do ' || c.id, 'email', c.contact_email)
        FROM (SELECT id, submitted_at, contact_email FROM complaints_complaint
              ORDER BY id LIMIT {4 * EXPIRED}) AS c
        CROSS JOIN (VALUES ('submitted'), ('reply'), ('closed')) AS k(kind)""",
        DATABASE,
    )
    psql(
        f"""INSERT INTO complaints_contactattempt (complaint_id, channel, contacted_at, with_whom,
               their_reference, summary, created_at)
        SELECT id, 'email', submitted_at, 'CSKH', 'T-' || id, 'Họ hứa gọi lại', submitted_at
        FROM complaints_complaint WHERE {EXPIRED_ROWS}""",
        DATABASE,
    )
    psql(
        f"""INSERT INTO evidence_evidence (public_id, complaint_id, uploader_role, caption, original_name,
               kind,
               content_type, size, sha256, original_key, derivative_key, derivative_content_type,
               thumbnail_key, created_at)
        SELECT gen_random_uuid(), c.id, 'complainant', 'Ảnh ' || n, 'anh-' || n || '.pdf', 'pdf',
               'application/pdf', 1000, md5(c.id || '-' || n) || md5(n || '-' || c.id),
               'bench/evidence/' || c.id || '-' || n || '.pdf', '', '', '', c.submitted_at
        FROM (SELECT id, submitted_at FROM complaints_complaint WHERE {EXPIRED_ROWS}) AS c
        CROSS JOIN generate_series(1, 2) AS n""",
        DATABASE,
    )
    for table in (
        "complaints_complaint",
        "complaints_complaintevent",
        "complaints_contactattempt",
        "evidence_evidence",
    ):
        psql(f"VACUUM ANALYZE {table}", DATABASE)


def retention_floor() -> float:
    """One hand-written UPDATE blanking the same fields of the same complaints: the median of
    three, each rolled back."""
    import psycopg

    timings = []
    for _ in range(3):
        with psycopg.connect(f"{PSQL_URL}/{DATABASE}") as conn:
            started = time.perf_counter()
            conn.execute(f"UPDATE complaints_complaint SET {BLANKED} WHERE {EXPIRED_ROWS}")
            timings.append(time.perf_counter() - started)
            conn.rollback()
        psql("VACUUM ANALYZE complaints_complaint", DATABASE)
    return statistics.median(timings)


def run() -> None:
    """`retention_sweep_s`: the beat task's body (complaints.services.retention.anonymise_expired)
    over the million, EXPIRED of them due; `retention_floor_s` beside it."""
    fresh_database()
    seed()
    floor_seconds = retention_floor()
    result = probe("bench.retention_probe")
    if result["anonymised"] != EXPIRED:
        raise SystemExit(f"retention anonymised {result['anonymised']} of {EXPIRED}")
    left = int(
        psql(
            "SELECT count(*) FROM complaints_complaint WHERE anonymised_at IS NULL AND " + EXPIRED_ROWS,
            DATABASE,
        )
    )
    if left:
        raise SystemExit(f"retention left {left} expired complaints")
    emit("retention_sweep_s", result["seconds"], "s", EXPIRED)
    emit("retention_floor_s", floor_seconds, "s", EXPIRED)
    emit("retention_ratio_to_floor", result["seconds"] / floor_seconds, "ratio", EXPIRED)
    emit("retention_statements", result["statements"], "statements", EXPIRED)
