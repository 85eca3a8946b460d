"""The emulator's rest of a cursus (cursus_users, projects, achievements, coalitions and their
per-user rows), exercised over real HTTP on loopback the way the sync will read it."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `scripts` is then importable as a namespace package

from scripts.ft42_emulator import USER_KEYS, Emulator  # noqa: E402

LATER = "2026-01-01T00:00:00Z"      # after every generated timestamp: only changes match
ITEM_KEYS = {
    "cursus_users": ["id", "begin_at", "end_at", "grade", "level", "skills", "cursus_id", "has_coalition",
                     "blackholed_at", "created_at", "updated_at", "user", "cursus"],
    "projects": ["id", "name", "slug", "difficulty", "parent", "children", "created_at", "updated_at", "exam",
                 "git_id", "repository", "recommendation", "cursus", "campus", "videos", "project_sessions"],
    "projects_users": ["id", "occurrence", "final_mark", "status", "validated?", "current_team_id", "project",
                       "cursus_ids", "marked_at", "marked", "retriable_at", "created_at", "updated_at", "user",
                       "teams"],
    "achievements": ["id", "name", "description", "tier", "kind", "visible", "image", "nbr_of_success",
                     "users_url", "achievements", "campus", "parent", "title"],
    "achievements_users": ["id", "achievement_id", "user_id", "login", "url", "nbr_of_success", "created_at",
                           "updated_at"],
    "coalitions": ["id", "name", "slug", "image_url", "cover_url", "color", "score", "user_id"],
    "coalitions_users": ["id", "coalition_id", "user_id", "score", "rank", "created_at", "updated_at"],
}
# The route the sync reads for each resource, and the filter that route implies for listing().
ROUTES = {
    "cursus_users": ("/v2/cursus/21/cursus_users", {}),
    "projects": ("/v2/cursus/21/projects", {}),
    "projects_users": ("/v2/projects_users", {"filter[cursus]": "21"}),
    "achievements": ("/v2/achievements", {}),
    "achievements_users": ("/v2/achievements_users", {}),
    "coalitions": ("/v2/coalitions", {}),
    "coalitions_users": ("/v2/coalitions_users", {}),
}


class Client:
    def __init__(self, emu: Emulator):
        self.emu = emu
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "ft42-emulator-tests/1.0"
        reply = self.http.post(emu.url + "/oauth/token", timeout=5, data={
            "grant_type": "client_credentials", "client_id": emu.client_id,
            "client_secret": emu.client_secret})
        self.http.headers["Authorization"] = "Bearer " + reply.json()["access_token"]

    def get(self, path: str, params=None) -> requests.Response:
        return self.http.get(self.emu.url + path, params=params, timeout=10)

    def items(self, path: str, params=None) -> list[dict]:
        reply = self.get(path, params)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def keyset(self, path: str, params: dict) -> list[dict]:
        """Every item, by ``range[id]=<after last>,&sort=id`` pages of 100 (how the sync reads)."""
        rows, low = [], ""
        while True:
            page = self.items(path, {**params, "sort": "id", "per_page": 100, "range[id]": f"{low},"})
            rows += page
            if len(page) < 100:
                return rows
            low = page[-1]["id"] + 1


def ids(rows) -> list[int]:
    return [r["id"] for r in rows]


@pytest.fixture(scope="module")
def shared():
    """One read-only emulator for the tests that change nothing."""
    with Emulator(students=150, seed=11) as emu:
        yield emu, Client(emu)


@pytest.fixture
def fresh():
    """An emulator of its own, for tests that change things."""
    with Emulator(students=120, seed=5) as emu:
        yield emu, Client(emu)


# ----------------------------------------------------------------------------- shapes and volumes


@pytest.mark.parametrize("resource", ROUTES)
def test_each_route_pages_with_headers_links_and_item_keys(shared, resource):
    emu, client = shared
    path, params = ROUTES[resource]
    total = sum(1 for _ in emu.listing(resource))
    first = client.get(path, {**params, "per_page": 7})
    assert first.status_code == 200
    assert first.headers["Content-Type"] == "application/json; charset=utf-8"
    assert (first.headers["X-Page"], first.headers["X-Per-Page"], first.headers["X-Total"]) == \
        ("1", "7", str(total))
    assert first.headers["X-Hourly-RateLimit-Limit"] and first.headers["X-Secondly-RateLimit-Remaining"]
    assert set(first.links) == {"next", "last"}
    assert first.links["last"]["url"].endswith(f"page={-(-total // 7)}")
    items = first.json()
    assert len(items) == 7 and all(list(item) == ITEM_KEYS[resource] for item in items)

    second = client.http.get(first.links["next"]["url"], timeout=5)
    assert second.headers["X-Page"] == "2" and set(second.links) == {"first", "prev", "next", "last"}
    assert not set(ids(items)) & set(ids(second.json()))
    beyond = client.get(path, {**params, "per_page": 100, "page": total // 100 + 2})
    assert beyond.status_code == 200 and beyond.json() == []
    clamped = client.get(path, {**params, "page[size]": 500})
    assert clamped.headers["X-Per-Page"] == "100" and len(clamped.json()) == min(100, total)


@pytest.mark.parametrize("resource", ROUTES)
def test_keyset_and_offset_pages_list_exactly_the_truth(shared, resource):
    emu, client = shared
    path, params = ROUTES[resource]
    truth = list(emu.listing(resource))
    assert truth and ids(truth) == sorted(set(ids(truth)))
    assert client.keyset(path, params) == truth

    total = len(truth)
    newest_first = []
    for page in range(1, total // 100 + 2):
        newest_first += client.items(path, {**params, "per_page": 100, "page": page})
    assert sorted(ids(newest_first)) == ids(truth)            # offset pages: all, no repeats
    if resource != "cursus_users":
        assert ids(newest_first) == ids(truth)[::-1]          # default order: id descending

    low, high = truth[len(truth) // 3]["id"], truth[len(truth) // 2]["id"]
    window = client.get(path, {**params, "range[id]": f"{low},{high}", "sort": "-id", "per_page": 100})
    inside = [i for i in ids(truth) if low <= i <= high]
    assert window.headers["X-Total"] == str(len(inside))
    assert ids(window.json()) == inside[::-1][:100]


def test_volumes_and_id_spaces(shared):
    emu, client = shared
    listed = {name: ids(emu.listing(name, **({"cursus_id": None} if name == "projects" else {})))
              for name in ROUTES}
    counts = {name: len(found) for name, found in listed.items()}
    users = len(emu.users)
    assert counts["cursus_users"] == users                     # every kind, alumni and staff included
    assert (counts["projects"], counts["achievements"], counts["coalitions"]) == (620, 1150, 350)
    assert 40 * users < counts["projects_users"] < 60 * users
    assert 15 * users < counts["achievements_users"] < 25 * users
    assert 1.0 * users < counts["coalitions_users"] < 1.2 * users
    assert int(client.get("/v2/cursus/21/projects", {"per_page": 1}).headers["X-Total"]) == 530
    assert int(client.get("/v2/cursus/9/projects", {"per_page": 1}).headers["X-Total"]) == 90

    id_ranges = {name: (found[0], found[-1]) for name, found in listed.items()}
    spans = sorted(id_ranges.values())
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:])), id_ranges   # no id shared by two resources


def test_nested_objects_and_every_kind_of_user(shared):
    emu, client = shared
    rows = list(emu.listing("cursus_users"))
    by_user = {r["user"]["id"]: r for r in rows}
    assert set(by_user) == set(emu.users)
    kinds = {(r["user"]["kind"], r["user"]["alumni?"]) for r in rows}
    assert {("student", False), ("student", True)} <= kinds and kinds & {("admin", False), ("external", False)}
    listed_users = {u["id"]: u for u in client.items("/v2/users", {"per_page": 100})}
    for uid, user in listed_users.items():
        assert by_user[uid]["user"] == user and list(user) == list(USER_KEYS)
    assert all(r["cursus"] == {"id": 21, "created_at": r["cursus"]["created_at"], "name": "42cursus",
                               "slug": "42cursus", "kind": "main"} for r in rows)
    assert all(isinstance(r["level"], float) and r["cursus_id"] == 21 for r in rows)
    assert {r["grade"] for r in rows} >= {None, "Learner", "Member"}
    assert any(r["skills"] and set(r["skills"][0]) == {"id", "name", "level"} for r in rows)
    assert any(r["blackholed_at"] for r in rows) and any(r["end_at"] for r in rows)

    projects_users = client.items("/v2/projects_users", {"filter[cursus]": "21", "per_page": 100})
    assert all(set(p["project"]) == {"id", "name", "slug", "parent_id"} for p in projects_users)
    assert all(list(p["user"]) == list(USER_KEYS) for p in projects_users)
    cursus_ids = {tuple(p["cursus_ids"]) for p in emu.listing("projects_users")}
    assert cursus_ids == {(21,), (9,)}                          # piscine projects come with cursus 21
    projects = client.items("/v2/projects", {"per_page": 100, "sort": "id"})
    assert any(p["parent"] and set(p["parent"]) == {"id", "name", "slug", "url"} for p in
               emu.listing("projects", cursus_id=None))
    assert all(isinstance(p["exam"], bool) and isinstance(p["difficulty"], int) for p in projects)
    achievement = client.items("/v2/achievements_users", {"per_page": 1})[0]
    assert achievement["login"] == emu.users[achievement["user_id"]]["login"]


def test_same_seed_same_items():
    with Emulator(students=60, seed=3) as a, Emulator(students=60, seed=3) as b:
        for name in ROUTES:
            assert list(a.listing(name)) == list(b.listing(name))
        other = Emulator(students=60, seed=4)
        assert list(other.listing("projects_users")) != list(a.listing("projects_users"))


# ----------------------------------------------------------------------------- filters and sort


def test_filters_the_sync_sends_narrow_and_unknown_filters_are_ignored(shared):
    emu, client = shared
    everything = int(client.get("/v2/projects_users", {"per_page": 1}).headers["X-Total"])
    someone = next(iter(emu.listing("projects_users")))["user"]["id"]
    mine = client.items("/v2/projects_users", {"filter[user_id]": someone, "per_page": 100})
    assert mine and {p["user"]["id"] for p in mine} == {someone}
    assert ids(mine) == sorted(ids(emu.listing("projects_users", user_id=someone)), reverse=True)
    assert client.items(f"/v2/users/{someone}/projects_users", {"per_page": 100}) == mine

    piscine_people = client.get("/v2/projects_users", {"filter[cursus]": "9", "per_page": 1})
    assert int(piscine_people.headers["X-Total"]) == 0          # nobody is enrolled in the piscine
    ignored = client.get("/v2/projects_users", {"filter[cursus_id]": "9", "filter[shoe_size]": "42",
                                                "per_page": 1})
    assert ignored.status_code == 200 and int(ignored.headers["X-Total"]) == everything
    coalitions = client.get("/v2/coalitions", {"filter[campus_id]": "12", "per_page": 1})
    assert coalitions.status_code == 200 and coalitions.headers["X-Total"] == "350"
    assert client.get("/v2/projects_users", {"sort": "-shoe_size"}).json()["error"] == "Sort Error"
    assert client.get("/v2/cursus/21/cursus_users", {"sort": "kind"}).status_code == 400

    finished = client.get("/v2/projects_users", {"filter[status]": "finished", "filter[marked]": "true",
                                                 "per_page": 100})
    assert 0 < int(finished.headers["X-Total"]) < everything
    assert all(p["status"] == "finished" and p["marked"] for p in finished.json())

    stamp = next(iter(emu.listing("cursus_users")))["updated_at"]
    exact = client.items("/v2/cursus/21/cursus_users", {"range[updated_at]": f"{stamp},{stamp}"})
    assert exact and all(r["updated_at"] == stamp for r in exact)
    members = client.get("/v2/cursus/21/cursus_users", {"filter[grade]": "Member", "per_page": 100})
    assert all(r["grade"] == "Member" for r in members.json())
    assert 0 < int(members.headers["X-Total"]) < len(emu.users)
    assert client.get("/v2/cursus/21/cursus_users", {"range[level]": "5,", "filter[has_coalition]": "true",
                                                     "per_page": 1}).headers["X-Total"] != str(len(emu.users))
    assert client.get("/v2/cursus/9/cursus_users").json() == []
    assert client.get("/v2/coalitions_users", {"range[updated_at]": f"{LATER},"}).json() == []


def test_cursus_users_default_order_is_created_at_then_id_descending(shared):
    emu, client = shared
    rows = []
    for page in (1, 2, 3):
        rows += client.items("/v2/cursus/21/cursus_users", {"per_page": 100, "page": page})
    keys = [(r["created_at"], r["id"]) for r in rows]
    assert keys == sorted(keys, reverse=True) and len(rows) == len(emu.users)
    by_level = client.items("/v2/cursus/21/cursus_users", {"sort": "-level,id", "per_page": 100})
    levels = [r["level"] for r in by_level]
    assert levels == sorted(levels, reverse=True)


# ----------------------------------------------------------------------------- quirks and mutations


def test_cursus_users_updated_at_ignores_level_skills_and_blackhole(fresh):
    emu, client = fresh
    row = next(iter(emu.listing("cursus_users")))
    changes = {"range[updated_at]": f"{LATER},", "sort": "id", "per_page": 100}
    skills = [{"id": 4, "name": "Unix", "level": 3.5}]
    changed = emu.set_level(row["id"], 7.42, skills=skills, blackholed_at="2027-03-01T00:00:00Z")
    assert (changed["level"], changed["skills"], changed["blackholed_at"]) == \
        (7.42, skills, "2027-03-01T00:00:00.000Z")
    assert changed["updated_at"] == row["updated_at"]
    assert client.items("/v2/cursus/21/cursus_users", changes) == []      # range[updated_at] misses it
    listed = client.items("/v2/cursus/21/cursus_users", {"filter[id]": row["id"]})
    assert listed == [changed]                                             # a full listing sees it

    graded = emu.update_cursus_user(row["id"], grade="Member")
    assert graded["updated_at"] > row["updated_at"] and graded["level"] == 7.42
    assert client.items("/v2/cursus/21/cursus_users", changes) == [graded]
    ended = emu.update_cursus_user(next(iter(emu.listing("cursus_users", user_id=max(emu.users))))["id"],
                                   end_at="2026-02-01T00:00:00Z")
    assert ids(client.items("/v2/cursus/21/cursus_users", changes)) == sorted([row["id"], ended["id"]])


def test_a_replaced_projects_user_vanishes_and_comes_back_with_a_higher_id(fresh):
    emu, client = fresh
    before = list(emu.listing("projects_users"))
    old = before[len(before) // 2]
    new = emu.replace_projects_user(old["id"])
    assert new["id"] > before[-1]["id"]
    assert (new["project"], new["user"]["id"], new["occurrence"]) == \
        (old["project"], old["user"]["id"], old["occurrence"] + 1)

    after = client.keyset("/v2/projects_users", {"filter[cursus]": "21"})
    assert old["id"] not in ids(after) and ids(after)[-1] == new["id"]
    assert len(after) == len(before) and after == list(emu.listing("projects_users"))
    changed = client.items("/v2/projects_users", {"filter[cursus]": "21", "range[updated_at]": f"{LATER},"})
    assert changed == [new]                                    # the deletion shows nowhere
    assert client.items("/v2/projects_users", {"filter[id]": old["id"]}) == []

    updated = emu.update_projects_user(before[0]["id"], status="finished", final_mark=101)
    assert updated["updated_at"] > before[0]["updated_at"] and updated["final_mark"] == 101
    emu.delete_projects_user(before[1]["id"])
    changed = client.items("/v2/projects_users", {"filter[cursus]": "21", "range[updated_at]": f"{LATER},",
                                                  "sort": "id"})
    assert ids(changed) == [before[0]["id"], new["id"]]
    assert before[1]["id"] not in ids(client.keyset("/v2/projects_users", {"filter[cursus]": "21"}))


def test_planned_and_scanned_listings_agree_after_every_kind_of_change(fresh):
    """Keyset pages are found by position; a filter that excludes nothing forces a full scan."""
    emu, client = fresh
    rows = list(emu.listing("projects_users"))
    for row in rows[::37]:
        emu.replace_projects_user(row["id"])
    for row in rows[18::37]:
        emu.delete_projects_user(row["id"])
    emu.remove_user(rows[-1]["user"]["id"])
    emu.unenrol(next(iter(emu.listing("cursus_users", user_id=rows[300]["user"]["id"])))["id"])
    emu.add_projects_user(min(emu.users), rows[0]["project"]["id"])
    scan = {"filter[occurrence]": "0,1,2,3,4,5"}
    for base in ({}, {"filter[cursus]": "21"}):
        for window in ({}, {"range[id]": f"{rows[100]['id']},{rows[2000]['id']}"}):
            params = {**base, **window, "per_page": 100}
            for sort in ("id", "-id"):
                walked = client.get("/v2/projects_users", {**params, "sort": sort, "page": 3})
                scanned = client.get("/v2/projects_users", {**params, **scan, "sort": sort, "page": 3})
                assert walked.headers["X-Total"] == scanned.headers["X-Total"]
                assert walked.json() == scanned.json()


def test_time_windows_inside_the_generated_history_match_the_truth(fresh):
    emu, client = fresh
    rows = list(emu.listing("projects_users"))
    dormant = min(rows, key=lambda r: r["updated_at"])      # its user was last active long ago
    emu.update_projects_user(dormant["id"], final_mark=77)
    rows = list(emu.listing("projects_users"))
    low = sorted(r["updated_at"] for r in rows)[len(rows) * 9 // 10]
    recent = client.keyset("/v2/projects_users", {"filter[cursus]": "21", "range[updated_at]": f"{low},"})
    assert recent == [r for r in rows if r["updated_at"] >= low] and dormant["id"] in ids(recent)

    earned = list(emu.listing("achievements_users"))
    since = sorted(r["created_at"] for r in earned)[len(earned) // 2]
    window = client.keyset("/v2/achievements_users", {"range[created_at]": f"{since},2025-11-15T00:00:00Z"})
    assert window == [r for r in earned if since <= r["created_at"] <= "2025-11-15T00:00:00.000Z"]
    assert window


def test_unenrol_and_enrol_move_a_user_out_of_and_into_the_cursus(fresh):
    emu, client = fresh
    uid = sorted(emu.users)[10]
    cursus_user = next(iter(emu.listing("cursus_users", user_id=uid)))
    everything = int(client.get("/v2/projects_users", {"per_page": 1}).headers["X-Total"])
    in_cursus = int(client.get("/v2/projects_users", {"filter[cursus]": "21", "per_page": 1}).headers["X-Total"])
    assert everything == in_cursus
    own = sum(1 for _ in emu.listing("projects_users", user_id=uid))

    emu.unenrol(cursus_user["id"])
    assert cursus_user["id"] not in ids(emu.listing("cursus_users"))
    assert uid not in ids(client.keyset("/v2/cursus/21/users", {}))
    assert int(client.get("/v2/projects_users", {"filter[cursus]": "21", "per_page": 1})
               .headers["X-Total"]) == in_cursus - own               # filter[cursus] narrows
    assert int(client.get("/v2/projects_users", {"per_page": 1}).headers["X-Total"]) == everything

    again = emu.enrol(uid)
    assert again["id"] > cursus_user["id"] and again["user"]["id"] == uid
    assert uid in ids(client.keyset("/v2/cursus/21/users", {}))
    added = emu.add_students(1)[0]
    assert ids(emu.listing("cursus_users"))[-2:] == [again["id"], again["id"] + 1]
    assert next(iter(emu.listing("cursus_users", user_id=added)))["user"]["id"] == added


def test_coalition_and_achievement_changes(fresh):
    emu, client = fresh
    coalition = next(iter(emu.listing("coalitions")))
    emu.set_coalition_score(coalition["id"], 123456)
    assert client.items("/v2/coalitions", {"filter[id]": coalition["id"]})[0]["score"] == 123456

    member = next(iter(emu.listing("coalitions_users")))
    scored = emu.set_coalitions_user_score(member["id"], 4242)
    assert scored["updated_at"] > member["updated_at"]
    joined = emu.add_coalitions_user(member["user_id"], coalition["id"])
    changed = client.items("/v2/coalitions_users", {"range[updated_at]": f"{LATER},", "sort": "id"})
    assert changed == [scored, joined]
    emu.remove_coalitions_user(member["id"])
    assert member["id"] not in ids(client.keyset("/v2/coalitions_users", {}))
    assert ids(client.items(f"/v2/coalitions/{coalition['id']}/coalitions_users", {"per_page": 100}))[0] == \
        joined["id"]

    earned = emu.add_achievements_user(member["user_id"], next(iter(emu.listing("achievements")))["id"])
    assert earned["login"] == emu.users[member["user_id"]]["login"]
    assert client.items("/v2/achievements_users", {"range[updated_at]": f"{LATER},"}) == [earned]
    emu.remove_achievements_user(earned["id"])
    assert client.items("/v2/achievements_users", {"range[updated_at]": f"{LATER},"}) == []


# ----------------------------------------------------------------------------- shared machinery


def test_rate_limits_faults_and_hooks_apply_to_every_route():
    seen = []
    with Emulator(students=30, rate_per_hour=3, retry_after="auto", fail_every_nth_5xx=2,
                  on_list_request=lambda emu, page: seen.append(page)) as emu:
        client = Client(emu)
        first = client.get("/v2/projects_users", {"page": 2})
        failed = client.get("/v2/cursus/21/cursus_users")
        assert first.status_code == 200 and first.headers["X-Hourly-RateLimit-Remaining"] == "2"
        assert failed.status_code in (500, 502, 503) and failed.headers["Content-Type"] == "text/html"
        emu.fail_every_nth_5xx = 0
        assert client.get("/v2/coalitions").status_code == 200
        limited = client.get("/v2/achievements_users")
        assert limited.status_code == 429 and limited.text == "429 Too Many Requests (Spam Rate Limit Exceeded)"
        assert int(limited.headers["Retry-After"]) > 60                      # the hourly window is full

        emu.next_hour()
        fresh_hour = client.get("/v2/achievements")
        assert fresh_hour.status_code == 200 and fresh_hour.headers["X-Hourly-RateLimit-Remaining"] == "2"
        assert seen == [2, 1, 1]                                             # hooks run for listed pages
        assert [status for _, path, status in emu.request_log if path.startswith("/v2/")] == \
            [200, failed.status_code, 200, 429, 200]


def test_full_size_starts_fast_small_and_serves_keyset_pages_in_milliseconds():
    script = textwrap.dedent("""
        import json, resource, sys, time
        sys.path.insert(0, sys.argv[1])
        started = time.perf_counter()
        from scripts.ft42_emulator import Emulator
        emu = Emulator(students=40335)
        start_s = time.perf_counter() - started
        from scripts.ft42_emulator.routes import match_route
        match, route = match_route("/v2/projects_users")
        query = "filter[cursus]=21&sort=id&per_page=100&range[id]=%d,%d"
        route.page(emu, route.parse(match, query % (21_000_000, 22_000_000)))   # plans the listing
        started = time.perf_counter()
        body, total = route.page(emu, route.parse(match, query % (21_500_000, 21_600_000)))
        page_ms = (time.perf_counter() - started) * 1000
        for item in json.loads(body)[::2]:
            emu.update_projects_user(item["id"], status="finished")
        started = time.perf_counter()
        changed, _ = route.page(emu, route.parse(
            match, "filter[cursus]=21&sort=id&per_page=100&range[updated_at]=2026-01-01T00:00:00Z,"))
        changes_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        last_hour, _ = route.page(emu, route.parse(
            match, "filter[cursus]=21&sort=id&per_page=100&range[updated_at]=2025-11-30T23:00:00Z,"))
        last_hour_ms = (time.perf_counter() - started) * 1000
        counts = emu.resource_counts()
        print(json.dumps({"start_s": start_s, "page_ms": page_ms, "items": len(json.loads(body)),
                          "changes_ms": changes_ms, "changed": len(json.loads(changed)),
                          "last_hour_ms": last_hour_ms, "last_hour": len(json.loads(last_hour)),
                          "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                          "projects_users": counts["projects_users"],
                          "achievements_users": counts["achievements_users"]}))
    """)
    out = subprocess.run([sys.executable, "-c", script, str(ROOT)], capture_output=True, text=True,
                         timeout=120, check=True)
    measured = json.loads(out.stdout)
    assert measured["items"] == 100
    assert 1_900_000 < measured["projects_users"] < 2_200_000
    assert 750_000 < measured["achievements_users"] < 900_000
    assert measured["rss_mb"] < 500, measured
    assert measured["start_s"] < 15 and measured["page_ms"] < 100, measured
    assert measured["changed"] == 50 and measured["changes_ms"] < 1000, measured   # not a scan of 2M rows
    assert measured["last_hour"] > 50 and measured["last_hour_ms"] < 2000, measured  # only the active users


def test_nested_routes_narrow_to_their_path_id(shared):
    emu, client = shared
    member = next(iter(emu.listing("coalitions_users")))
    project_user = next(iter(emu.listing("projects_users")))
    uid = project_user["user"]["id"]
    coalitions = list(emu.listing("coalitions"))
    cases = {
        f"/v2/users/{uid}/cursus_users": lambda r: r["user"]["id"] == uid,
        f"/v2/users/{uid}/projects_users": lambda r: r["user"]["id"] == uid,
        f"/v2/projects/{project_user['project']['id']}/projects_users":
            lambda r: r["project"]["id"] == project_user["project"]["id"],
        f"/v2/users/{member['user_id']}/coalitions_users": lambda r: r["user_id"] == member["user_id"],
        f"/v2/coalitions/{member['coalition_id']}/coalitions_users":
            lambda r: r["coalition_id"] == member["coalition_id"],
        "/v2/cursus/9/projects": lambda r: r["cursus"][0]["id"] == 9,
    }
    for path, belongs in cases.items():
        rows = client.keyset(path, {})
        assert rows and all(belongs(r) for r in rows), path
    assert len(client.keyset("/v2/cursus/21/achievements", {})) == 1150
    assert client.keyset("/v2/cursus/42/achievements", {}) == []
    bloc = client.keyset("/v2/blocs/100/coalitions", {})
    assert ids(bloc) == ids(coalitions[:4])


def test_small_pages_are_not_held_back_by_delayed_acks(shared):
    emu, client = shared
    timings = []
    for _ in range(15):
        started = time.perf_counter()
        reply = client.get("/v2/achievements_users", {"per_page": 100})
        assert reply.status_code == 200 and len(reply.json()) == 100
        timings.append(time.perf_counter() - started)
    assert sorted(timings)[len(timings) // 2] < 0.030, timings
