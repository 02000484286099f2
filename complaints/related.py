"""Related cases: the complaints a case's workspace lists beside it (issue 17, point 4), each with
why it is related: a similar text (with its score), the same account at the same provider, the
same provider within the window of time around the case's filing.

Finding them costs the same whatever the size of the table. The candidates are read by index, in
order of time, each source capped:

- the cases filed nearest in time to the case, within RELATED_WINDOW either side of its filing:
  RELATED_POOL before it and RELATED_POOL after it (complaint_submitted_idx);
- the same, among the cases of the same provider (complaint_provider_time_idx);
- the cases giving the same account at the same provider (its username, login e-mail or account
  number, in any case), at any time, newest first (complaint_account_*_idx).

Each is scored by the trigram similarity of its `related_text` to the case's: on PostgreSQL by
pg_trgm's similarity(), in the query that reads them (one statement for all the sources); on the
embedded SQLite default by `complaints.search.similarity`, the same arithmetic in Python. `rank`
keeps those related for a reason, best first, at most RELATED_LIMIT.

Why not a trigram index: a GIN index searched with `%` reads, for each of the case's trigrams,
the cases of the whole table that have it, and complaints share most of theirs (a Vietnamese
syllable is a few letters, and a wave of complaints says the same thing). On a seeded table of a
million complaints that index scan alone took 1.3 s and returned 821,000 rows for one case (14 s
in all), the window being applied after it; scoring every case of a week's window instead took
240 ms (7,400 cases, some 30 µs each). The capped sources score at most 4 RELATED_POOL and
3 RELATED_LIMIT cases, read by index: the statement ran in 5 to 8 ms at a hundred thousand
complaints as at a million (EXPLAIN ANALYZE, 200 to 300 candidates), and in a wave of 5,000
complaints within the hour, 4,000 of them in the case's incident, the whole call took 10 ms.

Not candidates: the case itself, the cases linked to it (its linked cases, listed apart), and the
cases of its incident (the incident's page lists them), so that in a wave the list shows the
cases still to be linked.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce

from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet, Value
from django.db.models.functions import Lower

from complaints.models import ACCOUNT_FIELDS, Complaint, ComplaintRelation, account_key
from complaints.search import similarity

# The window of time around a case's filing in which a case of similar text, or of the same
# provider, is related to it (either side). The same account is related at any time.
RELATED_WINDOW = timedelta(days=7)
# The most related cases listed.
RELATED_LIMIT = 10
# The candidates read from each side of the filing, among all cases and among the same
# provider's: what bounds the cost of finding related cases.
RELATED_POOL = 100
# The least trigram similarity (0 to 1) at which two texts are similar. pg_trgm's own default
# threshold; unrelated complaints in Vietnamese share common syllables up to about 0.2.
RELATED_SIMILARITY = 0.3


@dataclass(frozen=True)
class Candidate:
    """A case found beside another, and how it compares to it."""

    id: int
    submitted_at: datetime
    score: float  # the trigram similarity of the two texts, 0 to 1
    same_account: bool  # gives the same account at the same provider
    same_provider: bool


@dataclass(frozen=True)
class Relatedness:
    """Why a candidate is related to a case: each reason it has, and the text's score."""

    id: int
    score: float
    similar: bool  # its text is similar (score at least RELATED_SIMILARITY)
    same_account: bool
    same_provider: bool  # the same provider, filed within the window
    gap: timedelta  # filed this long after the case (before it: negative)


def rank(
    candidates: Iterable[Candidate],
    *,
    around: datetime,
    window: timedelta = RELATED_WINDOW,
    threshold: float = RELATED_SIMILARITY,
    limit: int = RELATED_LIMIT,
) -> list[Relatedness]:
    """The candidates related to a case filed at `around`, best first, at most `limit`: those of
    the same account (at any time), then those of similar text by score, then those of the same
    provider; within the window of time for the last two. Ties go to the nearer in time, then
    the older case. Each candidate once (the first seen of a repeated id)."""
    found: dict[int, Relatedness] = {}
    for candidate in candidates:
        if candidate.id in found:
            continue
        gap = candidate.submitted_at - around
        in_window = abs(gap) <= window
        similar = candidate.score >= threshold
        same_provider = candidate.same_provider and in_window
        if candidate.same_account or (in_window and (similar or same_provider)):
            found[candidate.id] = Relatedness(
                id=candidate.id,
                score=candidate.score,
                similar=similar,
                same_account=candidate.same_account,
                same_provider=same_provider,
                gap=gap,
            )

    def order(item: Relatedness) -> tuple[int, float, timedelta, int]:
        return (0 if item.same_account else 1 if item.similar else 2, -item.score, abs(item.gap), item.id)

    return sorted(found.values(), key=order)[:limit]


@dataclass(frozen=True)
class Found:
    """A case's related cases, ranked, and the ids of the cases linked to it."""

    related: list[Relatedness]
    linked: list[int]


def linked_condition(complaint: Complaint) -> Q:
    """The cases linked to `complaint` (ComplaintRelation, either side)."""
    return Q(pk__in=ComplaintRelation.objects.filter(low=complaint.pk).values("high")) | Q(
        pk__in=ComplaintRelation.objects.filter(high=complaint.pk).values("low")
    )


def _account_condition(complaint: Complaint) -> Q | None:
    """The cases giving one of the complaint's identifiers at its provider (None: it gives none)."""
    given = [
        Q(**{f"account_{field}": Lower(Value(getattr(complaint, field)))})
        for field in ACCOUNT_FIELDS
        if getattr(complaint, field)
    ]
    if not complaint.provider_key or not given:
        return None
    return Q(provider_key=complaint.provider_key) & reduce(operator.or_, given)


def _with_account_keys(queryset: QuerySet[Complaint]) -> QuerySet[Complaint]:
    return queryset.alias(**{f"account_{field}": account_key(field) for field in ACCOUNT_FIELDS})


def sources(complaint: Complaint) -> list[QuerySet[Complaint]]:
    """The queries of the candidates (their ids), each ordered by time and capped (the module's
    docstring)."""
    moment, window = complaint.submitted_at, RELATED_WINDOW
    others = Complaint.objects.exclude(pk=complaint.pk).exclude(linked_condition(complaint))
    if complaint.incident_id is not None:
        others = others.exclude(incident=complaint.incident_id)
    before = {"submitted_at__gte": moment - window, "submitted_at__lte": moment}
    after = {"submitted_at__gt": moment, "submitted_at__lte": moment + window}
    groups = [others]
    if complaint.provider_key:
        groups.append(others.filter(provider_key=complaint.provider_key))
    found = []
    for group in groups:
        found.append(group.filter(**before).order_by("-submitted_at")[:RELATED_POOL])
        found.append(group.filter(**after).order_by("submitted_at")[:RELATED_POOL])
    if complaint.provider_key:
        same = _with_account_keys(others.filter(provider_key=complaint.provider_key))
        for field in ACCOUNT_FIELDS:
            if value := getattr(complaint, field):
                found.append(
                    same.filter(**{f"account_{field}": Lower(Value(value))}).order_by("-submitted_at")[
                        :RELATED_LIMIT
                    ]
                )
    return [query.values_list("pk", flat=True) for query in found]


def _linked_ids(complaint: Complaint) -> list[QuerySet]:
    """The queries of the ids of the cases linked to `complaint`, one per side of the relation."""
    relations = ComplaintRelation.objects
    return [
        relations.filter(low=complaint.pk).values_list("high", flat=True),
        relations.filter(high=complaint.pk).values_list("low", flat=True),
    ]


def in_sql() -> bool:
    """Whether the database reads the candidates in one UNION and scores them itself (pg_trgm):
    PostgreSQL. The embedded SQLite default reads each source apart and scores them in Python."""
    return connection.vendor == "postgresql"


# --- PostgreSQL: one hand-written statement ---------------------------------------------------
#
# The same sources as `sources`, as SQL text put together from these parts (a few string joins)
# rather than by the ORM: building and compiling that UNION of up to seven subqueries took some
# 6 ms of the staff case page's time, the statement itself 2. Each source's condition leaves out
# the case, the cases linked to it and its incident's cases; `_account_sql` compares an identifier
# as `models.account_key` writes it, so that the partial indexes on it are used.

_LINKED_SQL = """SELECT high_id FROM complaints_complaintrelation WHERE low_id = %(id)s
    UNION ALL SELECT low_id FROM complaints_complaintrelation WHERE high_id = %(id)s"""
_SOURCE_SQL = """(SELECT id FROM complaints_complaint
    WHERE id <> %(id)s AND id NOT IN (SELECT * FROM linked){incident}{extra}
    ORDER BY submitted_at {direction} LIMIT {limit})"""
_BEFORE_SQL = " AND submitted_at >= %(since)s AND submitted_at <= %(at)s"
_AFTER_SQL = " AND submitted_at > %(at)s AND submitted_at <= %(until)s"
_NOT_IN_INCIDENT_SQL = " AND (incident_id IS NULL OR incident_id <> %(incident)s)"
_SAME_PROVIDER_SQL = " AND provider_key = %(provider)s"
_RELATED_SQL = """WITH linked AS MATERIALIZED ({linked})
SELECT id, submitted_at, similarity(related_text, %(text)s), {same_account},
    provider_key = %(provider)s AND provider_key <> '', id IN (SELECT * FROM linked)
FROM complaints_complaint
WHERE id IN ({sources} UNION ALL SELECT * FROM linked)"""


def _account_sql(field: str) -> str:
    return f"NULLIF(LOWER({field}), '') = LOWER(%({field})s)"


def _related_statement(complaint: Complaint) -> tuple[str, dict[str, object]]:
    """The statement `find_related` runs on PostgreSQL, and its parameters."""
    moment, provider = complaint.submitted_at, complaint.provider_key
    given = [field for field in ACCOUNT_FIELDS if getattr(complaint, field)] if provider else []
    incident = _NOT_IN_INCIDENT_SQL if complaint.incident_id is not None else ""
    groups = [""] + ([_SAME_PROVIDER_SQL] if provider else [])
    sources = [
        _SOURCE_SQL.format(incident=incident, extra=group + side, direction=direction, limit=RELATED_POOL)
        for group in groups
        for side, direction in ((_BEFORE_SQL, "DESC"), (_AFTER_SQL, "ASC"))
    ] + [
        _SOURCE_SQL.format(
            incident=incident,
            extra=f"{_SAME_PROVIDER_SQL} AND {_account_sql(field)}",
            direction="DESC",
            limit=RELATED_LIMIT,
        )
        for field in given
    ]
    same_account = (
        f"provider_key = %(provider)s AND ({' OR '.join(map(_account_sql, given))})" if given else "false"
    )
    statement = _RELATED_SQL.format(
        linked=_LINKED_SQL, same_account=same_account, sources=" UNION ALL ".join(sources)
    )
    params: dict[str, object] = {
        "id": complaint.pk,
        "at": moment,
        "since": moment - RELATED_WINDOW,
        "until": moment + RELATED_WINDOW,
        "incident": complaint.incident_id,
        "provider": provider,
        "text": complaint.related_text,
        **{field: getattr(complaint, field) for field in given},
    }
    return statement, params


def find_related(complaint: Complaint) -> Found:
    """The cases related to `complaint`, ranked (`rank`), and those linked to it: one query on
    PostgreSQL (`_related_statement`: the candidates' and linked cases' ids are one UNION, which
    the rows are read by); on SQLite one per source and one more."""
    if in_sql():
        with connection.cursor() as cursor:
            cursor.execute(*_related_statement(complaint))
            read = cursor.fetchall()
    else:  # the embedded default: SQLite takes no LIMIT inside a UNION
        ids = sorted({pk for query in [*sources(complaint), *_linked_ids(complaint)] for pk in query})
        account = _account_condition(complaint)
        rows = _with_account_keys(Complaint.objects.filter(pk__in=ids)).annotate(
            same_provider=ExpressionWrapper(
                Q(provider_key=complaint.provider_key) & ~Q(provider_key=""), output_field=BooleanField()
            ),
            same_account=ExpressionWrapper(account if account is not None else Value(False), BooleanField()),
            is_linked=ExpressionWrapper(linked_condition(complaint), output_field=BooleanField()),
        )
        mine = complaint.related_text
        read = [
            (pk, at, similarity(text, mine), account, provider, is_linked)
            for pk, at, text, account, provider, is_linked in rows.values_list(
                "pk", "submitted_at", "related_text", "same_account", "same_provider", "is_linked"
            )
        ]
    candidates, linked = [], []
    for pk, at, score, same_account, same_provider, is_linked in read:
        if is_linked:
            linked.append(pk)
        else:
            candidates.append(Candidate(pk, at, float(score), bool(same_account), bool(same_provider)))
    return Found(related=rank(candidates, around=complaint.submitted_at), linked=sorted(linked))
