"""Set-wise writes for PostgreSQL: many rows in one statement, joined to UNNEST arrays.

The sweep writes thousands of events, escalations and notices per run; building a
model instance per row and running it through the ORM's insert compiler cost far more
than PostgreSQL's own work. On SQLite (the embedded default) the same calls fall back
to the ORM's bulk operations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import F, Lookup


def array_placeholder() -> str:
    """%b sends an array in psycopg's binary format (dumped in C, much faster than text);
    only server-side binding takes binary parameters."""
    return "%b" if connection.settings_dict.get("OPTIONS", {}).get("server_side_binding") else "%s"


class AnyOf(Lookup):
    """`column = ANY(array)`: a filter on thousands of ids sent as one array parameter.

    `filter(AnyOf("complaint_id", ids))` reads like `complaint_id__in=ids`, but an IN list
    has a placeholder per id, and preparing each id in the ORM and splitting a query of
    thousands of placeholders in psycopg cost more than the statement itself. Elsewhere
    than PostgreSQL it is that IN list.
    """

    lookup_name = "any_of"
    prepare_rhs = False

    def __init__(self, column: str | F, values: Iterable) -> None:
        super().__init__(F(column) if isinstance(column, str) else column, list(values))

    def get_prep_lookup(self) -> list:
        return self.rhs

    def as_sql(self, compiler, connection):  # type: ignore[no-untyped-def]
        lhs, params = self.process_lhs(compiler, connection)
        if not self.rhs:
            return "1 = 0", []
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY({array_placeholder()})", [*params, self.rhs]
        return f"{lhs} IN ({', '.join(['%s'] * len(self.rhs))})", [*params, *self.rhs]


def all_equal(values: list) -> bool:
    first = values[0]
    return all(value == first for value in values)


def _dumped(values: list) -> list[str]:
    """Each value as JSON text; a value shared by many rows (the same object) dumped once."""
    texts: dict[int, str] = {}
    dumped = []
    for value in values:
        text = texts.get(id(value))  # the values are all alive in `values`: no id is reused
        if text is None:
            text = texts[id(value)] = json.dumps(value)
        dumped.append(text)
    return dumped


class BulkInsert:
    """New rows for one table, gathered column by column for one INSERT over UNNEST arrays.

    Values the same on every row go once, as constants; columns never given take the
    model field's default.
    """

    def __init__(self, model: type, names: tuple[str, ...], **constants: Any) -> None:
        self.model = model
        self.constants = constants
        self.columns: dict[str, list] = {name: [] for name in names}
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def add(self, **values: Any) -> None:
        """One row: a value for each of the names given at construction, no more, no less."""
        if len(values) != len(self.columns):
            raise ValueError(f"a {self.model.__name__} row needs exactly {', '.join(self.columns)}")
        columns = self.columns
        for name, value in values.items():
            columns[name].append(value)
        self.count += 1

    def extend(self, count: int, columns: dict[str, list]) -> None:
        """`count` rows at once, column by column: for each of the names given at construction, a
        list of `count` values (a value the same on every row as `[value] * count`)."""
        if columns.keys() != self.columns.keys() or any(len(values) != count for values in columns.values()):
            raise ValueError(
                f"{count} {self.model.__name__} rows need {count} of each of {', '.join(self.columns)}"
            )
        for name, values in columns.items():
            self.columns[name] += values
        self.count += count

    def insert(self, *, unless_taken: str | None = None) -> set:
        """Write the rows. With `unless_taken` (a uniquely constrained column), rows whose
        value is already taken are skipped; return the values of the rows written."""
        if not self.count:
            return set()
        fields = [f for f in self.model._meta.concrete_fields if not f.primary_key]
        if connection.vendor != "postgresql":  # the embedded SQLite default: plain bulk insert
            rows = [{} for _ in range(self.count)]
            for name, values in self.columns.items():
                for row, value in zip(rows, values, strict=True):
                    row[name] = value
            if unless_taken:
                taken = set(
                    self.model.objects.filter(
                        **{f"{unless_taken}__in": self.columns[unless_taken]}
                    ).values_list(unless_taken, flat=True)
                )
                rows = [row for row in rows if row[unless_taken] not in taken]
            self.model.objects.bulk_create([self.model(**self.constants, **row) for row in rows])
            return {row[unless_taken] for row in rows} if unless_taken else set()
        array_mark = array_placeholder()
        first = next(iter(self.columns))  # always sent as an array, so UNNEST has one
        # A column with one value on every row (the same kind, template, level...) goes once.
        constants = dict(self.constants)
        for name, values in self.columns.items():
            if name != first and all_equal(values):
                constants[name] = values[0]
        columns, selects, select_params, arrays, array_columns, array_params = [], [], [], [], [], []
        for model_field in fields:
            name, column = model_field.attname, model_field.column
            db_type = model_field.db_type(connection).split("(")[0]
            is_json = db_type == "jsonb"
            columns.append(column)
            if name in self.columns and name not in constants:
                values = self.columns[name]
                selects.append(f"v.{column}::jsonb" if is_json else f"v.{column}")
                arrays.append(f"{array_mark}::{'text' if is_json else db_type}[]")
                array_columns.append(column)
                array_params.append(_dumped(values) if is_json else values)
            else:
                value = constants[name] if name in constants else model_field.get_default()
                selects.append(f"%s::{db_type}")
                select_params.append(json.dumps(value) if is_json else value)
        conflict = ""
        if unless_taken:
            column = self.model._meta.get_field(unless_taken).column
            conflict = f" ON CONFLICT ({column}) DO NOTHING RETURNING {column}"
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {self.model._meta.db_table} ({', '.join(columns)}) "  # noqa: S608 - model metadata
                f"SELECT {', '.join(selects)} "
                f"FROM UNNEST({', '.join(arrays)}) AS v({', '.join(array_columns)}){conflict}",
                [*select_params, *array_params],
            )
            return {value for (value,) in cursor.fetchall()} if unless_taken else set()


class BulkUpdate:
    """New values for rows of one table, by primary key, for one UPDATE joined to UNNEST arrays.

    `names` are the columns' attribute names (`cause_id` for a foreign key). A column with the
    same new value on every row goes once, as a constant; `bump` names a counter each row's
    UPDATE adds one to (a version). `bulk_update` would send a CASE per column with a branch
    per row; here the statement stays small and the update is a join.
    """

    def __init__(self, model: type, names: tuple[str, ...], *, bump: str | None = None) -> None:
        self.model = model
        self.bump = bump
        self.ids: list = []
        self.columns: dict[str, list] = {name: [] for name in names}

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, pk: Any, **values: Any) -> None:
        """One row's new values: one for each of the names given at construction."""
        if values.keys() != self.columns.keys():
            raise ValueError(f"a {self.model.__name__} update needs exactly {', '.join(self.columns)}")
        self.ids.append(pk)
        for name, value in values.items():
            self.columns[name].append(value)

    def update(self) -> int:
        """Write the rows; return how many were updated."""
        if not self.ids:
            return 0
        fields = {f.attname: f for f in self.model._meta.concrete_fields}
        if connection.vendor != "postgresql":  # the embedded SQLite default
            objects = [self.model(pk=pk) for pk in self.ids]
            for name, values in self.columns.items():
                for instance, value in zip(objects, values, strict=True):
                    setattr(instance, name, value)
            if self.columns:
                self.model.objects.bulk_update(objects, list(self.columns))
            if self.bump:
                self.model.objects.filter(pk__in=self.ids).update(**{self.bump: F(self.bump) + 1})
            return len(self.ids)
        mark = array_placeholder()
        pk = self.model._meta.pk
        assignments, set_params = [], []
        arrays, array_columns, array_params = [f"{mark}::{pk.db_type(connection)}[]"], ["pk_"], [self.ids]
        for name, values in self.columns.items():
            column = fields[name].column
            db_type = fields[name].db_type(connection).split("(")[0]
            if all_equal(values):
                assignments.append(f"{column} = %s::{db_type}")
                set_params.append(values[0])
            else:
                assignments.append(f"{column} = v.{column}")
                arrays.append(f"{mark}::{db_type}[]")
                array_columns.append(column)
                array_params.append(values)
        if self.bump:
            column = fields[self.bump].column
            assignments.append(f"{column} = t.{column} + 1")
        table = self.model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS t SET {', '.join(assignments)} "  # noqa: S608 - model metadata
                f"FROM UNNEST({', '.join(arrays)}) AS v({', '.join(array_columns)}) "
                f"WHERE t.{pk.column} = v.pk_",
                [*set_params, *array_params],
            )
            return cursor.rowcount
