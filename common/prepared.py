"""Reads compiled to SQL once per process.

Django builds and compiles a queryset's SQL on every run. For the small reads a page makes
by key (a case by its reference, its timeline, its files) that is most of the time the read
takes: reading a case, fifty-odd columns, took 1.07 ms on the bench's machine, of which the
database's round trip was 0.21 ms and compiling 0.23 ms; cloning, filtering and turning the
columns into the model's values took most of the rest. A `Prepared` read is written as a
queryset with a `Param` wherever a value changes from one run to the next; its SQL, and what
turns a row into a model instance, are worked out at its first run and kept for the process
(one copy per database). A change to the models changes the SQL only with a new process: a
migration is deployed by restarting.

Only what the model's own rows need: instances of the model (with any `select_related`) or
`values_list` tuples; no prefetching, no annotations, no `extra`. A queryset that needs more
is refused when it is prepared, not at run time.

`Insert` does the same for a row written often (the access log's entry for each case page
read; a complaint, its fifty-odd columns, at each filing): Django's `create` took 0.83 ms
for one access log entry, the INSERT itself 0.13 ms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.models import Expression, Model, QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators


class Param(Expression):
    """A value of a `Prepared` read given at each run, by name, in place of a filter's value.
    The value goes to the database as given (a str, an int, a datetime...): no field of the
    model converts it."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def __repr__(self) -> str:
        return f"Param({self.name!r})"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return "%s", [self]

    def resolve_expression(self, *args: Any, **kwargs: Any) -> Param:
        return self


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str], ...]  # where each Param's value goes among the params
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]
    to_result: Callable[[list[Any]], Any]


class Prepared:
    """A read of `queryset`, compiled once per process and database, run as `read(**values)`
    with a value for each of its `Param`s: a list of model instances or of tuples, as the
    queryset itself would give."""

    def __init__(self, queryset: QuerySet) -> None:
        query = queryset.query
        if queryset._prefetch_related_lookups or query.annotations or query.extra or query.select_for_update:
            raise ValueError("A prepared read holds no prefetch, annotation, extra or lock.")
        if queryset._iterable_class not in (ModelIterable, ValuesListIterable):
            raise ValueError("A prepared read gives model instances or values_list tuples.")
        self.queryset = queryset
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def __call__(self, **values: Any) -> list[Any]:
        alias = self.queryset.db
        connection = connections[alias]
        compiled = self._compiled.get((alias, connection.vendor))
        if compiled is None:
            compiled = self._compiled[alias, connection.vendor] = self._compile(alias)
        params = list(compiled.params)
        for position, name in compiled.slots:
            params[position] = values[name]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        results = []
        for row in rows:
            if compiled.converters:
                row = list(row)
                for position, functions, expression in compiled.converters:
                    value = row[position]
                    for function in functions:
                        value = function(value, expression, connection)
                    row[position] = value
            results.append(compiled.to_result(row))
        return results

    def _compile(self, alias: str) -> _Compiled:
        compiler = self.queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        select = compiler.select
        converters = compiler.get_converters([column[0] for column in select[: compiler.col_count]])
        slots = tuple(
            (position, param.name) for position, param in enumerate(params) if isinstance(param, Param)
        )
        if self.queryset._iterable_class is ValuesListIterable:
            to_result: Callable[[list[Any]], Any] = tuple
        else:
            to_result = _instances(compiler, alias)
        return _Compiled(
            sql=sql,
            params=tuple(params),
            slots=slots,
            converters=tuple(
                (position, tuple(functions), expression)
                for position, (functions, expression) in converters.items()
            ),
            to_result=to_result,
        )


def _instances(compiler: Any, alias: str) -> Callable[[list[Any]], Any]:
    """What makes a row into a model instance, with its `select_related` objects, as
    Django's ModelIterable does."""
    select, klass_info = compiler.select, compiler.klass_info
    model = klass_info["model"]
    start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
    names = [column[0].target.attname for column in select[start:end]]
    populators = get_related_populators(klass_info, select, alias)  # they keep nothing of a row

    def instance(row: list[Any]) -> Any:
        obj = model.from_db(alias, names, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        return obj

    return instance


class Insert:
    """One row of `model` written by one INSERT compiled once per process and database:
    `insert(**values)`, values by attribute name (`complaint_id`), a field left out taking
    its default as the model's constructor gives it; each value prepared as its field
    prepares one for saving. Gives the row as a model instance, its primary key set;
    `insert.save(instance)` writes a new instance built by the caller.

    The model's `save` is not called, nor its signals sent: for rows that need neither (the
    timeline's events, the outbox's notices, the access log's entries, a filed complaint). A
    model whose fields set themselves when saved (`auto_now`) or whose key is not the
    database's is refused."""

    def __init__(self, model: type[Model]) -> None:
        meta = model._meta
        if not meta.pk.db_returning or any(
            getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
            for field in meta.concrete_fields
        ):
            raise ValueError(f"{meta.label} sets values of its own when saved.")
        self.model = model
        self.fields = [field for field in meta.concrete_fields if not field.primary_key]
        self.attnames = frozenset(field.attname for field in self.fields)
        self.names = [meta.pk.attname, *(field.attname for field in self.fields)]
        self._sql: dict[tuple[str, str], str] = {}

    def __call__(self, **values: Any) -> Model:
        if not self.attnames.issuperset(values):
            raise TypeError(f"{self.model._meta.label} has no field {sorted(set(values) - self.attnames)}")
        given = [
            values[field.attname] if field.attname in values else field.get_default() for field in self.fields
        ]
        alias, pk = self._write(given)
        return self.model.from_db(alias, self.names, [pk, *given])

    def save(self, instance: Model) -> Model:
        """Write a new `instance` as it stands (what its constructor and the caller gave it,
        each field's value as it is saved: `pre_save`), as `save(force_insert=True)` would for
        such a model; set its primary key, and mark it saved. The objects it refers to, already
        read, stay with it; one not saved yet is refused as `save` refuses it (ValueError), and
        one saved since it was assigned gives its key, as with `save`."""
        if not isinstance(instance, self.model) or not instance._state.adding:
            raise ValueError(f"Only a new {self.model._meta.label} is written by this insert.")
        instance._prepare_related_fields_for_save(operation_name="save")
        alias, instance.pk = self._write([field.pre_save(instance, True) for field in self.fields])
        instance._state.adding, instance._state.db = False, alias
        return instance

    def _write(self, given: list[Any]) -> tuple[str, Any]:
        """The row of these values (one per field) inserted: the database it went to, its key."""
        alias = router.db_for_write(self.model)
        connection = connections[alias]
        sql = self._sql.get((alias, connection.vendor))
        if sql is None:
            sql = self._sql[alias, connection.vendor] = self._compile(connection)
        params = [
            field.get_db_prep_save(value, connection) for field, value in zip(self.fields, given, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if connection.features.can_return_columns_from_insert:
                return alias, cursor.fetchone()[0]
            return alias, connection.ops.last_insert_id(
                cursor, self.model._meta.db_table, self.model._meta.pk.column
            )

    def _compile(self, connection: Any) -> str:
        quote, meta = connection.ops.quote_name, self.model._meta
        columns = ", ".join(quote(field.column) for field in self.fields)
        placeholders = ", ".join("%s" for _ in self.fields)
        sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608 - model metadata
        if connection.features.can_return_columns_from_insert:
            sql += f" RETURNING {quote(meta.pk.column)}"
        return sql
