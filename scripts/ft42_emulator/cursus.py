"""The per-user rows of a cursus: cursus_users, coalitions_users, projects_users, achievements_users.

``Population`` freezes what the rows depend on (each starting user's id, creation time and role);
``CursusRows`` lays out how many rows each user owns and their ids, and builds one user's rows on
demand from a generator seeded by (seed, resource, user id), so the same seed always gives the same
rows without ever holding millions of them. Each user also gets a last-activity instant
(``active_until``): none of their generated rows was created or updated later, so a time window
only needs the rows of the users active in it. Every generated stamp lies within the users'
history (before ``DATA_END_MS``); rows changed or added later are stamped after it.
"""
from __future__ import annotations

from array import array
from collections.abc import Mapping
from datetime import datetime
from itertools import accumulate

from .catalog import API, CURSUS, MAIN_CURSUS_ID, PISCINE_CURSUS_ID
from .users import DATA_END_MS, FastRandom, iso_ms

DAY_MS = 86_400_000
YEAR_MS = 365 * DAY_MS
STUDENT, ALUMNI, OTHER = 0, 1, 2

# First ids of each resource: distinct ranges make an id used for the wrong resource stand out.
FIRST_ID = {"cursus_users": 1_000_000, "coalitions_users": 2_000_000,
            "achievements_users": 10_000_000, "projects_users": 20_000_000}
TEAM_ID_OFFSET = 30_000_000     # current_team_id = offset + projects_user id
SALT = {"cursus_users": 1, "coalitions_users": 2, "achievements_users": 3, "projects_users": 4}

SKILLS = (
    (1, "Algorithms & AI"), (3, "Rigor"), (4, "Unix"), (5, "Network & system administration"),
    (6, "Web"), (7, "Group & interpersonal"), (10, "Imperative programming"), (12, "Graphics"),
    (13, "Adaptation & creativity"), (14, "Company experience"), (15, "Technology integration"),
    (16, "DB & Data"), (17, "Object-oriented programming"), (24, "Parallel computing"),
    (25, "Security"),
)
OPEN_STATUSES = ("in_progress", "waiting_for_correction", "searching_a_group", "creating_group")


def _ms(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


def _between(rng: FastRandom, low: int, high: int) -> int:
    return low + int(rng.random() * max(0, high - low))


class Population:
    """The starting users as compact columns, in id order (index ``k``)."""

    def __init__(self, users: Mapping[int, dict]):
        self.ids = array("q", sorted(users))
        self.created_ms = array("q")
        self.roles = array("b")
        self.alumnized_ms = array("q")
        self.had_pool = array("b")
        for uid in self.ids:
            user = users[uid]
            self.created_ms.append(_ms(user["created_at"]))
            alumni = bool(user["alumni?"])
            self.roles.append(ALUMNI if alumni else STUDENT if user["kind"] == "student" else OTHER)
            self.alumnized_ms.append(_ms(user["alumnized_at"]) if alumni and user["alumnized_at"] else 0)
            self.had_pool.append(user["pool_month"] is not None)


class CursusRows:
    """Layouts (counts, first ids) and row builders of the four per-user resources."""

    def __init__(self, seed: int, population: Population, projects: Mapping[int, dict],
                 achievements: Mapping[int, dict], coalitions: Mapping[int, dict]):
        self.seed = seed
        self.pop = population
        self.main_projects = [p for p in projects.values() if p["cursus"][0]["id"] == MAIN_CURSUS_ID]
        self.piscine_projects = [p for p in projects.values() if p["cursus"][0]["id"] == PISCINE_CURSUS_ID]
        self.achievements = list(achievements.values())
        self.coalition_ids = list(coalitions)
        self.layouts = {name: self._layout(name) for name in FIRST_ID}
        self._cursus_created = self._monotonic_cursus_created()
        self.active_until = self._last_activity()

    # ------------------------------------------------------------ layouts

    def _layout(self, name: str) -> tuple[array, array]:
        """(counts, first ids): user k owns ids first[k] .. first[k] + counts[k] - 1."""
        random = FastRandom(self.seed * 7919 + SALT[name]).random
        roles = self.pop.roles
        if name == "cursus_users":
            counts = array("H", [1]) * len(roles)
        elif name == "coalitions_users":   # ~1.1 a user
            counts = array("H", (0 if role == OTHER or (r := random()) < 0.05 else 1 if r < 0.80 else 2
                                 for role in roles))
        else:   # (lowest, how many values) by role: ~50 projects_users and ~20 achievements a user
            spans = {"projects_users": ((20, 61), (60, 36), (0, 11)),
                     "achievements_users": ((5, 31), (25, 21), (0, 6))}[name]
            counts = array("H", (low + int(random() * n) for low, n in map(spans.__getitem__, roles)))
        # Ids of deleted rows leave gaps of 0-2 between users.
        steps = (count + int(random() * 3) for count in counts[:-1])
        return counts, array("q", accumulate(steps, initial=FIRST_ID[name]))

    def _monotonic_cursus_created(self) -> array:
        # cursus_users are created with their user, in id order, never two in the same millisecond.
        created, last = array("q"), 0
        for ms in self.pop.created_ms:
            last = max(ms + 1000, last + 1)
            created.append(last)
        return created

    def _last_activity(self) -> array:
        # Biased towards recent activity, like the users' updated_at; never before the enrolment.
        random = FastRandom(self.seed * 7919 + 99).random
        return array("q", (max(enrolled, born + int((DATA_END_MS - born) * random() ** 0.3))
                           for born, enrolled in zip(self.pop.created_ms, self._cursus_created)))

    def _rng(self, name: str, k: int) -> FastRandom:
        return FastRandom(self.seed * 1_000_003 + SALT[name] * 1_000_000_007 + self.pop.ids[k])

    # ------------------------------------------------------------ row builders

    def cursus_users(self, k: int) -> list[dict]:
        rng, pop = self._rng("cursus_users", k), self.pop
        uid, role = pop.ids[k], pop.roles[k]
        created = self._cursus_created[k]
        begin = created + rng.randint(20, 40) * DAY_MS
        years = max(0, DATA_END_MS - begin) / YEAR_MS
        level = (0.0 if role == OTHER else round(rng.uniform(12, 21), 2) if role == ALUMNI
                 else round(min(21.0, rng.random() * (years * 4 + 1)), 2))
        end_at = blackholed_at = None
        if role == ALUMNI:
            end_at = iso_ms(pop.alumnized_ms[k] or DATA_END_MS)
        elif role == STUDENT:
            r = rng.random()
            if r < 0.12 and begin < DATA_END_MS:       # blackholed: the cursus ended for them
                end_at = blackholed_at = iso_ms(_between(rng, begin, DATA_END_MS))
            elif r < 0.80:
                blackholed_at = iso_ms(DATA_END_MS + rng.randint(1, 365) * DAY_MS)
        grade = (None if role == OTHER or rng.random() < 0.03
                 else "Member" if role == ALUMNI or level >= 9 else "Learner")
        skills = sorted(rng.sample(SKILLS, min(len(SKILLS), int(level) // 2 + rng.randint(0, 3))))
        return [{
            "id": self.layouts["cursus_users"][1][k], "begin_at": iso_ms(begin), "end_at": end_at,
            "grade": grade, "level": level,
            "skills": [{"id": sid, "name": name, "level": round(rng.random() * level, 2)}
                       for sid, name in skills],
            "cursus_id": MAIN_CURSUS_ID, "has_coalition": role != OTHER and rng.random() < 0.95,
            "blackholed_at": blackholed_at, "created_at": iso_ms(created),
            "updated_at": iso_ms(_between(rng, created, self.active_until[k])),
            "cursus": CURSUS[MAIN_CURSUS_ID],
            "user_id": uid,
        }]

    def coalitions_users(self, k: int) -> list[dict]:
        counts, firsts = self.layouts["coalitions_users"]
        rng, uid, born = self._rng("coalitions_users", k), self.pop.ids[k], self.pop.created_ms[k]
        until = self.active_until[k]
        rows = []
        for j, coalition_id in enumerate(rng.sample(self.coalition_ids, counts[k])):
            created = _between(rng, born, until)
            rows.append({"id": firsts[k] + j, "coalition_id": coalition_id, "user_id": uid,
                         "score": rng.randint(0, 5000), "rank": rng.randint(1, 400),
                         "created_at": iso_ms(created),
                         "updated_at": iso_ms(_between(rng, created, until))})
        return rows

    def achievements_users(self, k: int) -> list[dict]:
        counts, firsts = self.layouts["achievements_users"]
        rng, uid, born = self._rng("achievements_users", k), self.pop.ids[k], self.pop.created_ms[k]
        until = self.active_until[k]
        picked = rng.sample(self.achievements, counts[k])
        stamps = sorted(_between(rng, born, until) for _ in picked)
        rows = []
        for j, (achievement, created) in enumerate(zip(picked, stamps)):
            item_id = firsts[k] + j
            rows.append({"id": item_id, "achievement_id": achievement["id"], "user_id": uid,
                         "url": f"{API}/achievements_users/{item_id}",
                         "nbr_of_success": achievement["nbr_of_success"], "created_at": iso_ms(created),
                         "updated_at": iso_ms(_between(rng, created, until))})
        return rows

    def projects_users(self, k: int) -> list[dict]:
        counts, firsts = self.layouts["projects_users"]
        rng, pop = self._rng("projects_users", k), self.pop
        uid, born, count = pop.ids[k], pop.created_ms[k], counts[k]
        piscine = min(count, rng.randint(8, 20)) if pop.had_pool[k] else 0
        picked = (rng.sample(self.piscine_projects, piscine)
                  + rng.sample(self.main_projects, count - piscine))
        until = self.active_until[k]
        admitted = min(born + 30 * DAY_MS, until)
        stamps = sorted([_between(rng, born, admitted) for _ in range(piscine)]) + sorted(
            _between(rng, admitted, until) for _ in range(count - piscine))
        return [self.projects_user(firsts[k] + j, uid, project, created, rng, until=until)
                for j, (project, created) in enumerate(zip(picked, stamps))]

    @staticmethod
    def projects_user(item_id: int, uid: int, project: dict, created: int, rng: FastRandom,
                      *, finished: bool | None = None, occurrence: int | None = None,
                      updated: int | None = None, until: int = DATA_END_MS) -> dict:
        """One projects_user; ``finished``/``occurrence``/``updated`` fix what is otherwise drawn.

        Drawn stamps (marked_at, updated_at) are no later than ``until``.
        """
        finished = rng.random() < 0.78 if finished is None else finished
        if occurrence is None:
            occurrence = 0 if rng.random() < 0.85 else rng.randint(1, 3)
        if finished:
            status = "finished"
            final_mark = rng.randint(80, 125) if rng.random() < 0.8 else rng.randint(0, 79)
            validated = final_mark >= 50
            marked_ms = min(until, created + rng.randint(1, 30) * DAY_MS)
            marked_at = iso_ms(marked_ms)
            retriable_at = None if validated else iso_ms(marked_ms + rng.randint(1, 3) * DAY_MS)
        else:
            status = OPEN_STATUSES[rng.randint(0, len(OPEN_STATUSES) - 1)]
            final_mark = validated = marked_at = retriable_at = None
            marked_ms = created
        if updated is None:
            updated = _between(rng, marked_ms, until)
        team_id = TEAM_ID_OFFSET + item_id
        created_at, updated_at = iso_ms(created), iso_ms(updated)
        cursus_id = project["cursus"][0]["id"]
        return {
            "id": item_id, "occurrence": occurrence, "final_mark": final_mark, "status": status,
            "validated?": validated, "current_team_id": team_id,
            "project": {"id": project["id"], "name": project["name"], "slug": project["slug"],
                        "parent_id": project["parent"]["id"] if project["parent"] else None},
            "cursus_ids": [cursus_id], "marked_at": marked_at, "marked": finished,
            "retriable_at": retriable_at, "created_at": created_at, "updated_at": updated_at,
            "teams": [{
                "id": team_id, "name": f"group-{team_id}", "url": f"{API}/teams/{team_id}",
                "final_mark": final_mark, "project_id": project["id"], "created_at": created_at,
                "updated_at": updated_at, "status": status, "terminating_at": None,
                "users": [{"id": uid, "leader": True, "occurrence": occurrence, "validated": True,
                           "projects_user_id": item_id}],
                "locked?": status not in ("searching_a_group", "creating_group"),
                "validated?": validated, "closed?": finished, "repo_url": None,
                "repo_uuid": f"intra-uuid-{team_id}", "locked_at": created_at,
                "closed_at": marked_at, "project_session_id": None, "project_gitlab_path": None,
            }],
            "user_id": uid,
        }
