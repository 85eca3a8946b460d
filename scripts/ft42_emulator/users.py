"""Synthetic users: the 25-key user dict, its timestamps and a deterministic factory.

``generate_users`` builds the emulator's starting population; ``UserFactory.make`` also serves
``Emulator.add_students``. Everything here is deterministic for a seed.
"""
from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

USER_KEYS = (
    "id", "email", "login", "first_name", "last_name", "usual_full_name", "usual_first_name",
    "url", "phone", "displayname", "kind", "image", "staff?", "correction_point", "pool_month",
    "pool_year", "location", "wallet", "anonymize_date", "data_erasure_date", "created_at",
    "updated_at", "alumnized_at", "alumni?", "active?",
)
# Every synthetic user belongs to cursus 21 and campus 1; other cursus ids list nothing.
CURSUS_ID = 21
PRIMARY_CAMPUS_ID = 1

# Synthetic history spans the real school's lifetime; mutations happen "after" it.
DATA_START_MS = int(datetime(2013, 7, 1, tzinfo=timezone.utc).timestamp() * 1000)
DATA_END_MS = int(datetime(2025, 12, 1, tzinfo=timezone.utc).timestamp() * 1000)

# --------------------------------------------------------------------------------------------
# Timestamps
# --------------------------------------------------------------------------------------------


def iso_ms(epoch_ms: int) -> str:
    """Epoch milliseconds -> ``2023-09-04T08:12:33.123Z`` (the API's UTC format)."""
    t = time.gmtime(epoch_ms // 1000)
    return f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}T{t[3]:02d}:{t[4]:02d}:{t[5]:02d}.{epoch_ms % 1000:03d}Z"


@lru_cache(maxsize=1 << 20)  # listings are recomputed after every mutation: parse each once
def parse_ts(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (``Z``, offsets, space separator, date only) as aware UTC."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    value = datetime.fromisoformat(text)  # raises ValueError on garbage
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value


def json_bytes(obj: Any) -> bytes:
    # Compact and UTF-8 like the Rails API (names keep their accents and CJK characters).
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --------------------------------------------------------------------------------------------
# Synthetic data
# --------------------------------------------------------------------------------------------

# (display form, ascii form used to build logins). Accents, apostrophes, hyphens and CJK on purpose.
FIRST_NAMES = (
    ("Jean", "jean"), ("Marie", "marie"), ("Léa", "lea"), ("Chloé", "chloe"), ("Zoé", "zoe"),
    ("Éloïse", "eloise"), ("José", "jose"), ("Iñaki", "inaki"), ("Begoña", "begona"),
    ("Jürgen", "jurgen"), ("Müge", "muge"), ("François", "francois"), ("Çağla", "cagla"),
    ("Anaïs", "anais"), ("Noël", "noel"), ("Björn", "bjorn"), ("Siobhán", "siobhan"),
    ("Seán", "sean"), ("Maël", "mael"), ("Kévin", "kevin"), ("Jean-Baptiste", "jeanbaptiste"),
    ("Marie-Claire", "marieclaire"), ("小明", "xiaoming"), ("美玲", "meiling"), ("Yūki", "yuki"),
    ("Ahmed", "ahmed"), ("Fatima", "fatima"), ("Oluwaseun", "oluwaseun"), ("Zoltán", "zoltan"),
    ("Mohamed", "mohamed"), ("Sofia", "sofia"), ("Lucas", "lucas"), ("Hugo", "hugo"),
    ("Emma", "emma"), ("Inès", "ines"), ("Théo", "theo"), ("Nathan", "nathan"),
    ("Camille", "camille"), ("Yasmine", "yasmine"), ("Rayan", "rayan"), ("Wei", "wei"),
    ("Hiroshi", "hiroshi"), ("Olga", "olga"), ("Dmitri", "dmitri"), ("Priya", "priya"),
    ("Arjun", "arjun"), ("Chidi", "chidi"), ("Amara", "amara"), ("Santiago", "santiago"),
    ("Mateo", "mateo"), ("Valentina", "valentina"), ("Søren", "soren"), ("João", "joao"),
    ("Gonçalo", "goncalo"), ("Ayşe", "ayse"), ("Mehmet", "mehmet"), ("Nguyệt", "nguyet"),
    ("D'Arcy", "darcy"), ("Ana-Sofía", "anasofia"), ("Renée", "renee"),
)
LAST_NAMES = (
    ("Martin", "martin"), ("Bernard", "bernard"), ("Dubois", "dubois"), ("Lefèvre", "lefevre"),
    ("Müller", "muller"), ("Schäfer", "schafer"), ("García", "garcia"), ("Núñez", "nunez"),
    ("Muñoz", "munoz"), ("Peña", "pena"), ("Gonçalves", "goncalves"), ("O'Brien", "obrien"),
    ("D'Angelo", "dangelo"), ("N'Diaye", "ndiaye"), ("Dell'Acqua", "dellacqua"),
    ("Le Gall", "legall"), ("Ben Ali", "benali"), ("Dupont-Aignan", "dupontaignan"),
    ("Martin-López", "martinlopez"), ("van der Berg", "vanderberg"), ("李", "li"),
    ("王", "wang"), ("張", "zhang"), ("陈", "chen"), ("佐藤", "sato"), ("Kowalczyk", "kowalczyk"),
    ("Nowak", "nowak"), ("Nguyễn", "nguyen"), ("Trần", "tran"), ("Åberg", "aberg"),
    ("Özdemir", "ozdemir"), ("Yılmaz", "yilmaz"), ("Çelik", "celik"), ("Haddad", "haddad"),
    ("Diallo", "diallo"), ("Traoré", "traore"), ("Koné", "kone"), ("Okafor", "okafor"),
    ("Şahin", "sahin"), ("Ferreira", "ferreira"), ("Sørensen", "sorensen"),
    ("Kuznetsova", "kuznetsova"), ("Smith", "smith"), ("Johnson", "johnson"), ("Rossi", "rossi"),
    ("Bianchi", "bianchi"), ("Esposito", "esposito"), ("Petit", "petit"), ("Roux", "roux"),
    ("Fournier", "fournier"), ("Girard", "girard"), ("Bonnet", "bonnet"), ("Lambert", "lambert"),
    ("Fontaine", "fontaine"), ("Chevalier", "chevalier"), ("Hernández", "hernandez"),
    ("Ibáñez", "ibanez"), ("Weiß", "weiss"), ("Kovačević", "kovacevic"), ("Björklund", "bjorklund"),
)
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
CAMPUS_OFFSETS = ("+01:00", "+03:00", "-03:00", "+09:00", "+00:00", "-07:00", "+05:30", "+02:00")
IMAGE_VERSIONS = ("large", "medium", "small", "micro")


class FastRandom(random.Random):
    """``randint`` straight from ``random()``: several times faster than the stdlib's, still
    deterministic for a seed. Generating 400k users calls it millions of times."""

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))


class UserFactory:
    """Builds deterministic synthetic users; keeps logins unique across the emulator's life."""

    def __init__(self, seed: int):
        self.seed = seed
        self.rng = FastRandom(seed)
        self._used_logins: set[str] = set()
        self._next_suffix: dict[str, int] = {}

    def unique_login(self, base: str) -> str:
        # Real logins are at most 8 lowercase chars; collisions get a numeric suffix.
        base = base[:8]
        if base not in self._used_logins:
            self._used_logins.add(base)
            return base
        n = self._next_suffix.get(base, 2)
        while True:
            suffix = str(n)
            login = base[:8 - len(suffix)] + suffix
            n += 1
            if login not in self._used_logins:
                self._next_suffix[base] = n
                self._used_logins.add(login)
                return login

    def make(self, user_id: int, created_ms: int, updated_ms: int, *, kind: str = "student",
             staff: bool = False, alumnized_ms: int | None = None) -> dict:
        """One user with exactly the 25 keys, in the API's order."""
        rng = self.rng
        first, first_ascii = rng.choice(FIRST_NAMES)
        last, last_ascii = rng.choice(LAST_NAMES)
        usual_first = rng.choice(FIRST_NAMES)[0] if rng.random() < 0.10 else None
        anonymised = rng.random() < 0.005
        test_account = rng.random() < 0.003

        if anonymised:
            login = f"3b3-{user_id}"
            first = last = login
            usual_first = None
        else:
            login = self.unique_login(first_ascii[0] + last_ascii)
        displayname = f"{first} {last}"
        domain = "student.42campus.org" if test_account else "student.42.fr"
        created = time.gmtime(created_ms // 1000)
        no_pool = rng.random() < 0.02
        erasure = self._erasure_dates() if rng.random() < 0.80 else (None, None)

        return {
            "id": user_id,
            "email": f"{login}@{domain}",
            "login": login,
            "first_name": first,
            "last_name": last,
            "usual_full_name": f"{usual_first} {last}" if usual_first else displayname,
            "usual_first_name": usual_first,
            "url": f"https://api.intra.42.fr/v2/users/{login}",
            "phone": self._phone(),
            "displayname": displayname,
            "kind": kind,
            "image": self._image(user_id, login, empty=anonymised or rng.random() < 0.03),
            "staff?": staff,
            "correction_point": rng.randint(-10, 30),
            "pool_month": None if no_pool else MONTHS[created.tm_mon - 1],
            "pool_year": None if no_pool else sys.intern(str(created.tm_year)),
            "location": (f"c{rng.randint(1, 4)}r{rng.randint(1, 13)}s{rng.randint(1, 22)}"
                         if rng.random() < 0.20 else None),
            "wallet": rng.randint(5000, 100000) if rng.random() < 0.01 else rng.randint(0, 5000),
            "anonymize_date": erasure[0],
            "data_erasure_date": erasure[1],
            "created_at": iso_ms(created_ms),
            "updated_at": iso_ms(updated_ms),
            "alumnized_at": iso_ms(alumnized_ms) if alumnized_ms is not None else None,
            "alumni?": alumnized_ms is not None,
            "active?": rng.random() < 0.5,
        }

    def _phone(self) -> str | None:
        r = self.rng.random()
        if r < 0.97:
            return "hidden"
        if r < 0.99:
            return None
        return "+33 6 " + " ".join(f"{self.rng.randint(0, 99):02d}" for _ in range(4))

    def _image(self, user_id: int, login: str, empty: bool) -> dict:
        if empty:
            return {"link": None, "versions": dict.fromkeys(IMAGE_VERSIONS)}
        digest = hashlib.md5(f"{self.seed}:{user_id}".encode()).hexdigest()
        base = f"https://cdn.intra.42.fr/users/{digest}"
        return {
            "link": f"{base}/{login}.jpg",
            "versions": {
                "large": f"{base}/large_{login}.jpg",
                "medium": f"{base}/medium_{login}.jpg",
                "small": f"{base}/small_{login}.jpg",
                "micro": f"{base}/micro_{login}.jpg",
            },
        }

    def _erasure_dates(self) -> tuple[str, str]:
        # Campus-local midnight with the campus' UTC offset (negative ones included).
        rng = self.rng
        offset = rng.choice(CAMPUS_OFFSETS)
        year, month, day = rng.randint(2026, 2030), rng.randint(1, 12), rng.randint(1, 28)
        anonymize = f"{year:04d}-{month:02d}-{day:02d}T00:00:00.000{offset}"
        erase = f"{year + rng.randint(1, 3):04d}-{month:02d}-{day:02d}T00:00:00.000{offset}"
        return anonymize, erase


def generate_users(students: int, factory: UserFactory) -> dict[int, dict]:
    """``students`` active students plus ~2 % alumni and ~1 % admin/external users.

    Ids start near 50000 and increase with creation time, with gaps of 1-5.
    """
    rng = factory.rng
    n_alumni = round(students * 0.02)
    n_other = round(students * 0.01)
    roles = ["student"] * students + ["alumni"] * n_alumni + ["other"] * n_other
    rng.shuffle(roles)
    created = sorted(rng.randint(DATA_START_MS, DATA_END_MS - 86_400_000) for _ in roles)

    users: dict[int, dict] = {}
    user_id = 50000 + rng.randint(0, 500)
    for role, created_ms in zip(roles, created):
        user_id += rng.randint(1, 5)
        span = DATA_END_MS - created_ms
        alumnized_ms = None
        kind, staff = "student", False
        if role == "alumni":
            alumnized_ms = created_ms + int(span * rng.uniform(0.5, 0.95))
            updated_ms = alumnized_ms + int((DATA_END_MS - alumnized_ms) * rng.random())
        else:
            # Biased towards recent updates, like a live school.
            updated_ms = created_ms + int(span * rng.random() ** 0.3)
            if role == "other":
                kind = rng.choice(("admin", "external"))
                staff = kind == "admin" and rng.random() < 0.8
        users[user_id] = factory.make(user_id, created_ms, updated_ms, kind=kind, staff=staff,
                                      alumnized_ms=alumnized_ms)
    return users


def _copy_user(user: dict) -> dict:
    copy = dict(user)
    if isinstance(copy.get("image"), dict):
        image = dict(copy["image"])
        if isinstance(image.get("versions"), dict):
            image["versions"] = dict(image["versions"])
        copy["image"] = image
    return copy
