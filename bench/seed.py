"""Data for the benchmarks: complaints seeded by SQL, deadlines falling due, the staff's
world of a million complaints, the intake form's fields."""

from __future__ import annotations

import subprocess
import sys

from bench.harness import DATABASE, ROOT, bench_env, fresh_database, probe, psql

COMPLAINT_COLUMNS = """reference, category_id, subcategory_id, subject, description, desired_outcome,
    occurred_at, contact_name, contact_email, contact_phone, language, provider_name, provider_username,
    provider_email, provider_account_id, steps_taken, complexity, status, submitted_at, status_changed_at,
    resolution_summary, rating_comment, version, clock_started_at, first_response_due_at,
    resolution_due_at, escalation_level, next_check_at, search_text, outcome, remedy, provider_key,
    related_text"""


def seed_complaints(total: int, open_every: int) -> None:
    """`total` complaints in one statement; every `open_every`-th is open with a check in 10 days."""
    category, subcategory = psql(
        "SELECT category_id, id FROM complaints_subcategory WHERE slug = 'cannot-log-in'", DATABASE
    ).split("|")
    psql(
        f"""INSERT INTO complaints_complaint ({COMPLAINT_COLUMNS})
        SELECT 'KN-' || lpad(to_hex(g), 8, '0'), {category}, {subcategory}, 'Subject ' || g,
               'Description of complaint ' || g, 'Outcome', now() - interval '2 days', 'Name',
               'c' || g || '@example.org', '', 'vi', 'Shop', '', '', '', '', 'simple',
               CASE WHEN g % {open_every} = 0 THEN 'open' ELSE 'closed' END,
               now() - interval '1 day', now() - interval '1 day', '', '', 1, now() - interval '1 day',
               now() + interval '10 days', now() + interval '12 days', 0,
               CASE WHEN g % {open_every} = 0 THEN now() + interval '10 days' END,
               'kn-' || lpad(to_hex(g), 8, '0') || E'\\nsubject ' || g || E'\\nc' || g || '@example.org',
               '', '', 'shop', 'subject ' || g || ' description of complaint ' || g
        FROM generate_series(1, {total}) AS g""",
        DATABASE,
    )
    psql("VACUUM ANALYZE complaints_complaint", DATABASE)


def make_due(count: int) -> None:
    """`count` open complaints whose first response was due an hour ago (already warned)."""
    psql(
        f"""UPDATE complaints_complaint SET first_response_due_at = now() - interval '1 hour',
               first_response_warned_at = now() - interval '2 hours',
               next_check_at = now() - interval '1 hour'
        WHERE id IN (SELECT id FROM complaints_complaint WHERE status = 'open' ORDER BY id LIMIT {count})""",
        DATABASE,
    )
    psql("VACUUM ANALYZE complaints_complaint", DATABASE)


def make_due_during(seconds: int, count: int) -> str:
    """`count` open cases at the team lead's level whose first response falls due, one after
    another, over the next `seconds`: each breach sends one to the managers' queue. Returns
    the moment they were set, as ISO 8601 (the database's clock)."""
    since = psql("SELECT now()", DATABASE)
    step = f"interval '{seconds / count} seconds'"
    psql(
        f"""WITH due AS (
               SELECT id, row_number() OVER (ORDER BY id) AS n FROM complaints_complaint
               WHERE status = 'open' AND assignee_id IS NOT NULL AND escalation_level = 0
                     AND complainant_id IS NULL ORDER BY id LIMIT {count})
           UPDATE complaints_complaint c SET escalation_level = 1, level_since = now(),
               first_responded_at = NULL, first_response_breached_at = NULL,
               first_response_warned_at = now(),
               first_response_due_at = now() + interval '5 seconds' + due.n * {step},
               next_check_at = now() + interval '5 seconds' + due.n * {step}
           FROM due WHERE c.id = due.id""",
        DATABASE,
    )
    return since


# Complainants' accounts in the staff pages' world.
ACCOUNTS = 10_000


def seed_staff_world(total: int = 1_000_000) -> None:
    """A million complaints (or `total`), a fifth of them open: half unassigned, the rest spread
    over 40 agents, deadlines spread over two weeks, one open case in ten escalated to the
    managers after a missed deadline; submissions over the last three years. Beside the staff,
    ACCOUNTS complainants' accounts, as a portal has: the planner weighs a query on accounts
    (the team tab's teammates) by the size of that table."""
    fresh_database()
    seed_complaints(total, open_every=5)
    psql(
        f"""INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, is_staff,
               is_active, date_joined, email, preferred_language, is_demo)
           SELECT '!', false, 'bench-account-' || g, '', '', false, true, now(), '', 'vi', false
             FROM generate_series(1, {ACCOUNTS}) AS g""",
        DATABASE,
    )
    staff = probe("bench.page_probe", "setup")
    agents = "ARRAY[" + ",".join(str(pk) for pk in staff["agents"]) + "]"
    # Submitted over the last three years in the order of their ids, as a portal inserts them.
    psql(
        f"""UPDATE complaints_complaint SET
               submitted_at = now() - ((SELECT max(id) FROM complaints_complaint) - id)
                   * interval '1095 days' / {total} - (id % 1440) * interval '1 second',
               first_response_due_at = now() + (id % 20000 - 2000) * interval '1 minute',
               resolution_due_at = now() + (id % 20000 + 5000) * interval '1 minute',
               first_responded_at = CASE WHEN id % 3 = 0 THEN now() - interval '1 hour' END,
               first_response_breached_at = CASE WHEN id % 7 = 0 OR id % 50 = 0
                   THEN now() - (id % 1000) * interval '1 minute' END,
               resolved_at = CASE WHEN status = 'closed' THEN now() - (id % 300) * interval '1 day' END,
               assignee_id = CASE WHEN status = 'open' AND id % 2 = 1 THEN ({agents})[id / 10 % 40 + 1] END,
               escalation_level = CASE WHEN status = 'open' AND id % 50 = 0 THEN 2 ELSE 0 END""",
        DATABASE,
    )
    seed_regimes()
    # Every row was written twice, inserted then updated, which no running portal does to all
    # its cases at once: it left the queue search's trigram index (GIN) four to seven times
    # slower to scan (20.8 ms for the bench's search) than one more cycle of updates and
    # vacuum leaves it (3.8-4.9 ms) or a rebuild (3.0 ms). The indexes as a restored dump has them.
    psql("REINDEX TABLE complaints_complaint", DATABASE)
    rebuild_tallies()
    psql("VACUUM ANALYZE complaints_complaint", DATABASE)
    psql("VACUUM ANALYZE accounts_user", DATABASE)


def rebuild_tallies() -> None:
    """The dashboard's and the compliance report's tallies counted afresh, one row per key, as
    `manage.py rebuild_tallies` leaves them (the triggers kept them through the bulk seeding,
    a few rows per statement; a running portal's beat folds them every ten minutes)."""
    subprocess.run(
        [sys.executable, "manage.py", "rebuild_tallies", "-v0"], cwd=ROOT, env=bench_env(), check=True
    )
    psql("VACUUM ANALYZE complaints_tally", DATABASE)
    psql("VACUUM ANALYZE complaints_reporttally", DATABASE)


def seed_regimes() -> None:
    """Nine complaints in ten under a regime, as the compliance report reads them: six in ten
    under the FCA's (given an acknowledgement deadline of one working day beside its eight
    weeks), three under Vietnam's Law on Complaints (acceptance in 10 working days, the final
    response 30 days after it). Each acknowledged two minutes after receipt; the closed ones
    answered within 0 to 44 days (one in 45 on the same day or the next two), one in 33 late, and
    found upheld (one in 7), partly upheld (one in 7) or not; one acceptance in 97 late; the open
    ones' final response still ahead, except the one in 50 the managers' queue holds, whose
    deadline was missed. (The day counts are approximate: the report reads the stored dates.)"""
    psql(
        """INSERT INTO escalation_regimedeadline (regime_id, kind, days, unit, counted_from, pausable)
           SELECT id, 'acknowledge', 1, 'working', 'receipt', false FROM escalation_regime
           WHERE code = 'fca-disp'""",
        DATABASE,
    )
    psql(
        """WITH r AS (SELECT (SELECT id FROM escalation_regime WHERE code = 'fca-disp') AS fca,
                            (SELECT id FROM escalation_regime WHERE code = 'vn-complaints-2011') AS vn),
           c AS (SELECT c.id, c.submitted_at AS s, c.status = 'closed' AS closed,
                        CASE WHEN c.id % 10 < 6 THEN r.fca WHEN c.id % 10 < 9 THEN r.vn END AS regime,
                        c.submitted_at + CASE WHEN c.id % 97 = 0 THEN 16 ELSE c.id % 12 END
                            * interval '1 day' AS accepted,
                        c.submitted_at + CASE WHEN c.id % 33 = 0 THEN 70 ELSE c.id % 45 END * interval '1 day'
                            + (c.id % 600) * interval '1 minute' AS answered
                 FROM complaints_complaint c, r)
           UPDATE complaints_complaint t SET
               regime_id = c.regime,
               acknowledged_at = c.s + interval '2 minutes',
               acknowledge_due_at = CASE WHEN c.regime = r.fca THEN c.s + interval '1 day' END,
               accepted_at = CASE WHEN c.regime = r.vn THEN c.accepted END,
               accept_due_at = CASE WHEN c.regime = r.vn THEN c.s + interval '14 days' END,
               accept_breached_at = CASE WHEN c.regime = r.vn AND t.id % 97 = 0
                   THEN c.s + interval '14 days' END,
               final_response_due_at = CASE
                   WHEN NOT c.closed AND t.id % 50 <> 0 THEN now() + (t.id % 56) * interval '1 day'
                   WHEN c.regime = r.fca THEN c.s + interval '56 days'
                   ELSE c.accepted + interval '30 days' END,
               final_response_at = CASE WHEN c.closed THEN c.answered END,
               final_response_breached_at = CASE
                   WHEN (c.closed AND t.id % 33 = 0) OR (NOT c.closed AND t.id % 50 = 0) THEN
                       CASE WHEN c.regime = r.fca THEN c.s + interval '56 days'
                            ELSE c.accepted + interval '30 days' END END,
               outcome = CASE WHEN NOT c.closed THEN '' WHEN t.id % 7 = 0 THEN 'upheld'
                              WHEN t.id % 7 = 1 THEN 'partly_upheld' ELSE 'not_upheld' END
           FROM c, r WHERE t.id = c.id AND c.regime IS NOT NULL""",
        DATABASE,
    )


def intake_fields(token: str) -> dict[str, str]:
    subcategory = psql("SELECT id FROM complaints_subcategory WHERE slug = 'cannot-log-in'", DATABASE)
    return {
        "csrfmiddlewaretoken": token,
        "subcategory": subcategory,
        "provider_name": "Ví điện tử MoMoney",
        "subject": "Không nhận được mã OTP khi đăng nhập",
        "description": "Từ hôm qua tôi không nhận được mã OTP khi đăng nhập vào ứng dụng. " * 5,
        "desired_outcome": "Khôi phục quyền truy cập tài khoản của tôi.",
        "occurred_at": "2026-01-10T09:30",
        "first_reported_at": "2026-01-11T08:00",
        "provider_username": "lan.nguyen",
        "provider_email": "",
        "provider_account_id": "ACC-123456",
        "steps_taken": "Đã gửi e-mail cho bộ phận hỗ trợ hai lần.",
        "contact_name": "Nguyễn Thị Lan",
        "contact_email": "lan@example.org",
        "contact_phone": "0901234567",
        "language": "vi",
        "consent": "on",
        "submission_key": "KEYPLACEHOLDER",
        "contacts-TOTAL_FORMS": "1",
        "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "20",
        "contacts-0-channel": "chat",
        "contacts-0-contacted_at": "2026-01-11T08:00",
        "contacts-0-with_whom": "CSKH",
        "contacts-0-their_reference": "T-991",
        "contacts-0-summary": "Nhân viên hứa sẽ gọi lại.",
        "evidence-TOTAL_FORMS": "3",
        "evidence-INITIAL_FORMS": "0",
        "evidence-MIN_NUM_FORMS": "0",
        "evidence-MAX_NUM_FORMS": "20",
    }


def seed_access_log(total: int) -> None:
    """`total` access log entries in one statement, as a year of staff work leaves them: case
    views by the bench's 40 agents over the last 365 days, spread over every complaint."""
    psql(
        f"""INSERT INTO complaints_accessrecord (at, kind, complaint_id, user_id, role, ip, user_agent)
        SELECT now() - (g % 525600) * interval '1 minute',
               'case_view',
               (SELECT min(id) FROM complaints_complaint) + g % (SELECT count(*) FROM complaints_complaint),
               u.id, 'agent', ('192.0.2.' || (g % 250 + 1))::inet,
               'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0'
        FROM generate_series(1, {total}) AS g
        JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM accounts_user
              WHERE username LIKE 'bench-agent-%') AS u ON u.n = g % 40""",
        DATABASE,
    )
    psql("VACUUM ANALYZE complaints_accessrecord", DATABASE)
