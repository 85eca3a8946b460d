"""What a dbt build did to `users`: inserted, updated, unchanged and removed counts.

Counted from the table itself (ids before and after, and which rows got a new ingested_at)
so the counts cannot disagree with what the models actually did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg2 import sql

from .settings import DbSettings
from .warehouse import table_exists


@dataclass(frozen=True)
class UsersState:
    ids: frozenset[int]
    last_ingested_at: datetime | None  # None for an empty or missing table


@dataclass(frozen=True)
class UsersChanges:
    total: int
    inserted: int
    updated: int
    unchanged: int
    removed: int

    def __str__(self) -> str:
        return (f"total={self.total} inserted={self.inserted} updated={self.updated} "
                f"unchanged={self.unchanged} removed={self.removed}")


def _table(db: DbSettings) -> sql.Identifier:
    return sql.Identifier(db.users_schema, "users")


def read_state(conn, db: DbSettings) -> UsersState:
    with conn.cursor() as cur:
        if not table_exists(cur, db.users_schema, "users"):
            return UsersState(frozenset(), None)
        cur.execute(sql.SQL("select id from {}").format(_table(db)))
        ids = frozenset(row[0] for row in cur)
        cur.execute(sql.SQL("select max(ingested_at) from {}").format(_table(db)))
        return UsersState(ids, cur.fetchone()[0])


def changes_since(conn, db: DbSettings, before: UsersState) -> UsersChanges:
    after = read_state(conn, db)
    with conn.cursor() as cur:
        if before.last_ingested_at is None:
            cur.execute(sql.SQL("select count(*) from {}").format(_table(db)))
        else:
            cur.execute(sql.SQL("select count(*) from {} where ingested_at > %s").format(_table(db)),
                        (before.last_ingested_at,))
        written = cur.fetchone()[0]
    inserted = len(after.ids - before.ids)
    return UsersChanges(total=len(after.ids), inserted=inserted, updated=written - inserted,
                        unchanged=len(after.ids) - written, removed=len(before.ids - after.ids))
