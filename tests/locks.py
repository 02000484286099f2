"""Row locks held by another connection, as another worker holds them, for SKIP LOCKED tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg
from django.db import connection
from psycopg import sql


@contextlib.contextmanager
def row_locked_by_another_connection(model, pk: int) -> Iterator[None]:
    """Hold `SELECT ... FOR UPDATE` on one row from a second connection, as another sweep
    does while it works on that complaint; the lock is released on leaving."""
    database = connection.settings_dict
    with psycopg.connect(
        dbname=database["NAME"],
        user=database["USER"] or None,
        password=database["PASSWORD"] or None,
        host=database["HOST"] or None,
        port=database["PORT"] or None,
    ) as other:
        table = sql.Identifier(model._meta.db_table)
        query = sql.SQL("SELECT id FROM {} WHERE id = %s FOR UPDATE").format(table)
        locked = other.execute(query, [pk]).fetchall()
        assert locked == [(pk,)]
        try:
            yield
        finally:
            other.rollback()


@contextlib.contextmanager
def lock_timeout(duration: str) -> Iterator[None]:
    """On this test's connection, give up waiting for a row lock after `duration`."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, false)", [duration])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
