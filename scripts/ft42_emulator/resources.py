"""The rest of a cursus as part of the ``Emulator`` (a mixin): tables, pages, mutations, truth.

Every method takes the emulator's lock. Mutations stamp ``updated_at`` with the emulator's clock
(later than anything handed out so far) except where the real API does not move it.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from .catalog import CURSUS, MAIN_CURSUS_ID, generate_achievements, generate_coalitions, generate_projects
from .cursus import FIRST_ID, CursusRows, FastRandom, Population
from .query import ListQuery
from .resource_query import TS, filter_value, normalise_ts
from .specs import SPECS
from .tables import BlockTable, DictTable
from .users import DATA_END_MS, iso_ms, json_bytes

USER_MARK = "\x00user"                   # stands in for the nested user until it is spliced in
USER_MARK_JSON = json_bytes(USER_MARK)
KEEP = object()                          # "leave this field as it is"
FIXED_FIELDS = frozenset({"id", "user_id", "cursus_id", "created_at", "user", "cursus", "project"})
# What ``listing`` filters on by default: the route the sync reads.
DEFAULT_LISTING_FILTERS = {"cursus_users": {"cursus_id": MAIN_CURSUS_ID},
                           "projects": {"cursus_id": MAIN_CURSUS_ID},
                           "projects_users": {"cursus": MAIN_CURSUS_ID}}


class CursusResources:
    """cursus_users, projects, achievements, coalitions and their per-user rows.

    Needs from its host: ``seed``, ``users``, ``version``, ``_lock``, ``_now_ms``, ``_user_json``,
    ``_selection_cache`` and ``_rates``.
    """

    def _init_resources(self) -> None:
        projects = generate_projects(self.seed)
        achievements = generate_achievements(self.seed)
        coalitions = generate_coalitions(self.seed, sorted(self.users))
        rows = CursusRows(self.seed, Population(self.users), projects, achievements, coalitions)
        self._rows = rows
        self._left_main: set[int] = set()    # users whose cursus 21 enrolment was removed
        self.tables: dict[str, DictTable | BlockTable] = {
            "projects": DictTable(SPECS["projects"], projects),
            "achievements": DictTable(SPECS["achievements"], achievements),
            "coalitions": DictTable(SPECS["coalitions"], coalitions),
        }
        user_fields = {"cursus_users": {"campus_id"}, "projects_users": {"cursus", "campus"}}
        for name in FIRST_ID:
            counts, firsts = rows.layouts[name]
            self.tables[name] = BlockTable(
                SPECS[name], rows.pop.ids, counts, firsts, getattr(rows, name), users=self.users,
                user_filter=self._user_filter, user_fields=frozenset(user_fields.get(name, ())),
                constants={"cursus_id": MAIN_CURSUS_ID} if name == "cursus_users" else None,
                active_until=rows.active_until, created_follows_id=name == "cursus_users")
        self._mutation_rng = FastRandom(self.seed ^ 0xC0FFEE)

    # ------------------------------------------------------------ listing

    def resource_page(self, name: str, query: ListQuery) -> tuple[bytes, int]:
        """(JSON body, total item count) for one page of a resource listing."""
        with self._lock:
            selection = self._select(name, query)
            start = (query.page - 1) * query.per_page
            table = self.tables[name]
            items = [self._render(table, table.row(i)) for i in selection.ids(start, start + query.per_page)]
            return b"[" + b",".join(items) + b"]", selection.total

    def listing(self, name: str, **filters: Any) -> Iterator[dict]:
        """Exactly the items a complete listing returns, id ascending, streamed page by page.

        Filters default to the sync's route (cursus 21 where the resource has one); pass e.g.
        ``cursus_id=None`` to drop one, or other documented filters (``user_id=...``).
        """
        spec = SPECS[name]
        wanted = {**DEFAULT_LISTING_FILTERS.get(name, {}), **filters}
        query_filters = tuple(sorted(
            (field, frozenset(filter_value(spec.types[field], str(v)) for v in
                              (value if isinstance(value, (list, tuple, set)) else [value])))
            for field, value in wanted.items() if value is not None))
        query = ListQuery(filters=query_filters, sort=(("id", False),))
        start, step = 0, 1000
        while True:
            with self._lock:
                selection = self._select(name, query)
                table = self.tables[name]
                chunk = [json.loads(self._render(table, table.row(i)))
                         for i in selection.ids(start, start + step)]
            yield from chunk
            if len(chunk) < step:
                return
            start += step

    def resource_item(self, name: str, item_id: int) -> dict | None:
        """One item as the API shows it, or None."""
        with self._lock:
            table = self.tables[name]
            row = table.row(item_id)
            return None if row is None else json.loads(self._render(table, row))

    def _select(self, name: str, query: ListQuery):
        table = self.tables[name]
        if isinstance(table, DictTable):
            return table.select(query)
        # Enrolment (cursus_users) decides filter[cursus] of the other tables.
        return table.select(query, (self.version, self.tables["cursus_users"].version))

    def _render(self, table, row: dict) -> bytes:
        item = {}
        for key in table.spec.keys:
            if key == "user":
                item[key] = USER_MARK
            elif key == "login":
                item[key] = self.users[row["user_id"]]["login"]
            else:
                item[key] = row[key]
        data = json_bytes(item)
        if "user" in item:
            data = data.replace(USER_MARK_JSON, self._user_json(row["user_id"]), 1)
        return data

    def _user_filter(self, field: str, values: frozenset) -> Callable[[int], bool]:
        """Conditions on the owner rather than the row: campus, and enrolment (``cursus``)."""
        wanted = {int(v) for v in values if isinstance(v, str) and v.strip().isdigit()}
        if field in ("campus", "campus_id"):
            everyone = 1 in wanted          # every synthetic user is on campus 1
            return lambda uid: everyone
        cursus_users = self.tables["cursus_users"]
        added = {cursus_users.overlay[i]["user_id"] for i in cursus_users.extra_ids
                 if cursus_users.overlay[i]["cursus_id"] in wanted}
        main, left, base = MAIN_CURSUS_ID in wanted, self._left_main, cursus_users.index
        return lambda uid: uid in added or (main and uid in base and uid not in left)

    def enrolled_only(self, cursus_id: int | None, user_ids: list[int]) -> list[int]:
        """Drop from a users listing of the main cursus the users whose enrolment was removed."""
        if cursus_id != MAIN_CURSUS_ID or not self._left_main:
            return user_ids
        return [uid for uid in user_ids if uid not in self._left_main]

    # ------------------------------------------------------------ mutations

    def _edit(self, name: str, item_id: int, fields: dict, *, move_updated_at: bool) -> dict:
        table = self.tables[name]
        spec = table.spec
        bad = set(fields) & FIXED_FIELDS or set(fields) - set(spec.keys)
        if bad:
            raise KeyError(f"cannot set {sorted(bad)} on {name}")
        current = table.row(item_id)
        if current is None:
            raise KeyError(f"{name} {item_id} does not exist")
        row = dict(current)
        for key, value in fields.items():
            if spec.types.get(key) == TS and isinstance(value, str):
                value = normalise_ts(value)
            row[key] = value
        if move_updated_at and "updated_at" in spec.keys and "updated_at" not in fields:
            row["updated_at"] = iso_ms(self._now_ms())
        if isinstance(table, DictTable):
            table.rows[item_id] = row
            table.changed()
        else:
            table.put(row)
        return self.resource_item(name, item_id)

    def set_level(self, cursus_user_id: int, level: float, *, skills: Any = KEEP,
                  blackholed_at: Any = KEEP) -> dict:
        """Level, skills, blackhole: computed server-side, so ``updated_at`` does NOT move."""
        fields: dict[str, Any] = {"level": level}
        if skills is not KEEP:
            fields["skills"] = skills
        if blackholed_at is not KEEP:
            fields["blackholed_at"] = blackholed_at
        with self._lock:
            return self._edit("cursus_users", cursus_user_id, fields, move_updated_at=False)

    def update_cursus_user(self, cursus_user_id: int, **fields) -> dict:
        """Any other change (grade, end_at, begin_at, has_coalition): ``updated_at`` moves."""
        with self._lock:
            return self._edit("cursus_users", cursus_user_id, fields, move_updated_at=True)

    def enrol(self, user_id: int, cursus_id: int = MAIN_CURSUS_ID) -> dict:
        """A new cursus_user (new id) for an existing user."""
        with self._lock:
            if user_id not in self.users:
                raise KeyError(f"user {user_id} does not exist")
            table = self.tables["cursus_users"]
            now = iso_ms(self._now_ms())
            item_id = table.new_id()
            table.put({"id": item_id, "begin_at": now, "end_at": None, "grade": None, "level": 0.0,
                       "skills": [], "cursus_id": cursus_id, "has_coalition": False,
                       "blackholed_at": None, "created_at": now, "updated_at": now,
                       "cursus": self._cursus_object(cursus_id), "user_id": user_id})
            if cursus_id == MAIN_CURSUS_ID and user_id in self._left_main:
                self._left_main.discard(user_id)
                self._users_listing_changed()
            return self.resource_item("cursus_users", item_id)

    def unenrol(self, cursus_user_id: int) -> None:
        """Delete a cursus_user; without a main-cursus one the user leaves ``/v2/cursus/21/users``."""
        with self._lock:
            table = self.tables["cursus_users"]
            row = table.row(cursus_user_id)
            if row is None:
                raise KeyError(f"cursus_users {cursus_user_id} does not exist")
            table.delete(cursus_user_id)
            uid = row["user_id"]
            if row["cursus_id"] == MAIN_CURSUS_ID and not any(
                    r["cursus_id"] == MAIN_CURSUS_ID for r in table.user_rows(uid)):
                self._left_main.add(uid)
                self._users_listing_changed()

    def _users_listing_changed(self) -> None:
        self._selection_cache.clear()
        self.version += 1

    def _cursus_object(self, cursus_id: int) -> dict:
        return dict(CURSUS.get(cursus_id) or {"id": cursus_id, "created_at": iso_ms(DATA_END_MS),
                                              "name": f"cursus {cursus_id}", "slug": f"cursus-{cursus_id}",
                                              "kind": "main"})

    def update_projects_user(self, projects_user_id: int, **fields) -> dict:
        """Change fields (status, final_mark, ...); ``updated_at`` moves unless given."""
        with self._lock:
            return self._edit("projects_users", projects_user_id, fields, move_updated_at=True)

    def add_projects_user(self, user_id: int, project_id: int, *, occurrence: int = 0) -> dict:
        """A new projects_user (in progress) with an id above every other."""
        with self._lock:
            if user_id not in self.users:
                raise KeyError(f"user {user_id} does not exist")
            table = self.tables["projects_users"]
            project = self.tables["projects"].row(project_id)
            if project is None:
                raise KeyError(f"project {project_id} does not exist")
            now = self._now_ms()
            item_id = table.new_id()
            table.put(CursusRows.projects_user(item_id, user_id, project, now, self._mutation_rng,
                                               finished=False, occurrence=occurrence, updated=now))
            return self.resource_item("projects_users", item_id)

    def replace_projects_user(self, projects_user_id: int) -> dict:
        """A retry: the projects_user is deleted and a new one (higher id) takes its place."""
        with self._lock:
            old = self.tables["projects_users"].row(projects_user_id)
            if old is None:
                raise KeyError(f"projects_users {projects_user_id} does not exist")
            self.tables["projects_users"].delete(projects_user_id)
            return self.add_projects_user(old["user_id"], old["project"]["id"],
                                          occurrence=old["occurrence"] + 1)

    def delete_projects_user(self, projects_user_id: int) -> None:
        with self._lock:
            self.tables["projects_users"].delete(projects_user_id)

    def set_coalition_score(self, coalition_id: int, score: int) -> dict:
        with self._lock:
            return self._edit("coalitions", coalition_id, {"score": score}, move_updated_at=False)

    def set_coalitions_user_score(self, coalitions_user_id: int, score: int) -> dict:
        """Scores of coalitions_users do move ``updated_at``."""
        with self._lock:
            return self._edit("coalitions_users", coalitions_user_id, {"score": score},
                              move_updated_at=True)

    def add_coalitions_user(self, user_id: int, coalition_id: int) -> dict:
        with self._lock:
            return self._add("coalitions_users", user_id, {
                "coalition_id": coalition_id, "score": 0, "rank": 0})

    def remove_coalitions_user(self, coalitions_user_id: int) -> None:
        with self._lock:
            self.tables["coalitions_users"].delete(coalitions_user_id)

    def add_achievements_user(self, user_id: int, achievement_id: int) -> dict:
        with self._lock:
            achievement = self.tables["achievements"].row(achievement_id)
            if achievement is None:
                raise KeyError(f"achievement {achievement_id} does not exist")
            table = self.tables["achievements_users"]
            return self._add("achievements_users", user_id, {
                "achievement_id": achievement_id,
                "url": f"https://api.intra.42.fr/v2/achievements_users/{table.next_id}",
                "nbr_of_success": achievement["nbr_of_success"]})

    def remove_achievements_user(self, achievements_user_id: int) -> None:
        with self._lock:
            self.tables["achievements_users"].delete(achievements_user_id)

    def _add(self, name: str, user_id: int, fields: dict) -> dict:
        if user_id not in self.users:
            raise KeyError(f"user {user_id} does not exist")
        table = self.tables[name]
        now = iso_ms(self._now_ms())
        item_id = table.new_id()
        table.put({"id": item_id, "user_id": user_id, **fields, "created_at": now, "updated_at": now})
        return self.resource_item(name, item_id)

    def on_students_added(self, user_ids: list[int]) -> None:
        """New students are enrolled in the main cursus (nothing else yet)."""
        for uid in user_ids:
            self.enrol(uid)

    # ------------------------------------------------------------ budget

    def next_hour(self) -> None:
        """Start the hourly rate window afresh, as if an hour had passed (the secondly one stays)."""
        with self._lock:
            for window in self._rates._hour.values():
                window.clear()

    def resource_counts(self) -> dict[str, int]:
        """Base row counts per resource (before any mutation)."""
        with self._lock:
            return {name: (len(t.rows) if isinstance(t, DictTable) else t.base_count())
                    for name, t in self.tables.items()}

