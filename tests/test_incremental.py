"""Incremental syncs, full reconciliation, the circuit breaker, users_history and sync_runs."""

from __future__ import annotations

import math
from urllib.parse import parse_qs, unquote, urlsplit

from helpers import api_truth, assert_synced, kill_sync_while_it_writes, table_bytes, users_table


def list_requests(emulator) -> list[str]:
    """The listing's pages (not the one-record request that sizes it)."""
    return [path for method, path, status in emulator.request_log
            if "/users" in path and "page[size]=1" not in unquote(path)]


def window_start(path: str) -> str:
    return parse_qs(urlsplit(path).query)["range[updated_at]"][0].split(",")[0]


def churn(emulator):
    """1 % of users change, a few become alumni, a few join and a few are deleted."""
    ids = sorted(u["id"] for u in emulator.matching_users())
    changed = ids[5::100]
    for n, user_id in enumerate(changed):
        emulator.update_user(user_id, wallet=9000 + n, location=f"c2r{n}s2", correction_point=n - 4)
    alumnized, dropped = ids[7:10], ids[-3:]
    for user_id in alumnized:
        emulator.alumnize(user_id)
    for user_id in dropped:
        emulator.remove_user(user_id)
    added = emulator.add_students(3)
    return changed, alumnized, added, dropped


def runs(project) -> list[dict]:
    columns = ["mode", "status", "api_requests", "rows_fetched", "inserted", "updated", "unchanged",
               "removed", "cursor_before", "cursor_after", "error"]
    rows = project.query(f"select {', '.join(columns)} from sync_runs order by run_id")
    return [dict(zip(columns, row)) for row in rows]


def test_incremental_sync_fetches_changes_only_and_full_reconciliation_catches_deletions(project):
    emulator = project.emulator
    assert_synced(project.sync())
    assert "Plan users: full (never listed on this database yet)" in project.log_text
    changed, alumnized, added, dropped = churn(emulator)
    emulator.reset_log()

    assert_synced(project.sync())
    assert "Plan users: incremental" in [line for line in project.log_text.splitlines() if "Plan users:" in line][-1]
    visible_changes = len(changed) + len(alumnized) + len(added)
    assert len(list_requests(emulator)) <= math.ceil(visible_changes / 100) + 2
    table, truth = users_table(project), api_truth(project)
    assert set(table) == set(truth) | set(dropped)  # a deletion shows only in a full listing
    assert all(table[uid] == truth[uid] for uid in [*changed, *added])
    assert not set(alumnized) & set(table)

    assert_synced(project.sync(FULL="1"))
    assert users_table(project) == api_truth(project)


def test_history_keeps_both_versions_of_changes_and_the_last_of_removed_users(project):
    emulator = project.emulator
    assert_synced(project.sync())
    old_wallets = dict(project.query("select id, wallet from users"))
    changed, alumnized, added, dropped = churn(emulator)
    assert_synced(project.sync())
    assert_synced(project.sync(FULL="1"))

    history = {}
    for user_id, wallet, valid_to in project.query(
            "select id, wallet, dbt_valid_to from users_history order by id, dbt_valid_from"):
        history.setdefault(user_id, []).append((wallet, valid_to is None))
    truth = {u["id"]: u for u in emulator.matching_users()}
    for user_id in changed:
        assert history[user_id] == [(old_wallets[user_id], False), (truth[user_id]["wallet"], True)]
    for user_id in [*alumnized, *dropped]:
        assert history[user_id] == [(old_wallets[user_id], False)]
    for user_id in added:
        assert history[user_id] == [(truth[user_id]["wallet"], True)]


def test_a_killed_run_leaves_the_cursor_and_the_next_run_refetches_its_window(project):
    emulator = project.emulator
    assert_synced(project.sync())
    changed, *_ = churn(emulator)
    assert_synced(project.sync())
    emulator.reset_log()
    assert_synced(project.sync())
    (last_good_window,) = {window_start(p) for p in list_requests(emulator)}
    emulator.update_user(changed[0], wallet=1)

    emulator.reset_log()
    kill_sync_while_it_writes(project, "public.users")  # inside dbt, after the fetch
    (killed_window,) = {window_start(p) for p in list_requests(emulator)}

    emulator.reset_log()
    assert_synced(project.sync())
    (rerun_window,) = {window_start(p) for p in list_requests(emulator)}
    assert killed_window == rerun_window != last_good_window
    assert users_table(project)[changed[0]] == api_truth(project)[changed[0]]
    assert [r["status"] for r in runs(project)][-2:] == ["interrupted", "succeeded"]


def test_the_circuit_breaker_refuses_to_empty_half_the_table(project):
    emulator = project.emulator
    assert_synced(project.sync())
    before = table_bytes(project)
    ids = sorted(u["id"] for u in emulator.matching_users())
    for user_id in ids[::2]:  # the API "forgets" half the students
        emulator.remove_user(user_id)

    tripped = project.sync(FULL="1")
    assert tripped.returncode != 0
    (message,) = [line for line in tripped.stderr.splitlines() if "Update failed" in line]
    assert f"circuit breaker: this run would remove {len(ids[::2])} of {len(ids)} users" in message
    assert "make sync TABLES=users FULL=1 MAX_REMOVED_SHARE=1" in message
    assert table_bytes(project) == before

    assert_synced(project.sync(FULL="1", MAX_REMOVED_SHARE="1"))
    assert users_table(project) == api_truth(project)


def test_sync_runs_records_every_run_and_the_old_metadata_files(project):
    emulator = project.emulator
    emulator.reset_log()
    assert_synced(project.sync())
    first_requests = len(emulator.request_log)
    changed, alumnized, added, dropped = churn(emulator)
    assert_synced(project.sync())
    emulator.down_after = 0
    assert project.sync(RUNTIME__REQUEST_MAX_ATTEMPTS="1").returncode != 0
    emulator.down_after = None
    assert_synced(project.sync(FULL_SYNC_MAX_AGE_HOURS="0"))  # the last full is "too old"

    full, incremental, failed, refresh = runs(project)
    students = len(emulator.matching_users()) + len(dropped)
    assert full | {"mode": "full", "status": "succeeded", "api_requests": first_requests,
                   "rows_fetched": 1234, "inserted": 1234, "updated": 0, "unchanged": 0,
                   "removed": 0, "cursor_before": None, "error": None} == full
    assert incremental | {"mode": "incremental", "status": "succeeded", "inserted": len(added),
                          "updated": len(changed), "removed": len(alumnized),
                          "unchanged": students - len(added) - len(changed),
                          "rows_fetched": len(changed) + len(alumnized) + len(added)} == incremental
    assert incremental["cursor_before"] < full["cursor_after"] <= incremental["cursor_after"]
    assert failed["status"] == "failed" and failed["cursor_after"] is None
    assert "users: planning failed" in failed["error"]
    assert refresh["mode"] == "full" and refresh["removed"] == len(dropped)

    exports = project.workdir / "exports"
    stats = dict(line.split("=", 1) for line in (exports / ".last_fetch_stats").read_text().splitlines())
    assert stats["mode"] == "full" and stats["items_merged"] == str(len(emulator.matching_users()))
    assert (exports / ".last_fetch_epoch").read_text().strip() == stats["timestamp"]
