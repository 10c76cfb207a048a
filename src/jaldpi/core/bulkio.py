"""Fast set-based inserts: COPY on PostgreSQL, executemany on SQLite.

Hot paths (households, change log, later telemetry and test results) insert thousands of rows per request; ORM
unit-of-work inserts cost ~10x more. COPY is the documented fastest load path of PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import operator
import uuid
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import JSON, Table, insert
from sqlalchemy.orm import Session


def json_default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    conn = session.connection()
    if conn.dialect.name != "postgresql" or len(rows) < 50:
        conn.execute(insert(table), rows)
        return
    columns = list(rows[0].keys())
    json_cols = {c for c in columns if isinstance(table.c[c].type, JSON)}
    raw = conn.connection.driver_connection
    col_sql = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({col_sql}) FROM STDIN') as copy:
        if not json_cols:
            pick = operator.itemgetter(*columns)
            for row in rows:
                copy.write_row(pick(row) if len(columns) > 1 else (pick(row),))
            return
        for row in rows:
            copy.write_row(tuple(
                (orjson.dumps(row[c], default=json_default).decode() if row[c] is not None else None)
                if c in json_cols else row[c]
                for c in columns
            ))
