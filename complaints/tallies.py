"""The SLA dashboard's counts, kept by PostgreSQL as complaints change.

Counting the dashboard's figures from the complaints themselves reads every complaint of the
window (tens of thousands of rows for twelve weeks at a million complaints), and every open
one for the levels. Instead, statement-level triggers on the complaints table (with their
transition tables: one aggregate per statement, however many rows it changed) append to
`complaints_tally` the difference each statement made to each count: +1 for a row as it is
now, -1 for the row as it was, summed per key; a statement that changes none of the counts
appends nothing, and an UPDATE that changes none of the columns they are counted from (most of
them: a version, a next check, a link to an incident) returns before counting (`unchanged`).
Rows are only ever inserted, so writers never wait on one another; the sum
of the rows is the count, exactly, in every snapshot. `compact()` (a periodic task) folds
them into one row per key.

A week is the Monday of an ISO week in the time zone the tallies were installed with (the
portal's settings.TIME_ZONE when the migration ran, or `manage.py rebuild_tallies`). If
settings.TIME_ZONE is another, `read()` says so (None) and the dashboard counts from the
complaints, as it does on SQLite, which keeps no tallies.

The definitions are staff.dashboard's (a target is decided, then met or not); the tests hold
the two ways of counting to the same figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from complaints.models import QUEUE_STATUSES, TallyKind

TABLE = "complaints_tally"
COUNTERS = (
    "complaints",
    "first_response_decided",
    "first_response_met",
    "resolution_decided",
    "resolution_met",
)
# What a tally is kept per, and a row of nothing.
KEYS = ("kind", "week", "category_id", "level", "cause_id")
NOTHING = "(" + ", ".join("0" for _ in COUNTERS) + ")"
# The complaint's columns a tally depends on (the transition tables are read for these only).
COLUMNS = (
    "submitted_at",
    "category_id",
    "status",
    "escalation_level",
    "first_response_due_at",
    "first_responded_at",
    "first_response_breached_at",
    "resolution_due_at",
    "resolved_at",
    "resolution_breached_at",
    "cause_id",
)
FIRST_RESPONSE_DECIDED = (
    "first_response_due_at IS NOT NULL"
    " AND (first_responded_at IS NOT NULL OR first_response_breached_at IS NOT NULL)"
)
FIRST_RESPONSE_MET = "first_response_breached_at IS NULL AND first_responded_at <= first_response_due_at"
RESOLUTION_DECIDED = (
    "resolution_due_at IS NOT NULL AND (resolved_at IS NOT NULL OR resolution_breached_at IS NOT NULL)"
)
RESOLUTION_MET = "resolution_breached_at IS NULL AND resolved_at <= resolution_due_at"
# One trigger per event: PostgreSQL allows transition tables on single-event triggers only.
EVENTS = {
    "insert": ("NEW TABLE AS new_rows", ((1, "new_rows"),)),
    "update": ("OLD TABLE AS old_rows NEW TABLE AS new_rows", ((1, "new_rows"), (-1, "old_rows"))),
    "delete": ("OLD TABLE AS old_rows", ((-1, "old_rows"),)),
}


def literal(text: str) -> str:
    """A text as an SQL literal."""
    return "'" + text.replace("'", "''") + "'"


def signed_count(condition: str) -> str:
    """How many of the changed rows meet `condition`, each counted by its sign."""
    return f"sum(CASE WHEN {condition} THEN sign ELSE 0 END)"


# --- Kept counts: the mechanism both kinds of tallies share ------------------------------------


def unchanged(columns: tuple[str, ...]) -> str:
    """The condition under which an UPDATE changed none of `columns` (those its tallies are counted
    from): its rows, as a whole, hold the same values after it as before. Then every tally it
    would append sums to nothing, so there is nothing to count: a statement that changes other
    columns (a version, a next check, a subject, the incident a case is linked to) exits here,
    having compared its rows, without aggregating them. Both transition tables of an UPDATE hold
    each row it changed, once; rows that traded their values between them count as unchanged,
    rightly: the sums are the same."""
    names = ", ".join(columns)
    return f"NOT EXISTS (SELECT {names} FROM new_rows EXCEPT ALL SELECT {names} FROM old_rows)"


def trigger_statements(
    prefix: str,
    table: str,
    appended: Callable[[Any], str],
    *,
    columns: tuple[str, ...],
    time_zone: str,
) -> list[str]:
    """The functions and triggers (named `prefix`_...) that keep the tallies of `table` in
    `time_zone`, then every complaint counted afresh. `appended(sources)` is the statement that
    appends the tallies of the signed rows of `sources` ((sign, table) pairs), `columns` the
    complaint's columns those tallies depend on (an UPDATE that changes none of them appends
    nothing, without counting: `unchanged`). Run in one transaction: creating the triggers locks
    the complaints table against writes until it commits, so no change is missed or counted
    twice."""
    statements = [
        f"CREATE OR REPLACE FUNCTION {prefix}_time_zone() RETURNS text"
        f" LANGUAGE sql IMMUTABLE AS $$ SELECT {literal(time_zone)}::text $$"
    ]
    for event, (referencing, sources) in EVENTS.items():
        skip = f"IF {unchanged(columns)} THEN RETURN NULL; END IF; " if event == "update" else ""
        statements += [
            f"CREATE OR REPLACE FUNCTION {prefix}_{event}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN {skip}{appended(sources)}; RETURN NULL; END $$",
            f"CREATE OR REPLACE TRIGGER {prefix}_{event}"
            f" AFTER {event.upper()} ON complaints_complaint REFERENCING {referencing}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {prefix}_{event}()",
        ]
    statements += [
        f"CREATE OR REPLACE FUNCTION {prefix}_truncate() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN DELETE FROM {table}; RETURN NULL; END $$",
        f"CREATE OR REPLACE TRIGGER {prefix}_truncate AFTER TRUNCATE ON complaints_complaint"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {prefix}_truncate()",
        f"DELETE FROM {table}",
        appended(((1, "complaints_complaint"),)),
    ]
    return statements


def drop_statements(prefix: str) -> list[str]:
    """What `trigger_statements(prefix, ...)` created, dropped."""
    statements = [
        f"DROP TRIGGER IF EXISTS {prefix}_{event} ON complaints_complaint" for event in (*EVENTS, "truncate")
    ]
    statements += [f"DROP FUNCTION IF EXISTS {prefix}_{event}()" for event in (*EVENTS, "truncate")]
    statements += [f"DROP FUNCTION IF EXISTS {prefix}_time_zone()"]
    return statements


def run_atomically(statements: list[str]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def fold(table: str, keys: tuple[str, ...], counters: tuple[str, ...]) -> int:
    """Fold the tallies of `table` into one row per key (keys that sum to nothing dropped), in
    one statement; returns how many rows were folded. Rows a concurrent transaction is still
    adding are not visible to it, so they are left for the next run: the sums never change."""
    names, sums = ", ".join(keys), ", ".join(f"sum({name})" for name in counters)
    nothing = "(" + ", ".join("0" for _ in counters) + ")"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH folded AS (DELETE FROM {table} RETURNING *),
                     kept AS (
                         INSERT INTO {table} ({names}, {", ".join(counters)})
                         SELECT {names}, {sums} FROM folded GROUP BY {names} HAVING ({sums}) <> {nothing}
                     )
                SELECT count(*) FROM folded"""
        )
        return cursor.fetchone()[0]


# --- The dashboard's tallies ------------------------------------------------------------------------


def tallies_of(rows: str, *, time_zone: str) -> str:
    """The statement that appends the tallies of `rows` (a query giving `sign` and COLUMNS):
    for each key, the sum of the signs of the rows it counts, keys whose sums are all zero
    left out."""
    tz = literal(time_zone)
    open_statuses = ", ".join(literal(status) for status in QUEUE_STATUSES)
    zeros = ", ".join("0" for _ in COUNTERS[1:])
    return f"""
WITH changed AS ({rows})
INSERT INTO {TABLE} ({", ".join((*KEYS, *COUNTERS))})
SELECT * FROM (
    SELECT {literal(TallyKind.SUBMITTED)}, date_trunc('week', submitted_at AT TIME ZONE {tz})::date,
           category_id, NULL::smallint, NULL::bigint, sum(sign),
           {signed_count(FIRST_RESPONSE_DECIDED)},
           {signed_count(f"{FIRST_RESPONSE_DECIDED} AND {FIRST_RESPONSE_MET}")},
           {signed_count(RESOLUTION_DECIDED)},
           {signed_count(f"{RESOLUTION_DECIDED} AND {RESOLUTION_MET}")}
      FROM changed GROUP BY 2, 3
    UNION ALL
    SELECT {literal(TallyKind.FIRST_RESPONSE_BREACHES)},
           date_trunc('week', first_response_breached_at AT TIME ZONE {tz})::date,
           NULL, NULL, NULL, sum(sign), {zeros}
      FROM changed WHERE first_response_breached_at IS NOT NULL GROUP BY 2
    UNION ALL
    SELECT {literal(TallyKind.RESOLUTION_BREACHES)},
           date_trunc('week', resolution_breached_at AT TIME ZONE {tz})::date, NULL, NULL, NULL, sum(sign),
           {zeros}
      FROM changed WHERE resolution_breached_at IS NOT NULL GROUP BY 2
    UNION ALL
    SELECT {literal(TallyKind.CAUSES)}, date_trunc('week', resolved_at AT TIME ZONE {tz})::date,
           category_id, NULL, cause_id, sum(sign), {zeros}
      FROM changed WHERE resolved_at IS NOT NULL AND cause_id IS NOT NULL GROUP BY 2, 3, 5
    UNION ALL
    SELECT {literal(TallyKind.OPEN)}, NULL, NULL, escalation_level, NULL, sum(sign), {zeros}
      FROM changed WHERE status IN ({open_statuses}) GROUP BY escalation_level
) AS difference ({", ".join((*KEYS, *COUNTERS))})
WHERE ({", ".join(COUNTERS)}) <> {NOTHING}"""


def _signed(sources) -> str:
    columns = ", ".join(COLUMNS)
    return " UNION ALL ".join(f"SELECT {sign} AS sign, {columns} FROM {table}" for sign, table in sources)


def install_statements(*, time_zone: str) -> list[str]:
    """The dashboard's triggers in `time_zone`, then every complaint counted (`trigger_statements`)."""
    return trigger_statements(
        "complaints_tally",
        TABLE,
        lambda sources: tallies_of(_signed(sources), time_zone=time_zone),
        columns=COLUMNS,
        time_zone=time_zone,
    )


def uninstall_statements() -> list[str]:
    return drop_statements("complaints_tally")


def kept(using: BaseDatabaseWrapper = connection) -> bool:
    """Whether this database keeps tallies (PostgreSQL does; SQLite, the embedded default, not)."""
    return using.vendor == "postgresql"


def install(*, time_zone: str) -> None:
    """(Re)install the triggers for `time_zone` and count every complaint afresh, atomically."""
    run_atomically(install_statements(time_zone=time_zone))


def compact() -> int:
    """Fold the dashboard's tallies into one row per key (`fold`)."""
    return fold(TABLE, KEYS, COUNTERS)


@dataclass(frozen=True)
class Sums:
    """The tallies' sums the dashboard shows: `targets` per (category, week of submission),
    `breaches` per (kind, week), `open` per level, `causes` per (category, cause, week of
    resolution)."""

    targets: list[dict]
    breaches: list[dict]
    open: dict[int, int]
    causes: list[dict]


def read(*, since: date, time_zone: str) -> Sums | None:
    """The sums for the weeks since the Monday `since` (and the open complaints now), in one
    query on a table of a few thousand rows; None when they are not kept in `time_zone`."""
    if not kept():
        return None
    keys = ", ".join(KEYS)
    with connection.cursor() as cursor:
        # The outer join returns the time zone even when no tally matches.
        cursor.execute(
            f"""SELECT complaints_tally_time_zone(), sums.*
                  FROM (SELECT 1) AS one LEFT JOIN (
                      SELECT {keys}, {", ".join(f"sum({name})::bigint" for name in COUNTERS)}
                        FROM {TABLE} WHERE kind = %s OR week >= %s GROUP BY {keys}
                  ) AS sums ON true""",
            [TallyKind.OPEN, since],
        )
        rows = cursor.fetchall()
    if rows[0][0] != time_zone:
        return None
    targets, breaches, open_counts, causes = [], [], {}, []
    for row in rows:
        _zone, kind, week, category_id, level, cause_id, count, fr_decided, fr_met, res_decided, res_met = row
        if kind == TallyKind.SUBMITTED:
            targets.append(
                {
                    "category_id": category_id,
                    "week": week,
                    "submitted": count,
                    "fr_decided": fr_decided,
                    "fr_met": fr_met,
                    "res_decided": res_decided,
                    "res_met": res_met,
                }
            )
        elif kind in (TallyKind.FIRST_RESPONSE_BREACHES, TallyKind.RESOLUTION_BREACHES):
            breaches.append({"kind": kind, "week": week, "n": count})
        elif kind == TallyKind.OPEN:
            open_counts[level] = count
        elif kind == TallyKind.CAUSES:
            causes.append({"category_id": category_id, "cause_id": cause_id, "week": week, "n": count})
    return Sums(targets=targets, breaches=breaches, open=open_counts, causes=causes)
