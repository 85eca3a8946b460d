"""Hand-written baseline of the sync, the benchmark's yardstick (not product code).

    python -m tests.bench.baseline     # same env vars as the sync: API_ROOT, CLIENT_ID, DB_*, ...

The same job in the plainest way: page through the listing with requests, COPY the records into
a temp table, upsert them into a 30-column `users` table (rewriting only changed rows), delete the
users no longer listed. No dlt, no dbt, no retries, no data tests. Prints its phase timings.
"""

from __future__ import annotations

import json
import os
import sys
import time

import psycopg2
import requests

# (column, type, where it comes from in the API record) — the columns of dbt's `users` mart.
COLUMNS = [
    ("id", "bigint primary key", "id"), ("email", "text", "email"), ("login", "text", "login"),
    ("first_name", "text", "first_name"), ("last_name", "text", "last_name"),
    ("usual_full_name", "text", "usual_full_name"), ("usual_first_name", "text", "usual_first_name"),
    ("kind", "text", "kind"), ("displayname", "text", "displayname"),
    ("staff_p", "boolean", "staff?"), ("correction_point", "integer", "correction_point"),
    ("pool_month", "text", "pool_month"), ("pool_year", "text", "pool_year"),
    ("location", "text", "location"), ("wallet", "bigint", "wallet"), ("phone", "text", "phone"),
    ("anonymize_date", "timestamptz", "anonymize_date"),
    ("data_erasure_date", "timestamptz", "data_erasure_date"),
    ("created_at", "timestamptz", "created_at"), ("updated_at", "timestamptz", "updated_at"),
    ("alumnized_at", "timestamptz", "alumnized_at"), ("alumni_p", "boolean", "alumni?"),
    ("active_p", "boolean", "active?"), ("image_link", "text", "image.link"),
    ("image_large", "text", "image.versions.large"), ("image_medium", "text", "image.versions.medium"),
    ("image_small", "text", "image.versions.small"), ("image_micro", "text", "image.versions.micro"),
    ("url", "text", "url"),
]
NAMES = [name for name, _, _ in COLUMNS]
# ingested_at is ours, not the API's: it moves only when a row's values change.
CREATE = ("create table if not exists users ("
          + ", ".join(f"{name} {sql_type}" for name, sql_type, _ in COLUMNS)
          + ", ingested_at timestamptz not null default now())")
INDEXES = [f"create index if not exists users_{col}_idx on users ({col})"
           for col in ("login", "email", "kind", "updated_at")]
UPSERT = (f"insert into users ({', '.join(NAMES)}) select {', '.join(NAMES)} from incoming "
          f"on conflict (id) do update set "
          + ", ".join(f"{n} = excluded.{n}" for n in NAMES[1:]) + ", ingested_at = now() "
          # Compare the API's columns only: ingested_at always differs.
          f"where ({', '.join('users.' + n for n in NAMES)}) "
          f"is distinct from ({', '.join('excluded.' + n for n in NAMES)})")
DELETE = "delete from users where not exists (select from incoming where incoming.id = users.id)"


def dig(record: dict, path: str):
    for key in path.split("."):
        record = record.get(key) if isinstance(record, dict) else None
    return record


def text_field(value) -> str:
    """One value in COPY's text format."""
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    return (str(value).replace("\\", "\\\\").replace("\t", "\\t")
            .replace("\n", "\\n").replace("\r", "\\r"))


def fetch(api_root: str, client_id: str, client_secret: str, cursus_id: str) -> list[str]:
    """Every listed student as a COPY text line."""
    session = requests.Session()
    session.headers["User-Agent"] = "ft42-baseline/1.0"  # the CDN refuses requests without one
    token = session.post(f"{api_root}/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret,
    }, timeout=60)
    token.raise_for_status()
    session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    url = (f"{api_root}/v2/cursus/{cursus_id}/users"
           "?filter[kind]=student&filter[alumni?]=false&per_page=100&sort=id")
    lines = []
    while url:
        page = session.get(url, timeout=60)
        page.raise_for_status()
        for user in json.loads(page.content):
            lines.append("\t".join(text_field(dig(user, path)) for _, _, path in COLUMNS) + "\n")
        url = page.links.get("next", {}).get("url")
    return lines


def load(lines: list[str]) -> tuple[int, int]:
    """Upsert into users in one transaction; returns (rows written, rows deleted)."""
    env = os.environ
    conn = psycopg2.connect(host=env.get("DB_HOST") or "127.0.0.1", port=env.get("DB_PORT", "5432"),
                            dbname=env.get("DB_NAME", "ft42"), user=env.get("DB_USER", "postgres"),
                            password=env.get("DB_PASSWORD", ""))
    with conn, conn.cursor() as cur:
        cur.execute(CREATE)
        for sql in INDEXES:
            cur.execute(sql)
        cur.execute("create temp table incoming (like users including defaults) on commit drop")
        cur.copy_expert(f"copy incoming ({', '.join(NAMES)}) from stdin",
                        _LinesReader(lines))
        cur.execute("analyze incoming")  # a temp table has no statistics otherwise
        cur.execute(UPSERT)
        written = cur.rowcount
        cur.execute(DELETE)
        deleted = cur.rowcount
    conn.close()
    return written, deleted


class _LinesReader:
    """A file-like view of the lines for copy_expert, without joining them into one big string."""

    def __init__(self, lines: list[str]):
        self._lines = iter(lines)

    def read(self, size: int = -1) -> str:
        return next(self._lines, "")

    readline = read


def main() -> int:
    env = os.environ
    started = time.monotonic()
    lines = fetch(env.get("API_ROOT", "https://api.intra.42.fr").rstrip("/"), env["CLIENT_ID"],
                  env["CLIENT_SECRET"], env.get("CURSUS_ID", "21"))
    fetched = time.monotonic()
    written, deleted = load(lines)
    done = time.monotonic()
    print(f"baseline: fetched={len(lines)} written={written} deleted={deleted} "
          f"fetch_s={fetched - started:.2f} load_s={done - fetched:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
