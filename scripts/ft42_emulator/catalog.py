"""The network's catalogues: cursus, projects, achievements and coalitions (small, materialised).

Their sizes are the real network's, whatever the number of students: a school has ~620 projects
and ~350 coalitions however many people are enrolled. Deterministic for a seed.
"""
from __future__ import annotations

from .users import DATA_END_MS, DATA_START_MS, FastRandom, iso_ms

MAIN_CURSUS_ID = 21
PISCINE_CURSUS_ID = 9
CURSUS = {
    MAIN_CURSUS_ID: {"id": 21, "created_at": "2019-07-29T08:45:17.896Z", "name": "42cursus",
                     "slug": "42cursus", "kind": "main"},
    PISCINE_CURSUS_ID: {"id": 9, "created_at": "2015-11-04T10:02:45.152Z", "name": "C Piscine",
                        "slug": "c-piscine", "kind": "piscine"},
}
CAMPUS = {"id": 1, "name": "Paris", "time_zone": "Europe/Paris", "country": "France",
          "city": "Paris", "website": "http://www.42.fr/", "active": True, "public": True}
API = "https://api.intra.42.fr/v2"

MAIN_PROJECTS = 530
PISCINE_PROJECTS = 90
ACHIEVEMENTS = 1150
COALITIONS = 350
COALITIONS_PER_BLOC = 4

CORE_NAMES = (
    "Libft", "ft_printf", "get_next_line", "Born2beroot", "so_long", "push_swap", "minitalk",
    "pipex", "fract-ol", "FdF", "Philosophers", "minishell", "NetPractice", "cub3d", "miniRT",
    "Inception", "webserv", "ft_irc", "ft_transcendence", "Exam Rank 02", "Exam Rank 03",
    "Exam Rank 04", "Exam Rank 05", "Exam Rank 06",
) + tuple(f"CPP Module {n:02d}" for n in range(10))
PISCINE_NAMES = (
    tuple(f"C Piscine Shell {n:02d}" for n in range(2)) + tuple(f"C Piscine C {n:02d}" for n in range(14))
    + tuple(f"C Piscine Rush {n:02d}" for n in range(3)) + tuple(f"C Piscine Exam {n:02d}" for n in range(3))
    + ("C Piscine Final Exam", "C Piscine BSQ")
)
WORDS = ("ft", "mini", "net", "cloud", "data", "ai", "rt", "shell", "matrix", "crypto", "kernel",
         "game", "web", "ops", "stack", "graph", "vox", "lex", "quant", "ray", "bit", "snow", "cell")
ACHIEVEMENT_KINDS = ("project", "pedagogy", "social", "scolarity")
TIERS = ("none", "easy", "medium", "hard", "challenge")
COALITION_NAMES = ("The Federation", "The Alliance", "The Assembly", "The Order", "The Guild",
                   "The Syndicate", "The Union", "The Council")


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def _stamp(rng: FastRandom, low: int = DATA_START_MS) -> tuple[str, str]:
    created = rng.randint(low, DATA_END_MS - 1)
    return iso_ms(created), iso_ms(rng.randint(created, DATA_END_MS))


def _project_names(prefix: tuple, count: int, word_prefix: str) -> list[str]:
    names = list(prefix[:count])
    n = 0
    while len(names) < count:
        names.append(f"{word_prefix}{WORDS[n % len(WORDS)]}_{WORDS[(n // len(WORDS)) % len(WORDS)]}"
                     f"{'' if n < len(WORDS) ** 2 else n}")
        n += 1
    return names


def generate_projects(seed: int) -> dict[int, dict]:
    """~530 projects of cursus 21 and ~90 of the piscine (cursus 9), some with a parent."""
    rng = FastRandom(seed ^ 0x9C0)
    specs = ([(name, MAIN_CURSUS_ID) for name in _project_names(CORE_NAMES, MAIN_PROJECTS, "")]
             + [(name, PISCINE_CURSUS_ID)
                for name in _project_names(PISCINE_NAMES, PISCINE_PROJECTS, "piscine_")])
    projects: dict[int, dict] = {}
    project_id = 0
    parents: list[dict] = []
    for name, cursus_id in specs:
        project_id += rng.randint(1, 3)
        created, updated = _stamp(rng)
        slug = _slug(name)
        parent = None
        if parents and rng.random() < 0.12 and parents[-1]["cursus"][0]["id"] == cursus_id:
            p = rng.choice(parents[-5:])
            parent = {"id": p["id"], "name": p["name"], "slug": p["slug"], "url": f"{API}/projects/{p['slug']}"}
        project = {
            "id": project_id, "name": name, "slug": slug,
            "difficulty": 0 if cursus_id == PISCINE_CURSUS_ID else rng.randint(1, 50) * 500,
            "parent": parent, "children": [], "created_at": created, "updated_at": updated,
            "exam": "exam" in name.lower(), "git_id": rng.randint(1, 3000) if rng.random() < 0.7 else None,
            "repository": None, "recommendation": "",
            "cursus": [dict(CURSUS[cursus_id])], "campus": [dict(CAMPUS)], "videos": [],
            "project_sessions": [],
        }
        projects[project_id] = project
        if parent is None:
            parents.append(project)
        else:
            projects[parent["id"]]["children"].append(
                {"id": project_id, "name": name, "slug": slug, "url": f"{API}/projects/{slug}"})
    return projects


def generate_achievements(seed: int) -> dict[int, dict]:
    rng = FastRandom(seed ^ 0xAC1)
    achievements: dict[int, dict] = {}
    achievement_id = 10_000
    for n in range(ACHIEVEMENTS):
        achievement_id += rng.randint(1, 3)
        name = f"{WORDS[n % len(WORDS)].capitalize()} {TIERS[n % len(TIERS)]} {n}"
        achievements[achievement_id] = {
            "id": achievement_id, "name": name,
            "description": f"Earned for {WORDS[(n * 7) % len(WORDS)]} deeds ({n}).",
            "tier": TIERS[rng.randint(0, len(TIERS) - 1)],
            "kind": ACHIEVEMENT_KINDS[rng.randint(0, len(ACHIEVEMENT_KINDS) - 1)],
            "visible": rng.random() < 0.9,
            "image": f"/uploads/achievement/image/{achievement_id}/{_slug(name)}.svg",
            "nbr_of_success": rng.choice((None, 1, 5, 10, 25, 50)),
            "users_url": f"{API}/achievements/{achievement_id}/users",
            "achievements": [], "campus": [CAMPUS["name"]], "parent": None, "title": None,
        }
    return achievements


def generate_coalitions(seed: int, user_ids: list[int]) -> dict[int, dict]:
    """Coalitions in blocs of four (``/v2/blocs/:id/coalitions``); ``_bloc_id`` is not an item key."""
    rng = FastRandom(seed ^ 0xC0A)
    coalitions: dict[int, dict] = {}
    coalition_id = 5000
    for n in range(COALITIONS):
        coalition_id += rng.randint(1, 2)
        name = f"{COALITION_NAMES[n % len(COALITION_NAMES)]} {n // len(COALITION_NAMES) + 1}"
        slug = _slug(name)
        coalitions[coalition_id] = {
            "id": coalition_id, "name": name, "slug": slug,
            "image_url": f"https://cdn.intra.42.fr/coalition/image/{coalition_id}/{slug}.svg",
            "cover_url": f"https://cdn.intra.42.fr/coalition/cover/{coalition_id}/{slug}.jpg",
            "color": f"#{rng.randint(0, 0xFFFFFF):06X}", "score": rng.randint(0, 200_000),
            "user_id": rng.choice(user_ids) if user_ids and rng.random() < 0.8 else None,
            "_bloc_id": 100 + n // COALITIONS_PER_BLOC,
        }
    return coalitions
