"""The managers' CSV export of complaints: its rows and a streaming RFC 4180 writer (the filters
are `staff.forms.ExportFilterForm`, the query `staff.selectors.filtered_complaints`).

Safe to open in a spreadsheet: UTF-8 with a byte order mark (Excel then reads Vietnamese
correctly), CRLF line ends, fields with a comma, quote or line break quoted and quotes
doubled, and no cell that a spreadsheet would run as a formula (`csv_safe`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from complaints.models import Complaint, Complexity, Outcome, Remedy, Status

BOM = "\ufeff"
CHUNK_SIZE = 2000
# Rows written per chunk of the response: big enough to keep the per-chunk cost small.
ROWS_PER_CHUNK = 500

# What makes a spreadsheet read a cell as a formula (OWASP "CSV injection"), and their
# full-width forms, which some spreadsheets treat the same.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_safe(value: object) -> str:
    """The text of one CSV cell that no spreadsheet will run as a formula.

    None is empty; aware datetimes are ISO 8601 in UTC (`2026-03-02T03:00:00Z`), dates ISO;
    numbers (int, float, Decimal, not bool) are written as they are, since a negative number
    is data, not a formula. Any other value is turned into text, and text whose first
    character, or first one after leading white space (some spreadsheets trim it), is
    = + - @ tab or CR is prefixed with a single quote, which spreadsheets show as text.
    """
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS) or text.lstrip(" \n\t\r\f\v\u00a0").startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


# (header, the values_list fields the cell is made of)
COLUMNS: list[tuple[object, tuple[str, ...]]] = [
    (_("Reference"), ("reference",)),
    (_("Submitted (UTC)"), ("submitted_at",)),
    (_("Category"), ("category__name_vi", "category__name_en")),
    (_("Subcategory"), ("subcategory__name_vi", "subcategory__name_en")),
    (_("Complexity"), ("complexity",)),
    (_("Status"), ("status",)),
    (_("Level"), ("escalation_level",)),
    (_("Assignee"), ("assignee__username",)),
    (_("First response due (UTC)"), ("first_response_due_at",)),
    (_("First response (UTC)"), ("first_responded_at",)),
    (_("First response deadline missed (UTC)"), ("first_response_breached_at",)),
    (_("Resolution due (UTC)"), ("resolution_due_at",)),
    (_("Resolved (UTC)"), ("resolved_at",)),
    (_("Resolution deadline missed (UTC)"), ("resolution_breached_at",)),
    (_("Cause"), ("cause__name_vi", "cause__name_en")),
    (pgettext_lazy("whether a complaint is upheld", "Outcome"), ("outcome",)),
    (_("Remedy"), ("remedy",)),
    (_("Refund amount"), ("remedy_amount", "remedy_currency")),
    (_("Subject"), ("subject",)),
    (_("Contact e-mail"), ("contact_email",)),
]
FIELDS = [name for _header, names in COLUMNS for name in names]


def header() -> list[str]:
    return [str(title) for title, _names in COLUMNS]


def export_rows(
    complaints: QuerySet[Complaint], *, language: str, level_names: dict[int, str]
) -> Iterator[list[object]]:
    """One list of cell values per complaint (not yet made safe), streamed from the database
    in chunks of CHUNK_SIZE (a server-side cursor on PostgreSQL).

    Labels are translated now, in `language`: the rows are read later, while the response
    streams, when the request's language may no longer be active.
    """
    with translation.override(language):
        statuses = {value: str(label) for value, label in Status.choices}
        complexities = {value: str(label) for value, label in Complexity.choices}
        found = {value: str(label) for value, label in (*Outcome.choices, *Remedy.choices)}
    suffix = "en" if language == "en" else "vi"
    return _rows(
        complaints,
        suffix=suffix,
        statuses=statuses,
        complexities=complexities,
        levels=level_names,
        found=found,
    )


def _rows(
    complaints: QuerySet[Complaint],
    *,
    suffix: str,
    statuses: dict[str, str],
    complexities: dict[str, str],
    levels: dict[int, str],
    found: dict[str, str],
) -> Iterator[list[object]]:
    for row in complaints.values_list(*FIELDS).iterator(chunk_size=CHUNK_SIZE):
        values = dict(zip(FIELDS, row, strict=True))
        yield [
            values["reference"],
            values["submitted_at"],
            values[f"category__name_{suffix}"],
            values[f"subcategory__name_{suffix}"],
            complexities.get(values["complexity"], values["complexity"]),
            statuses.get(values["status"], values["status"]),
            levels.get(values["escalation_level"], values["escalation_level"]),
            values["assignee__username"],
            values["first_response_due_at"],
            values["first_responded_at"],
            values["first_response_breached_at"],
            values["resolution_due_at"],
            values["resolved_at"],
            values["resolution_breached_at"],
            values[f"cause__name_{suffix}"],
            found.get(values["outcome"], values["outcome"]),
            found.get(values["remedy"], values["remedy"]),
            f"{values['remedy_amount']} {values['remedy_currency']}"
            if values["remedy_amount"] is not None
            else None,
            values["subject"],
            values["contact_email"],
        ]


class _Echo:
    """A file-like object whose write returns what it was given (for csv.writer)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(heading: list[str], rows: Iterable[list[object]]) -> Iterator[str]:
    """The CSV text in chunks: a BOM and the header first, then ROWS_PER_CHUNK rows at a time.
    RFC 4180: CRLF line ends, minimal quoting (comma, quote, CR or LF), quotes doubled."""
    writer = csv.writer(_Echo(), lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL, doublequote=True)
    yield BOM + writer.writerow([csv_safe(cell) for cell in heading])
    chunk: list[str] = []
    for row in rows:
        chunk.append(writer.writerow([csv_safe(cell) for cell in row]))
        if len(chunk) >= ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)
