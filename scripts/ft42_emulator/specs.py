"""What each cursus resource looks like to a client: item keys, filters, field types, default order.

Rows also carry ``user_id`` (the owner, an item key only for some resources); keys starting with
``_`` and other non-keys are never sent.
"""
from __future__ import annotations

from .resource_query import BOOL, FLOAT, INT, INTS, STR, TS, ResourceSpec

CURSUS_USERS = ResourceSpec(
    name="cursus_users",
    keys=("id", "begin_at", "end_at", "grade", "level", "skills", "cursus_id", "has_coalition",
          "blackholed_at", "created_at", "updated_at", "user", "cursus"),
    types={"id": INT, "begin_at": TS, "end_at": TS, "grade": STR, "level": FLOAT, "cursus_id": INT,
           "has_coalition": BOOL, "blackholed_at": TS, "created_at": TS, "updated_at": TS,
           "user_id": INT, "campus_id": STR},
    filters=frozenset({"id", "cursus_id", "user_id", "created_at", "updated_at", "begin_at", "end_at",
                       "blackholed_at", "campus_id", "has_coalition", "level", "grade"}),
    default_sort=(("created_at", True), ("id", True)),
)

PROJECTS_USERS = ResourceSpec(
    name="projects_users",
    keys=("id", "occurrence", "final_mark", "status", "validated?", "current_team_id", "project",
          "cursus_ids", "marked_at", "marked", "retriable_at", "created_at", "updated_at", "user",
          "teams"),
    types={"id": INT, "occurrence": INT, "final_mark": INT, "status": STR, "validated?": BOOL,
           "current_team_id": INT, "cursus_ids": INTS, "marked_at": TS, "marked": BOOL,
           "retriable_at": TS, "created_at": TS, "updated_at": TS, "user_id": INT, "project_id": INT,
           "cursus": STR, "campus": STR},
    filters=frozenset({"id", "project_id", "user_id", "created_at", "updated_at", "occurrence",
                       "final_mark", "retriable_at", "marked_at", "status", "marked", "cursus",
                       "campus"}),
    extractors={"project_id": lambda row: row["project"]["id"]},
)

ACHIEVEMENTS_USERS = ResourceSpec(
    name="achievements_users",
    keys=("id", "achievement_id", "user_id", "login", "url", "nbr_of_success", "created_at",
          "updated_at"),
    types={"id": INT, "achievement_id": INT, "user_id": INT, "nbr_of_success": INT,
           "created_at": TS, "updated_at": TS},
    filters=frozenset({"id", "user_id", "achievement_id", "nbr_of_success", "created_at",
                       "updated_at"}),
)

COALITIONS_USERS = ResourceSpec(
    name="coalitions_users",
    keys=("id", "coalition_id", "user_id", "score", "rank", "created_at", "updated_at"),
    types={"id": INT, "coalition_id": INT, "user_id": INT, "score": INT, "rank": INT,
           "created_at": TS, "updated_at": TS},
    filters=frozenset({"id", "coalition_id", "user_id", "created_at", "updated_at"}),
)

PROJECTS = ResourceSpec(
    name="projects",
    keys=("id", "name", "slug", "difficulty", "parent", "children", "created_at", "updated_at",
          "exam", "git_id", "repository", "recommendation", "cursus", "campus", "videos",
          "project_sessions"),
    types={"id": INT, "name": STR, "slug": STR, "difficulty": INT, "created_at": TS,
           "updated_at": TS, "exam": BOOL, "git_id": INT, "cursus_id": INTS},
    filters=frozenset({"id", "name", "slug", "difficulty", "created_at", "updated_at", "exam",
                       "cursus_id"}),
    extractors={"cursus_id": lambda row: [c["id"] for c in row["cursus"]]},
)

ACHIEVEMENTS = ResourceSpec(
    name="achievements",
    keys=("id", "name", "description", "tier", "kind", "visible", "image", "nbr_of_success",
          "users_url", "achievements", "campus", "parent", "title"),
    types={"id": INT, "name": STR, "tier": STR, "kind": STR, "visible": BOOL,
           "nbr_of_success": INT, "cursus_id": INTS},
    filters=frozenset({"id", "name", "tier", "kind", "visible", "nbr_of_success"}),
    # Every achievement is the main cursus' (``/v2/cursus/21/achievements``).
    extractors={"cursus_id": lambda row: [21]},
)

COALITIONS = ResourceSpec(
    name="coalitions",
    keys=("id", "name", "slug", "image_url", "cover_url", "color", "score", "user_id"),
    types={"id": INT, "name": STR, "slug": STR, "color": STR, "score": INT, "user_id": INT,
           "bloc_id": INT},
    filters=frozenset({"id", "name", "slug", "score", "user_id"}),
    extractors={"bloc_id": lambda row: row["_bloc_id"]},
)

SPECS = {spec.name: spec for spec in (CURSUS_USERS, PROJECTS_USERS, ACHIEVEMENTS_USERS,
                                      COALITIONS_USERS, PROJECTS, ACHIEVEMENTS, COALITIONS)}
