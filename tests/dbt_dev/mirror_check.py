"""Developer check of the dbt project's mirrors, without the API or the sync: raw rows and ledger
rows written by SQL in the layout the sync writes, then `dbt build` as the sync runs it.

    .venv/bin/python -m tests.dbt_dev.mirror_check

Starts a throw-away embedded PostgreSQL (as tests/conftest.py does), then plays three runs:
a first full sync of every table; a second where cursus_users loses an enrolment and changes a
level without moving `updated_at`, a coalition's score moves and coalitions_users gets a new
membership; a third whose projects listing lacks most projects (the circuit breaker). Asserts
what every mart, the snapshot and the ledger hold after each; prints dbt's output on failure.
Then six runs of the big tables kept by passes (projects_users, achievements_users): a backfill
under way, the backfill completing, a reconcile pass that misses a deleted row; then, with a row
planted in each mart that no listing holds, a run where nothing that decides the current sets
moved (the anti-joins are skipped: the planted rows stay), one where cursus_users changes (only
achievements_users' anti-joins run) and one where a projects_users pass completes.

    .venv/bin/python -m tests.dbt_dev.mirror_check --scale 2000000

also times projects_users at scale: that many raw rows made by SQL, a first (full) build, 1 % of
the rows changed under a new load id and a second build, then 1 % changed again with a pass
completing and a third; prints each build's time (dbt's own and the whole process) and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2
from psycopg2 import sql

from pipelines import warehouse
from pipelines.ft42.declaration import fetched_columns
from pipelines.settings import DBT_PROJECT_DIR, load_settings
from tests.conftest import free_port

RAW, USERS_SCHEMA = "ft42_raw", "public"
RAW_TYPES = {"bigint": "bigint", "integer": "bigint", "numeric": "double precision", "boolean": "boolean",
             "text": "text", "timestamp with time zone": "timestamptz",
             # An array is fetched as JSON text (`[21, 9]`).
             "bigint[]": "text"}
KEEP_AS_JSON = {"cursus_users": ["skills"]}
LISTED = ["users", "cursus_users", "projects", "achievements", "coalitions", "coalitions_users"]
# Listed by resumable passes (sync_passes).
BIG = ["projects_users", "achievements_users"]


def create_raw_and_ledger(conn) -> None:
    with conn.cursor() as cur:
        cur.execute(f"create schema {RAW}")
        for table in [*LISTED, *BIG]:
            columns = [sql.SQL("{} {}").format(sql.Identifier(c.raw_name), sql.SQL(RAW_TYPES[c.data_type]))
                       for c in fetched_columns(table)]
            columns += [sql.SQL("{} text").format(sql.Identifier(name)) for name in KEEP_AS_JSON.get(table, [])]
            columns += [sql.SQL("_dlt_load_id text not null"), sql.SQL("_dlt_id text not null")]
            cur.execute(sql.SQL("create table {} ({})").format(sql.Identifier(RAW, table), sql.SQL(", ").join(columns)))
            # The fetch declares `id` unique: dlt indexes it.
            cur.execute(sql.SQL("create unique index on {} (id)").format(sql.Identifier(RAW, table)))
        cur.execute("""
            create table sync_runs (run_id bigint primary key, mode text, status text, load_id text,
                published_at timestamptz);
            create table sync_tables (run_id bigint, table_name text, mode text, status text,
                planned_requests int, api_requests int, listed_total int, rows_fetched int,
                cursor_before timestamptz, cursor_after timestamptz, load_id text, error text,
                started_at timestamptz, finished_at timestamptz, published_at timestamptz, basis text,
                primary key (run_id, table_name));
            create table sync_passes (pass_id bigserial primary key, table_name text not null,
                kind text not null, started_at timestamptz not null, first_load_id text,
                position bigint not null default 0, rows_seen bigint not null default 0,
                listed_total integer, completed_at timestamptz)""")


def upsert(cur, table: str, load_id: str, rows: list[dict]) -> None:
    """dlt's merge (delete-insert on id): a listed row replaces its previous version."""
    for n, row in enumerate(rows):
        row = {**row, "_dlt_load_id": load_id, "_dlt_id": f"{load_id}-{table}-{n}"}
        cur.execute(sql.SQL("delete from {} where id = %s").format(sql.Identifier(RAW, table)), (row["id"],))
        cur.execute(sql.SQL("insert into {} ({}) values ({})").format(
            sql.Identifier(RAW, table), sql.SQL(", ").join(map(sql.Identifier, row)),
            sql.SQL(", ").join(sql.Placeholder() * len(row))), list(row.values()))


def user(uid: int, **changes) -> dict:
    return {"id": uid, "login": f"login{uid}", "email": f"u{uid}@example.org", "kind": "student",
            "alumni_p": False, "staff_p": False, "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-02-01T00:00:00Z", "pool_year": "2023", **changes}


def cursus_user(cid: int, uid: int, level: float, skills: list, **changes) -> dict:
    return {"id": cid, "user__id": uid, "user__login": f"login{uid}", "cursus_id": 21, "grade": "Learner",
            "level": level, "begin_at": "2024-01-20T00:00:00Z", "blackholed_at": "2026-09-01T00:00:00Z",
            "has_coalition": True, "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-03-01T00:00:00Z",
            "skills": json.dumps(skills), **changes}


SKILLS = [{"id": 4, "name": "Unix", "level": 3.5}, {"id": 1, "name": "Algorithms & AI", "level": 2.25}]


def run_one(cur, run_id: int, load_id: str, listings: dict[str, tuple[str, list[dict]]]) -> None:
    """What the sync does before dbt: load each complete listing, mark it `loaded`."""
    cur.execute("insert into sync_runs values (%s, 'full', 'running', %s, null)", (run_id, load_id))
    for table, (mode, rows) in listings.items():
        upsert(cur, table, load_id, rows)
        cur.execute("insert into sync_tables (run_id, table_name, mode, status, load_id) "
                    "values (%s, %s, %s, 'loaded', %s)", (run_id, table, mode, load_id))


def dbt_build(env: dict, tables: list[str], target: Path, elapsed: bool = False) -> tuple:
    selection = [f"stg_ft42__{table}+" for table in tables]
    result = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "build", "--exclude-resource-type", "unit_test",
         "--select", *selection, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target)], env=env, capture_output=True, text=True, timeout=600)
    run_results = json.loads((target / "run_results.json").read_text())
    statuses = {r["unique_id"].split(".", 2)[2]: r["status"] for r in run_results["results"]}
    if elapsed:  # dbt's own time, from its start to its end, without the interpreter's start-up
        return result.returncode == 0, result.stdout + result.stderr, statuses, run_results["elapsed_time"]
    return result.returncode == 0, result.stdout + result.stderr, statuses


def projects_user(pid: int, uid: int, project: int, **changes) -> dict:
    return {"id": pid, "user__id": uid, "user__login": f"login{uid}", "project__id": project,
            "project__slug": f"p{project}", "cursus_ids": "[21]", "status": "in_progress", "final_mark": None,
            "validated_p": None, "occurrence": 0, "marked_p": False, "marked_at": None, "retriable_at": None,
            "current_team_id": 4_000_000 + pid, "created_at": "2024-03-01T00:00:00Z",
            "updated_at": "2024-03-02T00:00:00Z", **changes}


def achievements_user(aid: int, uid: int) -> dict:
    return {"id": aid, "achievement_id": 10_001, "user_id": uid, "login": f"login{uid}", "nbr_of_success": None,
            "created_at": "2024-04-01T00:00:00Z", "updated_at": "2024-04-01T00:00:00Z"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=0, help="also time projects_users with this many raw rows")
    scale = parser.parse_args().scale
    base = Path(tempfile.mkdtemp(prefix="ft42-dbt-dev-"))
    port, password = free_port(), "dev"
    warehouse.start_embedded(base / "data", port, password=password)
    try:
        return check(port, password, base, scale)
    finally:
        warehouse.stop_embedded(base / "data")
        shutil.rmtree(base, ignore_errors=True)


def check(port: int, password: str, base: Path, scale: int) -> int:
    admin = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", password=password, dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute("create database ft42")
    conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", password=password, dbname="ft42")
    conn.autocommit = True
    cur = conn.cursor()
    create_raw_and_ledger(conn)
    settings = load_settings({"DB_HOST": "127.0.0.1", "DB_PORT": str(port), "DB_USER": "postgres",
                              "DB_PASSWORD": password, "DB_NAME": "ft42"})
    env = {"PATH": os.environ["PATH"], "HOME": str(base), "LANG": "C.UTF-8",
           **warehouse.dbt_environment(settings.db, settings)}

    def query(statement: str) -> list[tuple]:
        cur.execute(statement)
        return cur.fetchall()

    def build(run_id: int, tables: list[str], elapsed: bool = False, max_removed_share: str | None = None) -> tuple:
        """`max_removed_share`: the circuit breaker's share for this build alone (a run of a few
        rows removes more than the default 5 % of them)."""
        share = {"MAX_REMOVED_SHARE": max_removed_share} if max_removed_share else {}
        return dbt_build({**env, **share, "FT42_RUN_ID": str(run_id)}, tables, base / "target", elapsed)

    # Run 1: every table listed in full.
    run_one(cur, 1, "1764500100.5", {
        "users": ("full", [user(uid) for uid in (101, 102, 103, 104)]),
        "cursus_users": ("full", [cursus_user(1000 + uid, uid, 3.5 + uid % 2, SKILLS) for uid in (101, 102, 103, 104)]
                         + [cursus_user(1105, 105, 0, [], grade=None, blackholed_at=None)]),
        "projects": ("full", [{"id": i, "name": f"p{i}", "slug": f"p{i}", "difficulty": 500, "parent__id": None,
                               "exam_p": False, "created_at": "2020-01-01T00:00:00Z",
                               "updated_at": "2020-01-02T00:00:00Z"} for i in range(1, 21)]),
        "achievements": ("full", [{"id": 10_001, "name": "a", "description": "d", "tier": "easy", "kind": "social",
                                   "visible": True, "image": "/a.svg", "nbr_of_success": None,
                                   "parent__id": None}]),
        "coalitions": ("full", [{"id": 5001, "name": "The Order 1", "slug": "the-order-1", "color": "#FFFFFF",
                                 "score": 100, "user_id": 101, "image_url": "i", "cover_url": "c"},
                                {"id": 5002, "name": "The Guild 1", "slug": "the-guild-1", "color": "#000000",
                                 "score": 200, "user_id": None, "image_url": "i", "cover_url": "c"}]),
        "coalitions_users": ("full", [{"id": 2_000_000 + uid, "coalition_id": 5001 + uid % 2, "user_id": uid,
                                       "score": uid, "rank": 1, "created_at": "2024-01-01T00:00:00Z",
                                       "updated_at": "2024-01-02T00:00:00Z"} for uid in (101, 102, 103, 104, 999)]),
    })
    ok, output, statuses = build(1, LISTED)
    assert ok, output
    counts = {t: query(f"select count(*) from {t}")[0][0] for t in [*LISTED, "cursus_user_skills"]}
    assert counts == {"users": 4, "cursus_users": 5, "projects": 20, "achievements": 1, "coalitions": 2,
                      "coalitions_users": 4, "cursus_user_skills": 8}, counts
    assert query("select count(*) from cursus_users_history")[0][0] == 5
    assert query("select count(*) from sync_tables where run_id = 1 and published_at is not null")[0][0] == 6
    assert query("select published_at is not null from sync_runs where run_id = 1") == [(True,)]
    print("run 1 (first full sync): every mart, the snapshot, the ledger: ok")
    print("nodes:", " ".join(sorted(statuses)))
    first_ingested = dict(query("select id, ingested_at from cursus_users"))

    # Run 2: enrolment 1104 gone, 1101's level and skills changed with updated_at unchanged,
    # a coalition's score moved, an incremental window brings a new membership.
    cur.execute("update sync_tables set status = 'succeeded' where run_id = 1")
    run_one(cur, 2, "1764500200.5", {
        "cursus_users": ("full", [cursus_user(1101, 101, 4.75, [{"id": 4, "name": "Unix", "level": 5.0}])]
                         + [cursus_user(1000 + uid, uid, 3.5 + uid % 2, SKILLS) for uid in (102, 103)]
                         + [cursus_user(1105, 105, 0, [], grade=None, blackholed_at=None)]),
        "coalitions": ("full", [{"id": 5001, "name": "The Order 1", "slug": "the-order-1", "color": "#FFFFFF",
                                 "score": 150, "user_id": 101, "image_url": "i", "cover_url": "c"},
                                {"id": 5002, "name": "The Guild 1", "slug": "the-guild-1", "color": "#000000",
                                 "score": 200, "user_id": None, "image_url": "i", "cover_url": "c"}]),
        "coalitions_users": ("incremental", [{"id": 2_000_105, "coalition_id": 5002, "user_id": 105, "score": 0,
                                              "rank": 9, "created_at": "2024-05-01T00:00:00Z",
                                              "updated_at": "2024-05-01T00:00:00Z"}]),
    })
    # 1 of 5 enrolments leaves, with its membership and skills.
    ok, output, statuses = build(2, ["cursus_users", "coalitions", "coalitions_users"], max_removed_share="0.5")
    assert ok, output
    assert "users" not in statuses and "projects" not in statuses, statuses
    assert sorted(i for (i,) in query("select id from cursus_users")) == [1101, 1102, 1103, 1105]
    assert query("select level::text, updated_at::text from cursus_users where id = 1101") \
        == [("4.75", "2024-03-01 00:00:00+00")]
    changed = dict(query("select id, ingested_at from cursus_users"))
    assert [i for i in changed if changed[i] != first_ingested[i]] == [1101], changed
    assert query("select skill_id, level::text from cursus_user_skills where cursus_user_id = 1101") == [(4, "5.0")]
    assert query("select count(*) from cursus_user_skills where cursus_user_id = 1104") == [(0,)]
    assert query("select score from coalitions where id = 5001") == [(150,)]
    assert sorted(i for (i,) in query("select user_id from coalitions_users")) == [101, 102, 103, 105]
    history = query("select id, level::text, dbt_valid_to is null from cursus_users_history "
                    "where id in (1101, 1104) order by id, dbt_valid_from")
    assert history == [(1101, "4.5", False), (1101, "4.75", True), (1104, "3.5", False)], history
    print("run 2 (removal, level change without updated_at, score, new membership): ok")

    # Run 3: a projects listing that lacks 15 of 20 projects trips the circuit breaker.
    cur.execute("update sync_tables set status = 'succeeded' where run_id = 2")
    run_one(cur, 3, "1764500300.5", {
        "projects": ("full", [{"id": i, "name": f"p{i}", "slug": f"p{i}", "difficulty": 500, "parent__id": None,
                               "exam_p": False, "created_at": "2020-01-01T00:00:00Z",
                               "updated_at": "2020-01-02T00:00:00Z"} for i in range(1, 6)]),
    })
    ok, output, statuses = build(3, ["projects"])
    assert not ok and statuses["projects"] == "error", statuses
    assert "circuit breaker: this run would remove 15 of 20 projects rows (more than 5.0 %); nothing was removed" \
        in output, output
    assert query("select count(*) from projects") == [(20,)]
    assert query("select published_at from sync_tables where run_id = 3") == [(None,)]
    print("run 3 (circuit breaker on projects): ok")
    check_big_tables(cur, query, build)
    if scale:
        time_at_scale(cur, query, build, scale)
    return 0


def check_big_tables(cur, query, build) -> None:
    """Three runs of the tables kept by passes: rows queryable while the backfill runs, nothing
    removed before it completes, unchanged rows not rewritten, a row the reconcile pass missed
    removed, an achievements_user whose user enrols arriving without being listed again."""
    cur.execute("update sync_tables set status = 'failed' where run_id = 3")

    def passes(run_id: int, load_id: str, chunks: dict[str, tuple[str, list[dict]]]) -> None:
        cur.execute("insert into sync_runs values (%s, 'incremental', 'running', %s, null)", (run_id, load_id))
        for table, (mode, rows) in chunks.items():
            upsert(cur, table, load_id, rows)
            cur.execute("insert into sync_tables (run_id, table_name, mode, status, load_id) "
                        "values (%s, %s, %s, 'loaded', %s)", (run_id, table, mode, load_id))

    # Run 4: the backfill begins: a first chunk of each big table, the pass under way. User 106
    # is not enrolled (yet), 999 never is.
    cur.execute("insert into sync_passes (table_name, kind, started_at, first_load_id, position) values "
                "('projects_users', 'backfill', now(), '1764500400.5', 6), "
                "('achievements_users', 'backfill', now(), '1764500400.5', 3_000_004)")
    passes(4, "1764500400.5", {
        "projects_users": ("backfill", [projects_user(pid, 100 + (pid + 1) // 2, 1 + pid % 3) for pid in range(1, 6)]
                           + [projects_user(6, 101, 90, cursus_ids="[9]", status="finished", final_mark=100,
                                            validated_p=True, marked_p=True, marked_at="2023-09-30T12:00:00Z")]),
        "achievements_users": ("backfill", [achievements_user(3_000_000 + n, uid)
                                            for n, uid in enumerate((101, 102, 106, 999))]),
    })
    ok, output, statuses = build(4, BIG)
    assert ok, output
    assert query("select id, cursus_ids, validated_p, final_mark from projects_users where id in (1, 6) "
                 "order by id") == [(1, [21], None, None), (6, [9], True, 100)]
    assert query("select count(*) from projects_users") == [(6,)]
    assert sorted(u for (u,) in query("select user_id from achievements_users")) == [101, 102]
    assert query("select count(*) from sync_tables where run_id = 4 and published_at is not null") == [(2,)]
    print("run 4 (backfill under way: rows queryable, enrolled users only, arrays): ok")
    first_ingested = dict(query("select id, ingested_at from projects_users"))

    # Run 5: the backfill's last chunk; the pass completes. Rows 1-6 are not listed again.
    cur.execute("update sync_tables set status = 'succeeded' where run_id = 4")
    passes(5, "1764500500.5", {"projects_users": ("backfill", [projects_user(pid, 104, pid) for pid in range(7, 11)])})
    cur.execute("update sync_passes set completed_at = now(), position = 10 where table_name = 'projects_users'")
    ok, output, statuses = build(5, ["projects_users"])
    assert ok, output
    backfilled = dict(query("select id, ingested_at from projects_users"))
    assert sorted(backfilled) == list(range(1, 11))
    assert all(backfilled[pid] == first_ingested[pid] for pid in range(1, 7)), "rows 1-6 were rewritten"
    print("run 5 (the backfill completes; earlier rows untouched): ok")

    # Run 6: a reconcile pass lists every row again but 3 (deleted by the API, replaced by 11),
    # with 5 now finished; user 106 enrols (a full cursus_users listing) and their achievement,
    # listed in run 4, joins achievements_users though its window lists nothing.
    cur.execute("update sync_tables set status = 'succeeded' where run_id = 5")
    cur.execute("insert into sync_passes (table_name, kind, started_at, first_load_id, position, completed_at) "
                "values ('projects_users', 'reconcile', now(), '1764500600.5', 11, now())")
    reconciled = [projects_user(pid, 100 + (pid + 1) // 2, 1 + pid % 3) for pid in (1, 2, 4)]
    reconciled += [projects_user(5, 103, 3, status="finished", final_mark=100, validated_p=True, marked_p=True,
                                 marked_at="2024-03-10T00:00:00Z", updated_at="2024-03-10T00:00:00Z")]
    reconciled += [projects_user(6, 101, 90, cursus_ids="[9]", status="finished", final_mark=100,
                                 validated_p=True, marked_p=True, marked_at="2023-09-30T12:00:00Z")]
    reconciled += [projects_user(pid, 104, pid) for pid in range(7, 11)] + [projects_user(11, 102, 2)]
    passes(6, "1764500600.5", {
        "projects_users": ("reconcile", reconciled),
        "achievements_users": ("incremental", []),  # a window that found nothing
        "cursus_users": ("full", [cursus_user(1000 + uid, uid, 3.5, SKILLS) for uid in (101, 102, 103, 106)]
                         + [cursus_user(1105, 105, 0, [], grade=None, blackholed_at=None)]),
    })
    ok, output, statuses = build(6, ["projects_users", "cursus_users", "achievements_users"], max_removed_share="0.5")
    assert ok, output
    ingested = dict(query("select id, ingested_at from projects_users"))
    assert sorted(ingested) == [1, 2, 4, 5, 6, 7, 8, 9, 10, 11], sorted(ingested)
    # Re-listed with the same values, a row is not rewritten: only the changed and the new move.
    assert sorted(pid for pid in ingested if ingested[pid] != backfilled.get(pid)) == [5, 11]
    assert query("select status, final_mark from projects_users where id = 5") == [("finished", 100)]
    assert sorted(u for (u,) in query("select user_id from achievements_users")) == [101, 102, 106]
    assert query("select count(*) from sync_tables where run_id = 6 and published_at is not null") == [(3,)]
    print("run 6 (reconcile: deleted row removed, changed row rewritten, a new enrolment's achievement): ok")

    def basis(run_id: int, table: str) -> str:
        return query(f"select basis from sync_tables where run_id = {run_id} and table_name = '{table}'")[0][0]

    # Run 7: nothing that decides the current sets moved (no pass completed, cursus_users not
    # listed): the anti-joins are skipped. A row planted in each mart that no listing holds
    # shows it: it stays. A changed row still comes through; user 107 (not enrolled) gets an
    # achievement that stays out.
    cur.execute("update sync_tables set status = 'succeeded' where run_id = 6")
    cur.execute("insert into projects_users select 12, user_id, login, project_id, project_slug, cursus_ids, status, "
                "final_mark, validated_p, occurrence, marked_p, marked_at, retriable_at, current_team_id, created_at, "
                "updated_at, ingested_at from projects_users where id = 11")
    cur.execute("insert into achievements_users select 3_999_999, achievement_id, user_id, login, nbr_of_success, "
                "created_at, updated_at, ingested_at from achievements_users where user_id = 101")
    passes(7, "1764500700.5", {
        "projects_users": ("incremental", [projects_user(2, 101, 3, status="finished", final_mark=80,
                                                         updated_at="2024-04-01T00:00:00Z")]),
        "achievements_users": ("backfill", [achievements_user(3_000_007, 107)]),
    })
    ok, output, statuses = build(7, BIG)
    assert ok, output
    assert basis(7, "projects_users") == basis(6, "projects_users") == "1764500600.5", basis(7, "projects_users")
    assert basis(7, "achievements_users") == basis(6, "achievements_users"), basis(7, "achievements_users")
    assert 12 in dict(query("select id, 1 from projects_users")), "removal ran with the basis unchanged"
    assert query("select final_mark from projects_users where id = 2") == [(80,)]
    assert sorted(i for (i,) in query("select id from achievements_users")) \
        == [3_000_000, 3_000_001, 3_000_002, 3_999_999]
    print("run 7 (basis unchanged: no anti-join, no removal; changed rows still written): ok")

    # Run 8: cursus_users is listed again, without 102 and with 107: achievements_users' basis
    # moves though its window lists nothing. 102's achievement and the planted row leave, 107's
    # (listed in run 7) joins. projects_users' basis did not move: its planted row stays.
    cur.execute("update sync_tables set status = 'succeeded' where run_id = 7")
    passes(8, "1764500800.5", {
        "projects_users": ("incremental", []),
        "achievements_users": ("incremental", []),
        "cursus_users": ("full", [cursus_user(1000 + uid, uid, 3.5, SKILLS) for uid in (101, 103, 106, 107)]
                         + [cursus_user(1105, 105, 0, [], grade=None, blackholed_at=None)]),
    })
    ok, output, statuses = build(8, ["projects_users", "cursus_users", "achievements_users"], max_removed_share="0.5")
    assert ok, output
    assert basis(8, "achievements_users") != basis(7, "achievements_users")
    assert sorted(i for (i,) in query("select id from achievements_users")) == [3_000_000, 3_000_002, 3_000_007]
    assert 12 in dict(query("select id, 1 from projects_users"))
    print("run 8 (the enrolments change: achievements_users' anti-joins run, projects_users' do not): ok")

    # Run 9: a reconcile pass of projects_users completes: its basis moves, the planted row
    # (which no pass saw) leaves.
    cur.execute("update sync_tables set status = 'succeeded' where run_id = 8")
    cur.execute("insert into sync_passes (table_name, kind, started_at, first_load_id, position, completed_at) "
                "values ('projects_users', 'reconcile', now(), '1764500900.5', 11, now())")
    relisted = [projects_user(pid, 100 + (pid + 1) // 2, 1 + pid % 3) for pid in (1, 4)]
    relisted += [projects_user(2, 101, 3, status="finished", final_mark=80, updated_at="2024-04-01T00:00:00Z")]
    relisted += [projects_user(5, 103, 3, status="finished", final_mark=100, validated_p=True, marked_p=True,
                               marked_at="2024-03-10T00:00:00Z", updated_at="2024-03-10T00:00:00Z")]
    relisted += [projects_user(6, 101, 90, cursus_ids="[9]", status="finished", final_mark=100,
                               validated_p=True, marked_p=True, marked_at="2023-09-30T12:00:00Z")]
    relisted += [projects_user(pid, 104, pid) for pid in range(7, 11)] + [projects_user(11, 102, 2)]
    passes(9, "1764500900.5", {"projects_users": ("reconcile", relisted)})
    before = dict(query("select id, ingested_at from projects_users"))
    ok, output, statuses = build(9, ["projects_users"], max_removed_share="0.5")
    assert ok, output
    assert basis(9, "projects_users") == "1764500900.5", basis(9, "projects_users")
    after = dict(query("select id, ingested_at from projects_users"))
    assert sorted(after) == [1, 2, 4, 5, 6, 7, 8, 9, 10, 11], sorted(after)
    assert all(after[pid] == before[pid] for pid in after), "a row listed unchanged was rewritten"
    print("run 9 (a pass completes: the row it did not see leaves, the others untouched): ok")


def time_at_scale(cur, query, build, rows: int) -> None:
    """projects_users at `rows` raw rows: a full build; 1 % of the rows changed under a new load
    id and an incremental build (the basis unchanged: no anti-join); then the same with a pass
    completing (the basis moves: the anti-joins and the whole data test run). Prints each build's
    time (dbt's own, and the whole `dbt build` process) and the ratios (the goal: at most 0.2)."""
    cur.execute(f"drop table projects_users; truncate {RAW}.projects_users; delete from sync_passes")
    cur.execute(f"""
        insert into {RAW}.projects_users
        select n, 100_000 + n / 50, 'login' || (100_000 + n / 50), 1 + n % 600, 'p' || (1 + n % 600),
            case when n % 10 = 0 then '[9]' else '[21]' end,
            case when n % 5 = 0 then 'in_progress' else 'finished' end,
            case when n % 5 = 0 then null else n % 126 end, case when n % 5 = 0 then null else n % 126 >= 50 end,
            n % 3, n % 5 <> 0, case when n % 5 <> 0 then timestamptz '2024-01-01' + n * interval '1 minute' end,
            null, 4_000_000 + n, timestamptz '2023-01-01' + n * interval '1 minute',
            timestamptz '2024-01-01' + n * interval '1 minute', '1764501000.5', 'row-' || n
        from generate_series(1, {rows}) as n""")
    cur.execute(f"analyze {RAW}.projects_users")
    cur.execute("insert into sync_passes (table_name, kind, started_at, first_load_id, position, completed_at) "
                "values ('projects_users', 'backfill', now(), '1764500950.5', %s, now())", (rows,))

    def timed(run_id: int, load_id: str) -> tuple[float, float]:
        """dbt's own time (run_results.json's elapsed_time) and the whole process's."""
        cur.execute("insert into sync_runs values (%s, 'incremental', 'running', %s, null)", (run_id, load_id))
        cur.execute("insert into sync_tables (run_id, table_name, mode, status, load_id) "
                    "values (%s, 'projects_users', 'reconcile', 'loaded', %s)", (run_id, load_id))
        started = time.monotonic()
        ok, output, _statuses, dbt_elapsed = build(run_id, ["projects_users"], elapsed=True)
        assert ok, output
        return dbt_elapsed, time.monotonic() - started

    def change_one_percent(load_id: str, remainder: int) -> None:
        """1 % of the rows change (a mark, a status), as an hour's windows and chunks would bring them."""
        cur.execute(f"""
            update {RAW}.projects_users set status = 'finished', final_mark = 100 - {remainder},
                validated_p = true, updated_at = now(), _dlt_load_id = '{load_id}'
            where id % 100 = {remainder}""")

    def changed_since(before) -> int:
        return query(f"select count(*) from projects_users where ingested_at > '{before.isoformat()}'")[0][0]

    full = timed(10, "1764501000.5")
    assert query("select count(*) from projects_users") == [(rows,)]
    change_one_percent("1764501100.5", 7)
    before = query("select max(ingested_at) from projects_users")[0][0]
    changed = timed(11, "1764501100.5")
    assert changed_since(before) == rows // 100, changed_since(before)
    # A reconcile pass completes that saw every row (its first load is the rows' oldest): the
    # basis moves, nothing leaves; the build pays for both anti-joins and the whole data test.
    change_one_percent("1764501200.5", 8)
    cur.execute("insert into sync_passes (table_name, kind, started_at, first_load_id, position, completed_at) "
                "values ('projects_users', 'reconcile', now(), '1764501000.5', %s, now())", (rows,))
    before = query("select max(ingested_at) from projects_users")[0][0]
    moved = timed(12, "1764501200.5")
    assert changed_since(before) == rows // 100, changed_since(before)
    print(f"scale ({rows:,} projects_users rows), dbt's time / whole dbt process:")
    print(f"  full build                          {full[0]:6.1f} s / {full[1]:6.1f} s")
    print(f"  1 % changed, basis unchanged        {changed[0]:6.1f} s / {changed[1]:6.1f} s, "
          f"ratio {changed[0] / full[0]:.2f} / {changed[1] / full[1]:.2f} (goal <= 0.2)")
    print(f"  1 % changed, a pass completed       {moved[0]:6.1f} s / {moved[1]:6.1f} s, "
          f"ratio {moved[0] / full[0]:.2f} / {moved[1] / full[1]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
