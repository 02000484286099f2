"""Staff's public answer to many complaints at once: `clock.note_staff_response`'s set-wise form.

A bulk answer (an incident's reply to its linked cases) gives each case a first response if it
has none, and moves its `next_check_at` on as `note_staff_response` would. Doing that in Python
means reading every case's clock (a dozen timestamps, each loaded by Django's loader) and
computing its checkpoints; for the common case the same values are a few SQL expressions, so
`note_staff_responses` writes them in the UPDATE itself and reads nothing.

The common case, "plain": a running clock (not paused, not ended) outside a regime, with nothing
due by the answer (`next_check_at` not passed: nothing for `settle` to fire), no deadline missed
(so no climb is scheduled), and a policy counting wall-clock time. Answered before, such a case
keeps its first response and its next check. Answered now, what `sla.checkpoints` leaves ahead
is the resolution's warning (unless already given) and its deadline, so its next check is the
earlier of the two. The warning point is `sla.warning_point` without a calendar: the clock's
start plus the policy's share of the time from it to the deadline, in microseconds rounded as
`timedelta * float` rounds (to the nearest; a tie to even). In SQL the share is a float8
product, exact to within its last bit: it rounds to the same microsecond unless the product
lands on a half, which the SQL cannot tell from a tie, so such a case (and one whose clock is
not plain) is left alone for the caller to answer through the clock in Python.

tests/escalation/test_responses.py holds the two to the same values, case by case.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from complaints.models import QUEUE_STATUSES
from escalation.policies import policies, warning_ratio

_START = "COALESCE(c.clock_started_at, c.submitted_at)"
# The share of the clock time from the start to the resolution deadline after which its warning
# fires, in microseconds, before rounding (float8: exact for whole microseconds below 2**53).
_SHARE = f"(extract(epoch FROM c.resolution_due_at - {_START}) * 1000000)::float8 * p.ratio"
_AHEAD = f"c.resolution_due_at > {_START}"  # else no clock time runs to it: warned at the start
# A warning point the SQL cannot round as Python does: the product on a half (or beyond 2**52).
_UNSURE = (
    f"COALESCE(c.resolution_warned_at IS NULL AND {_AHEAD}"
    f" AND ({_SHARE} - floor({_SHARE}) = 0.5 OR {_SHARE} >= 4503599627370496), false)"
)
_WARNING = f"CASE WHEN {_AHEAD} THEN {_START} + round({_SHARE}) * interval '1 microsecond' ELSE {_START} END"
_NEXT_CHECK = (
    "CASE WHEN c.first_responded_at IS NOT NULL THEN c.next_check_at"
    " ELSE LEAST(CASE WHEN c.resolution_warned_at IS NULL AND c.resolution_due_at IS NOT NULL"
    f" THEN {_WARNING} END, c.resolution_due_at) END"
)
# The plain cases: nothing to settle, nothing but the resolution ahead once answered.
_PLAIN = f"""c.status IN ({", ".join(f"'{status}'" for status in QUEUE_STATUSES)})
    AND c.regime_id IS NULL AND c.clock_paused_at IS NULL
    AND (c.next_check_at IS NULL OR c.next_check_at > %(now)s)
    AND (c.first_responded_at IS NOT NULL OR (p.wall_clock AND c.first_response_breached_at IS NULL
         AND c.resolution_breached_at IS NULL AND NOT {_UNSURE}))"""


def note_staff_responses(ids: list[int], *, now: datetime, bump: str | None = None) -> set[int]:
    """`note_staff_response` at `now` for those of the locked complaints `ids` whose clock is plain
    (see the module), in one UPDATE; return their ids. The others are left untouched, for the
    caller to settle and answer through `clock` in Python. `bump` names a counter the UPDATE adds
    one to on each complaint it answers (a version).

    PostgreSQL only: elsewhere (the embedded SQLite) none is answered here.
    """
    if not ids or connection.vendor != "postgresql":
        return set()
    # Each policy's (category, complexity): whether it counts wall-clock time, and its share.
    kept = policies()
    keys = list(kept)
    bumped = f", {bump} = c.{bump} + 1" if bump else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE complaints_complaint AS c
                   SET first_responded_at = COALESCE(c.first_responded_at, %(now)s),
                       next_check_at = {_NEXT_CHECK}{bumped}
                  FROM UNNEST(%(categories)s::bigint[], %(complexities)s::text[],
                              %(wall_clock)s::boolean[], %(ratios)s::float8[])
                       AS p(category_id, complexity, wall_clock, ratio)
                 WHERE c.id = ANY(%(ids)s::bigint[])
                   AND c.category_id = p.category_id AND c.complexity = p.complexity
                   AND {_PLAIN}
             RETURNING c.id""",  # noqa: S608 - constants of this module
            {
                "now": now,
                "ids": ids,
                "categories": [category for category, _complexity in keys],
                "complexities": [complexity for _category, complexity in keys],
                "wall_clock": [kept[key][1] is None for key in keys],
                "ratios": [warning_ratio(kept[key][0]) for key in keys],
            },
        )
        return {row[0] for row in cursor.fetchall()}
