"""The compliance report's counts, kept by PostgreSQL as complaints change.

Counting the report's figures from the complaints reads every complaint of the period: the
whole table for a year's report. Instead, as for the dashboard (complaints.tallies),
statement-level triggers on the complaints table (with their transition tables: one
aggregate per statement, however many rows it changed) append to `complaints_reporttally`
the difference each statement made to each count, per (kind, day, regime): +1 for a row as it
is now, -1 for the row as it was; a statement that changes none of the counts appends nothing.
`compact()` (the dashboard's periodic task) folds them into one row per key.

Per complaint under a regime, by the day (in the portal's time zone, as the report's periods
are) of what is counted:

- RECEIVED, the day of receipt: received; with an acknowledgement deadline; acknowledged at or
  before it; acknowledged after it. (Those not acknowledged are late or still pending, as
  `now` decides: the report counts the pending ones live, from a small index.)
- ACKNOWLEDGE, ACCEPT, FINAL_RESPONSE, the day the deadline was decided: met in time (the day it
  was met), missed (the day the breach was recorded, or the day it was met late where the
  sweep recorded none), and of those missed, breached.
- CLOSED, the day of the final response: closed, within the final response deadline, with an
  outcome, upheld. Whether it came within 3 business days of receipt depends on the regime's
  calendar as it stands when the report is read, so the tally keeps, for a response sent
  fewer than RECENT_DAYS calendar days after the day of receipt, both days in the calendar's
  time zone (and that zone); the report works out the cut-off per day of receipt. A response
  sent later cannot be within 3 business days as long as no RECENT_DAYS - 1 days in a row of
  the calendar hold fewer than 3 working days: the report checks this for the days it reads
  (and counts from the complaints otherwise), and the tests check it for the seeded calendars
  (Tết at its longest leaves a span of 12 days).

The portal's time zone is the one the tallies were installed in (the migration, or
`manage.py rebuild_tallies`); in another, `read()` says so (None) and the report counts from
the complaints, as it does on SQLite, which keeps no tallies. A regime calendar's zone is read
by the trigger when it counts: tallies kept in a zone the calendar no longer has are found by
the report, which then counts from the complaints until rebuilt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import connection

from complaints.models import UPHELD_OUTCOMES, ReportTallyKind
from complaints.tallies import (
    drop_statements,
    fold,
    kept,
    literal,
    run_atomically,
    signed_count,
    trigger_statements,
)
from escalation.models import REGULATORY_BREACHED, REGULATORY_DUE, REGULATORY_MET
from escalation.sla import REGULATORY_KINDS

TABLE = "complaints_reporttally"
# A final response sent fewer than this many calendar days after the day of receipt keeps both
# days (see the module's docstring).
RECENT_DAYS = 15
KEYS = ("kind", "day", "regime_id", "received_on", "closed_on", "calendar_zone")
COUNTERS = (
    "received",
    "acknowledge_due",
    "acknowledged_in_time",
    "acknowledged_late",
    "met",
    "missed",
    "breached",
    "closed",
    "closed_in_deadline",
    "closed_with_outcome",
    "upheld",
)
NOTHING = "(" + ", ".join("0" for _ in COUNTERS) + ")"
# The complaint's columns a tally depends on (the transition tables are read for these only).
COLUMNS = (
    "regime_id",
    "submitted_at",
    "outcome",
    *(column for kind in REGULATORY_KINDS for column in (REGULATORY_DUE[kind], REGULATORY_MET[kind])),
    *REGULATORY_BREACHED.values(),
)


def _row(kind: str, day: str, counts: dict[str, str], *, recent: tuple[str, str, str] | None = None) -> str:
    """One SELECT of the union: a kind's keys and its counters (the others zero)."""
    received_on, closed_on, zone = recent or ("NULL::date", "NULL::date", "''::text")
    values = ", ".join(counts.get(name, "0") for name in COUNTERS)
    return f"SELECT {literal(kind)}, {day}, regime_id, {received_on}, {closed_on}, {zone}, {values}"


def tallies_of(rows: str, *, time_zone: str) -> str:
    """The statement that appends the tallies of `rows` (a query giving `sign` and COLUMNS):
    for each key, the sum of the signs of the rows it counts, keys whose sums are all zero
    left out."""
    tz = literal(time_zone)

    def day(column: str) -> str:
        return f"({column} AT TIME ZONE {tz})::date"

    acknowledge_due = "acknowledge_due_at IS NOT NULL"
    selects = [
        _row(
            ReportTallyKind.RECEIVED,
            day("submitted_at"),
            {
                "received": "sum(sign)",
                "acknowledge_due": signed_count(acknowledge_due),
                "acknowledged_in_time": signed_count(
                    f"{acknowledge_due} AND acknowledged_at <= acknowledge_due_at"
                ),
                "acknowledged_late": signed_count(
                    f"{acknowledge_due} AND acknowledged_at > acknowledge_due_at"
                ),
            },
        )
        + " FROM changed GROUP BY 2, 3"
    ]
    for kind in REGULATORY_KINDS:
        due, met_at, breached = REGULATORY_DUE[kind], REGULATORY_MET[kind], REGULATORY_BREACHED[kind]
        # Decided: a breach recorded, or met (where there is a deadline to meet).
        selects.append(
            _row(
                kind,
                day(f"coalesce({breached}, {met_at})"),
                {
                    "met": signed_count(f"{breached} IS NULL AND {met_at} <= {due}"),
                    "missed": signed_count(f"{breached} IS NOT NULL OR {met_at} > {due}"),
                    "breached": signed_count(f"{breached} IS NOT NULL"),
                },
            )
            + f" FROM changed WHERE {breached} IS NOT NULL OR ({met_at} IS NOT NULL AND {due} IS NOT NULL)"
            " GROUP BY 2, 3"
        )
    received_on = "(submitted_at AT TIME ZONE calendar_zone)::date"
    closed_on = "(final_response_at AT TIME ZONE calendar_zone)::date"
    recent = f"{closed_on} - {received_on} < {RECENT_DAYS}"
    upheld = ", ".join(literal(outcome) for outcome in UPHELD_OUTCOMES)
    selects.append(
        _row(
            ReportTallyKind.CLOSED,
            day("final_response_at"),
            {
                "closed": "sum(sign)",
                "closed_in_deadline": signed_count(
                    "final_response_due_at IS NOT NULL AND final_response_breached_at IS NULL"
                    " AND final_response_at <= final_response_due_at"
                ),
                "closed_with_outcome": signed_count("outcome <> ''"),
                "upheld": signed_count(f"outcome IN ({upheld})"),
            },
            recent=(
                f"CASE WHEN {recent} THEN {received_on} END",
                f"CASE WHEN {recent} THEN {closed_on} END",
                f"CASE WHEN {recent} THEN calendar_zone ELSE '' END",
            ),
        )
        + " FROM changed WHERE final_response_at IS NOT NULL GROUP BY 2, 3, 4, 5, 6"
    )
    union = "\n    UNION ALL\n    ".join(selects)
    columns = ", ".join((*KEYS, *COUNTERS))
    # The calendar's zone is the regime's as the statement finds it (a regime row is never deleted
    # while a complaint names it).
    return f"""
WITH changed AS (
    SELECT rows.*, calendar.time_zone AS calendar_zone
      FROM ({rows}) AS rows
      JOIN escalation_regime AS regime ON regime.id = rows.regime_id
      JOIN escalation_businesscalendar AS calendar ON calendar.id = regime.calendar_id
)
INSERT INTO {TABLE} ({columns})
SELECT * FROM (
    {union}
) AS difference ({columns})
WHERE ({", ".join(COUNTERS)}) <> {NOTHING}"""


def _signed(sources) -> str:
    columns = ", ".join(COLUMNS)
    return " UNION ALL ".join(
        f"SELECT {sign} AS sign, {columns} FROM {table} WHERE regime_id IS NOT NULL"
        for sign, table in sources
    )


def install_statements(*, time_zone: str) -> list[str]:
    """The report's triggers in `time_zone`, then every complaint counted (`tallies.trigger_statements`)."""
    return trigger_statements(
        "complaints_report_tally",
        TABLE,
        lambda sources: tallies_of(_signed(sources), time_zone=time_zone),
        columns=COLUMNS,
        time_zone=time_zone,
    )


def uninstall_statements() -> list[str]:
    return drop_statements("complaints_report_tally")


def install(*, time_zone: str) -> None:
    """(Re)install the triggers for `time_zone` and count every complaint afresh, atomically."""
    run_atomically(install_statements(time_zone=time_zone))


def compact() -> int:
    """Fold the report's tallies into one row per key (`tallies.fold`)."""
    return fold(TABLE, KEYS, COUNTERS)


@dataclass(frozen=True)
class Sums:
    """The tallies of a period summed, per regime: `counts` (the RECEIVED and deadline
    counters, named as the report names them: `received`, `acknowledge_met`, ...), `closed`
    (closed, in_deadline, with_outcome, upheld), and `recent`: the final responses sent soon
    after receipt, per (day of receipt, day sent, calendar's zone), how many."""

    counts: dict[int, dict[str, int]]
    closed: dict[int, dict[str, int]]
    recent: dict[int, dict[tuple[date, date, str], int]]


def read(*, first: date, last: date, regime_ids: list[int], time_zone: str) -> Sums | None:
    """The sums of the days from `first` to `last` for the regimes, in one query on the tally
    table (an index range of the period's days); None when they are not kept in `time_zone`."""
    if not kept():
        return None
    keys = "kind, regime_id, received_on, closed_on, calendar_zone"
    with connection.cursor() as cursor:
        # The outer join returns the time zone even when no tally matches.
        cursor.execute(
            f"""SELECT complaints_report_tally_time_zone(), sums.*
                  FROM (SELECT 1) AS one LEFT JOIN (
                      SELECT {keys}, {", ".join(f"sum({name})::bigint" for name in COUNTERS)}
                        FROM {TABLE} WHERE day BETWEEN %s AND %s AND regime_id = ANY(%s)
                       GROUP BY {keys}
                  ) AS sums ON true""",
            [first, last, regime_ids],
        )
        rows = cursor.fetchall()
    if rows[0][0] != time_zone:
        return None
    counts: dict[int, dict[str, int]] = {}
    closed: dict[int, dict[str, int]] = {}
    recent: dict[int, dict[tuple[date, date, str], int]] = {}
    for _zone, kind, regime_id, received_on, closed_on, zone, *values in rows:
        if kind is None:
            continue
        sums = dict(zip(COUNTERS, values, strict=True))
        regime = counts.setdefault(regime_id, dict.fromkeys(_COUNT_NAMES, 0))
        if kind == ReportTallyKind.RECEIVED:
            for name in ("received", "acknowledge_due", "acknowledged_in_time", "acknowledged_late"):
                regime[name] += sums[name]
        elif kind in REGULATORY_KINDS:
            for name in ("met", "missed", "breached"):
                regime[f"{kind}_{name}"] += sums[name]
        elif kind == ReportTallyKind.CLOSED:
            total = closed.setdefault(regime_id, dict.fromkeys(_CLOSED_NAMES, 0))
            total["closed"] += sums["closed"]
            total["in_deadline"] += sums["closed_in_deadline"]
            total["with_outcome"] += sums["closed_with_outcome"]
            total["upheld"] += sums["upheld"]
            if received_on is not None and sums["closed"]:
                recent.setdefault(regime_id, {})[(received_on, closed_on, zone)] = sums["closed"]
    return Sums(counts=counts, closed=closed, recent=recent)


_COUNT_NAMES = (
    "received",
    "acknowledge_due",
    "acknowledged_in_time",
    "acknowledged_late",
    *(f"{kind}_{name}" for kind in REGULATORY_KINDS for name in ("met", "missed", "breached")),
)
_CLOSED_NAMES = ("closed", "in_deadline", "with_outcome", "upheld")
