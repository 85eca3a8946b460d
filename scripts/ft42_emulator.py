#!/usr/bin/env python3
"""A small, fast, real HTTP server that behaves like the 42 Intra API v2.

Used by ``make demo`` (40,335 synthetic students) and by the test-suite (real HTTP, no mocking).
Standard library only. The behaviour follows ``docs/42-api-facts.md``.

Python API
----------
    from scripts.ft42_emulator import Emulator

    with Emulator(students=250, seed=42, rate_per_second=0) as emu:   # starts on a free port
        emu.url                                  # "http://127.0.0.1:<port>"  (API_ROOT)
        emu.users                                # {id: 25-key user dict}  (the truth; read-only!)
        emu.matching_users()                     # truth for the sync's query, sorted by id
        emu.update_user(uid, login="x", alumni=True)   # bumps updated_at unless given
        emu.alumnize(uid); emu.remove_user(uid); emu.add_students(3)
        emu.request_log, emu.reset_log(), emu.count_429

Change users only through the methods above: they take the lock, bump ``updated_at`` and
invalidate the listing / JSON caches. ``update_user`` also accepts ``alumni``, ``staff`` and
``active`` as aliases of the ``?`` keys.

Endpoints
---------
* ``POST /oauth/token``  (client_credentials; form body, JSON body or HTTP Basic)
* ``GET /oauth/token/info``
* ``GET /v2/cursus/<id>/users`` and ``GET /v2/users``.  Every synthetic user belongs to cursus 21
  and campus 1; other cursus ids list nothing.

Fault knobs (constructor keyword arguments; also plain attributes, settable at any time)
-----------------------------------------------------------------------------------------
* ``rate_per_second`` / ``rate_per_hour`` (0 = unlimited; headers then show 1000000).  Rolling
  windows per application (client_id).  Only authenticated ``/v2`` requests consume the budget;
  refused (429) requests do not.  Over the limit: 429, ``text/plain`` body
  ``429 Too Many Requests (Spam Rate Limit Exceeded)``.
* ``retry_after``: ``None`` (no ``Retry-After`` header, the default), an int (sent as is) or
  ``"auto"`` (seconds until the window frees a slot).
* ``storm_429(n, retry_after=None)``: the next *n* list requests get 429 whatever the rate.
* ``error_rate_5xx`` (float 0..1, drawn from its own seeded RNG) and ``fail_every_nth_5xx`` (int,
  every n-th list request): answer a list request with 500/502/503 and an HTML body.
* ``truncate_page_once_at`` (page number): once, that page comes back 200 with its JSON cut in the
  middle (Content-Length matches the cut body); the knob then resets to ``None``.
* ``expire_token_every`` (int N): after every N authenticated requests the token used becomes
  expired -> 401 + ``WWW-Authenticate: Bearer realm="Doorkeeper", error="invalid_token",
  error_description="The access token expired"``, body ``{"error":"Not authorized"}``.
* ``down_after`` (int N) with ``down_mode`` ``"drop"`` (default: close the socket without a
  response) or ``"503"``: once N list requests have been received, every request (token included)
  fails.  Set ``down_after=None`` to bring the server back.
* ``slow_ms`` (int): sleep before every list response.
* ``on_list_request``: callable ``(emu, page_number) -> None`` run (outside the lock) before each
  users-list page is computed, e.g. to move a user out of the set mid-crawl.
* Secrets: ``client_secret_next`` (also accepted), ``secret_rejected=True`` (the current secret
  becomes invalid), ``secret_valid_until`` (value echoed in the token reply, default null).
* ``reuse_tokens`` (default True, like the real API): asking for a token while the app's token
  still has >= 10 % of its life left hands the same token back with a lower ``expires_in``.
* ``token_ttl`` (seconds; 0 makes every token expire immediately).

``request_log`` entries are ``(method, path_with_query, status)``; a dropped connection is logged
with status 0.  ``reset_log()`` clears ``request_log`` and ``count_429`` and restarts the count of
list requests that ``down_after`` compares against.

Choices the facts leave open
----------------------------
* Sorting: ties keep id-ascending order; NULLs sort last ascending / first descending (Postgres).
  Timestamps sort and range-compare as instants.
* ``range[f]=min,max`` accepts an empty side as unbounded; users whose value is null never match.
* ``filter[primary_campus_id]`` is accepted (everyone is on campus 1); ``status`` is not supported.
* ``Link`` URLs reuse the request's raw query string with only the page number replaced, and the
  ``Host`` the client used.  Rels come in the order first, prev, next, last (api-pagination rules:
  first/prev when page > 1, next/last when page < last page).

CLI
---
    python scripts/ft42_emulator.py --students 40335 --port 8042 \\
        --client-id demo-uid --client-secret demo-secret [--rate-per-second N] [--rate-per-hour N]
Prints ``42 API emulator listening on http://127.0.0.1:8042 (40335 students)`` once ready and
serves until SIGTERM/SIGINT.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import gc
import hashlib
import json
import math
import random
import re
import secrets
import signal
import socket
import sys
import threading
import time
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

# --------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------

USER_KEYS = (
    "id", "email", "login", "first_name", "last_name", "usual_full_name", "usual_first_name",
    "url", "phone", "displayname", "kind", "image", "staff?", "correction_point", "pool_month",
    "pool_year", "location", "wallet", "anonymize_date", "data_erasure_date", "created_at",
    "updated_at", "alumnized_at", "alumni?", "active?",
)
CURSUS_ID = 21
PRIMARY_CAMPUS_ID = 1
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100
UNLIMITED = 1_000_000  # limit shown in the rate headers when a limit is switched off

FILTER_FIELDS = frozenset({
    "id", "login", "email", "created_at", "updated_at", "pool_year", "pool_month", "kind",
    "first_name", "last_name", "alumni?", "staff?", "active?", "primary_campus_id",
})
RANGE_FIELDS = frozenset({
    "id", "login", "email", "created_at", "updated_at", "pool_year", "pool_month", "kind",
})
SORT_FIELDS = frozenset(USER_KEYS)
TIMESTAMP_FIELDS = frozenset({
    "created_at", "updated_at", "alumnized_at", "anonymize_date", "data_erasure_date",
})
FIELD_ALIASES = {"alumni": "alumni?", "staff": "staff?", "active": "active?"}

JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain"
HTML_TYPE = "text/html"
TOO_MANY_BODY = b"429 Too Many Requests (Spam Rate Limit Exceeded)"
NOT_AUTHORIZED_BODY = b'{"error":"Not authorized"}'
TOKEN_EXPIRED = "The access token expired"
TOKEN_INVALID = "The access token is invalid"
INVALID_CLIENT = {
    "error": "invalid_client",
    "error_description": "Client authentication failed due to unknown client, no client "
                         "authentication included, or unsupported authentication method.",
}
REASONS_5XX = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}

LIST_PATH = re.compile(r"^/v2/(?:cursus/(\d+)/)?users/?$")

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


# --------------------------------------------------------------------------------------------
# Listing queries: parsing, filtering, sorting
# --------------------------------------------------------------------------------------------


class QueryError(Exception):
    """A 400 answer: ``error`` is "Filter Error" or "Sort Error"."""

    def __init__(self, error: str, message: str):
        super().__init__(message)
        self.error = error
        self.message = message


@dataclass(frozen=True)
class ListQuery:
    filters: tuple = ()          # ((field, frozenset(values)), ...)
    ranges: tuple = ()           # ((field, low or None, high or None), ...)
    sort: tuple = (("id", True),)  # ((field, descending), ...); default is id descending
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @property
    def selection_key(self) -> tuple:
        """What determines the ordered id list (page and page size do not)."""
        return (self.filters, self.ranges, self.sort)


def _int_or(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default


def _bracket_field(key: str, prefix: str) -> str | None:
    if key.startswith(prefix + "[") and key.endswith("]"):
        return key[len(prefix) + 1:-1]
    return None


def _range_bound(field: str, text: str):
    """A range bound in the field's comparison type; empty means unbounded."""
    if text == "":
        return None
    try:
        if field == "id":
            return int(text)
        if field in TIMESTAMP_FIELDS:
            return parse_ts(text)
    except ValueError:
        raise QueryError("Filter Error", f"Invalid value '{text}' for range[{field}]") from None
    return text


def _parse_sort(text: str) -> tuple:
    fields = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        desc = part.startswith("-")
        name = part.lstrip("-+")
        if name not in SORT_FIELDS:
            raise QueryError("Sort Error", f"'{name}' is not a valid sort field")
        fields.append((name, desc))
    return tuple(fields) or ListQuery.sort


def parse_list_query(query_string: str) -> ListQuery:
    """Parse the (URL-encoded) query string of a users listing. Raises QueryError."""
    filters: dict[str, frozenset] = {}
    ranges: dict[str, tuple] = {}
    sort = ListQuery.sort
    page, per_page = 1, DEFAULT_PER_PAGE
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        if key in ("page", "page[number]"):
            page = max(1, _int_or(value, 1))
        elif key in ("per_page", "page[size]"):
            per_page = _int_or(value, DEFAULT_PER_PAGE)
            per_page = DEFAULT_PER_PAGE if per_page < 1 else min(per_page, MAX_PER_PAGE)
        elif key == "sort":
            sort = _parse_sort(value)
        elif (field := _bracket_field(key, "filter")) is not None:
            if field not in FILTER_FIELDS:
                raise QueryError("Filter Error", f"'{field}' is not a valid filter")
            filters[field] = frozenset(_normalise_filter_value(field, v) for v in value.split(","))
        elif (field := _bracket_field(key, "range")) is not None:
            if field not in RANGE_FIELDS:
                raise QueryError("Filter Error", f"'{field}' is not a valid range")
            low, sep, high = value.partition(",")
            if not sep:
                raise QueryError("Filter Error", f"range[{field}] must be 'min,max'")
            ranges[field] = (_range_bound(field, low), _range_bound(field, high))
    return ListQuery(
        filters=tuple(sorted(filters.items())),
        ranges=tuple(sorted((f, lo, hi) for f, (lo, hi) in ranges.items())),
        sort=sort, page=page, per_page=per_page,
    )


def _normalise_filter_value(field: str, value: str) -> str:
    if field in ("id", "primary_campus_id"):
        try:
            return str(int(value))
        except ValueError:
            return value
    return value


def _filter_text(value: Any) -> str | None:
    """How a user's value compares against filter strings (booleans as true/false)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _comparable(field: str, value: Any):
    """A user's value in the type used for ranges and sorting."""
    if value is None:
        return None
    if field in TIMESTAMP_FIELDS:
        try:
            return parse_ts(value)
        except (ValueError, TypeError, AttributeError):
            return None
    if field == "image":
        return json.dumps(value, sort_keys=True)
    if field in RANGE_FIELDS and field != "id":
        return str(value)
    return value


def _predicates(query: ListQuery) -> list[Callable[[dict], bool]]:
    preds: list[Callable[[dict], bool]] = []
    for field, values in query.filters:
        if field == "primary_campus_id":
            matches = str(PRIMARY_CAMPUS_ID) in values
            preds.append(lambda u, m=matches: m)
        else:
            preds.append(lambda u, f=field, vs=values: _filter_text(u.get(f)) in vs)
    for field, low, high in query.ranges:
        preds.append(lambda u, f=field, lo=low, hi=high: _in_range(_comparable(f, u.get(f)), lo, hi))
    return preds


def _in_range(value, low, high) -> bool:
    if value is None:
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def select_ids(users: dict[int, dict], query: ListQuery) -> list[int]:
    """Ids matching the query's filters and ranges, in the query's order.

    ``users`` iterates in ascending id order, so stable sorts leave ties id-ascending.
    """
    preds = _predicates(query)
    rows = [u for u in users.values() if all(p(u) for p in preds)] if preds else list(users.values())
    if query.sort == (("id", False),):
        return [u["id"] for u in rows]
    if query.sort == (("id", True),):
        return [u["id"] for u in reversed(rows)]
    for field, desc in reversed(query.sort):
        # (is_null, value): NULLs last ascending and first descending, like Postgres.
        def key(u, f=field):
            v = _comparable(f, u.get(f))
            return (v is None, v)
        rows.sort(key=key, reverse=desc)
    return [u["id"] for u in rows]


# --------------------------------------------------------------------------------------------
# Rate limiting
# --------------------------------------------------------------------------------------------


class RateWindows:
    """Rolling one-second and one-hour windows per application. Not thread-safe: caller locks."""

    def __init__(self):
        self._second: dict[str, deque] = {}
        self._hour: dict[str, deque] = {}

    def _windows(self, app: str, now: float) -> tuple[deque, deque]:
        sec = self._second.setdefault(app, deque())
        hour = self._hour.setdefault(app, deque())
        while sec and sec[0] <= now - 1.0:
            sec.popleft()
        while hour and hour[0] <= now - 3600.0:
            hour.popleft()
        return sec, hour

    def admit(self, app: str, per_second: int, per_hour: int, consume: bool):
        """Returns (allowed, headers, seconds_until_free). Consumes a slot only if allowed."""
        now = time.monotonic()
        sec, hour = self._windows(app, now)
        sec_limit, hour_limit = per_second or UNLIMITED, per_hour or UNLIMITED
        wait = 0.0
        if per_hour and len(hour) >= per_hour:
            wait = hour[0] + 3600.0 - now
        elif per_second and len(sec) >= per_second:
            wait = sec[0] + 1.0 - now
        allowed = wait == 0.0
        if allowed and consume:
            sec.append(now)
            hour.append(now)
        headers = [
            ("X-Secondly-RateLimit-Limit", str(sec_limit)),
            ("X-Secondly-RateLimit-Remaining", str(max(0, sec_limit - len(sec)))),
            ("X-Hourly-RateLimit-Limit", str(hour_limit)),
            ("X-Hourly-RateLimit-Remaining", str(max(0, hour_limit - len(hour)))),
        ]
        return allowed, headers, wait


# --------------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------------


@dataclass
class Token:
    value: str
    app: str
    created_at: int      # epoch seconds, as reported
    expires_at: float    # epoch seconds
    revoked: bool = False  # set by expire_token_every

    def expired(self, now: float) -> bool:
        return self.revoked or now >= self.expires_at


class Emulator:
    """In-process 42 API. See the module docstring for the knobs."""

    def __init__(self, students: int = 40335, seed: int = 42, client_id: str = "demo-uid",
                 client_secret: str = "demo-secret", rate_per_second: int = 0,
                 rate_per_hour: int = 0, token_ttl: int = 7200, host: str = "127.0.0.1",
                 port: int = 0, *, client_secret_next: str | None = None,
                 secret_rejected: bool = False, secret_valid_until: int | None = None,
                 reuse_tokens: bool = True, retry_after: Any = None,
                 error_rate_5xx: float = 0.0, fail_every_nth_5xx: int = 0,
                 truncate_page_once_at: int | None = None, expire_token_every: int = 0,
                 down_after: int | None = None, down_mode: str = "drop", slow_ms: int = 0,
                 on_list_request: Callable[[Emulator, int], None] | None = None):
        self.students = students
        self.seed = seed
        self.client_id = client_id
        self.client_secret = client_secret
        self.client_secret_next = client_secret_next
        self.secret_rejected = secret_rejected
        self.secret_valid_until = secret_valid_until
        self.reuse_tokens = reuse_tokens
        self.rate_per_second = rate_per_second
        self.rate_per_hour = rate_per_hour
        self.token_ttl = token_ttl
        self.host = host
        self.port = port
        # Fault knobs.
        self.retry_after = retry_after
        self.error_rate_5xx = error_rate_5xx
        self.fail_every_nth_5xx = fail_every_nth_5xx
        self.truncate_page_once_at = truncate_page_once_at
        self.expire_token_every = expire_token_every
        self.down_after = down_after
        self.down_mode = down_mode
        self.slow_ms = slow_ms
        self.on_list_request = on_list_request

        self._lock = threading.RLock()
        self._factory = UserFactory(seed)
        # Millions of small allocations would trigger the cyclic GC over and over; none of
        # them form cycles, so pause it while generating.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self.users: dict[int, dict] = generate_users(students, self._factory)
        finally:
            if gc_was_enabled:
                gc.enable()
        self._max_id = max(self.users, default=50000)
        # Generated timestamps share one format, so the largest string is the latest instant.
        latest = max((u["updated_at"] for u in self.users.values()), default=iso_ms(DATA_END_MS))
        self._max_updated_ms = int(parse_ts(latest).timestamp() * 1000)
        self._json_cache: dict[int, bytes] = {}      # id -> serialised user
        self._selection_cache: dict[tuple, list[int]] = {}
        self.version = 0                              # bumped on every mutation

        self._tokens: dict[str, Token] = {}
        self._app_token: Token | None = None
        self._rates = RateWindows()
        self._fault_rng = random.Random(seed ^ 0x5EED)
        self._storm_left = 0
        self._storm_retry_after: Any = None
        self._authenticated_requests = 0
        self._list_requests = 0       # counted for down_after
        self._fault_counter = 0       # counted for fail_every_nth_5xx

        self.request_log: list[tuple[str, str, int]] = []
        self.count_429 = 0

        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> Emulator:
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), _Handler)
        server.emulator = self
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"ft42-emulator-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        # Keep-alive connections would otherwise outlive the server.
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("emulator not started")
        return f"http://{self.host}:{self.port}"

    # ---------------------------------------------------------------- truth and mutations

    def matching_users(self, kind: str | None = "student", alumni: bool | None = False,
                       cursus_id: int | None = CURSUS_ID) -> list[dict]:
        """Copies of the users the sync's listing returns, sorted by id ascending.

        ``None`` for kind/alumni means "no filter"; ``cursus_id=None`` means ``/v2/users``.
        """
        filters = {}
        if kind is not None:
            filters["kind"] = frozenset({kind})
        if alumni is not None:
            filters["alumni?"] = frozenset({"true" if alumni else "false"})
        query = ListQuery(filters=tuple(sorted(filters.items())), sort=(("id", False),))
        with self._lock:
            ids = self._selection(cursus_id, query)
            return [_copy_user(self.users[i]) for i in ids]

    def update_user(self, user_id: int, **fields) -> dict:
        """Change fields (aliases: alumni, staff, active); bumps updated_at unless given."""
        fields = {FIELD_ALIASES.get(k, k): v for k, v in fields.items()}
        unknown = set(fields) - set(USER_KEYS)
        if unknown or "id" in fields:
            raise KeyError(f"cannot set {sorted(unknown or {'id'})}")
        with self._lock:
            user = self.users[user_id]
            if "updated_at" not in fields:
                fields["updated_at"] = iso_ms(self._now_ms())
            user.update(fields)
            self._changed(user_id)
            return _copy_user(user)

    def alumnize(self, user_id: int) -> dict:
        with self._lock:
            now = iso_ms(self._now_ms())
            return self.update_user(user_id, **{"alumni?": True, "alumnized_at": now,
                                                "updated_at": now})

    def remove_user(self, user_id: int) -> None:
        """The user vanishes from every listing (deleted, or left the cursus)."""
        with self._lock:
            del self.users[user_id]
            self._changed(user_id)

    def add_students(self, n: int) -> list[int]:
        """New active students with fresh ids above any id ever used; returns their ids."""
        ids = []
        with self._lock:
            for _ in range(n):
                self._max_id += self._factory.rng.randint(1, 5)
                now = self._now_ms()
                self.users[self._max_id] = self._factory.make(self._max_id, now, now)
                self._changed(self._max_id)
                ids.append(self._max_id)
        return ids

    def storm_429(self, n: int, retry_after: Any = None) -> None:
        """The next ``n`` list requests get 429 regardless of the rate."""
        with self._lock:
            self._storm_left = n
            self._storm_retry_after = retry_after

    def reset_log(self) -> None:
        """Start counting afresh: the log, the 429 count and the list requests `down_after` sees."""
        with self._lock:
            self.request_log = []
            self.count_429 = 0
            self._list_requests = 0

    def _now_ms(self) -> int:
        """Strictly later than every updated_at handed out so far (even if the clock lags)."""
        now = max(int(time.time() * 1000), self._max_updated_ms + 1)
        self._max_updated_ms = now
        return now

    def _changed(self, user_id: int) -> None:
        self._json_cache.pop(user_id, None)
        self._selection_cache.clear()
        self.version += 1
        user = self.users.get(user_id)
        if user is not None:
            try:
                ms = int(parse_ts(user["updated_at"]).timestamp() * 1000)
                self._max_updated_ms = max(self._max_updated_ms, ms)
            except (ValueError, TypeError, AttributeError):
                pass

    # ---------------------------------------------------------------- listing internals

    def _selection(self, cursus_id: int | None, query: ListQuery) -> list[int]:
        """Cached ordered ids for a listing. Caller holds the lock."""
        id_ranges = [r for r in query.ranges if r[0] == "id"]
        if id_ranges:
            # Keyset paging asks for a new id range on every page, which would miss the cache and
            # rescan everyone each time; like the real API's index, narrow the cached rest instead.
            ids = self._selection(cursus_id, replace(query, ranges=tuple(r for r in query.ranges if r[0] != "id")))
            for _, low, high in id_ranges:
                if query.sort == (("id", False),):
                    start = 0 if low is None else bisect_left(ids, low)
                    ids = ids[start:len(ids) if high is None else bisect_right(ids, high)]
                else:
                    ids = [i for i in ids if (low is None or i >= low) and (high is None or i <= high)]
            return ids
        key = (cursus_id, query.selection_key)
        ids = self._selection_cache.get(key)
        if ids is None:
            if cursus_id is not None and cursus_id != CURSUS_ID:
                ids = []
            else:
                ids = select_ids(self.users, query)
            if len(self._selection_cache) > 256:
                self._selection_cache.clear()
            self._selection_cache[key] = ids
        return ids

    def _user_json(self, user_id: int) -> bytes:
        data = self._json_cache.get(user_id)
        if data is None:
            data = self._json_cache[user_id] = json_bytes(self.users[user_id])
        return data

    def page(self, cursus_id: int | None, query: ListQuery) -> tuple[bytes, int]:
        """(JSON body, total item count) for one page of a listing."""
        with self._lock:
            ids = self._selection(cursus_id, query)
            start = (query.page - 1) * query.per_page
            chunk = ids[start:start + query.per_page]
            body = b"[" + b",".join(self._user_json(i) for i in chunk) + b"]"
            return body, len(ids)

    # ---------------------------------------------------------------- auth internals

    def _accepted_secrets(self) -> set:
        accepted = set()
        if not self.secret_rejected:
            accepted.add(self.client_secret)
        if self.client_secret_next:
            accepted.add(self.client_secret_next)
        return accepted

    def issue_token(self, client_id: str | None, client_secret: str | None) -> dict | None:
        """Token reply for valid client credentials, else None."""
        if client_id != self.client_id or client_secret not in self._accepted_secrets():
            return None
        with self._lock:
            now = time.time()
            token = self._app_token
            remaining = token.expires_at - now if token else 0
            if not (self.reuse_tokens and token and not token.revoked
                    and remaining >= max(1.0, self.token_ttl * 0.1)):
                token = Token(secrets.token_hex(32), client_id, int(now), now + self.token_ttl)
                self._tokens[token.value] = token
                self._app_token = token
                remaining = self.token_ttl
        return {
            "access_token": token.value, "token_type": "bearer", "expires_in": int(remaining),
            "scope": "public", "created_at": token.created_at,
            "secret_valid_until": self.secret_valid_until,
        }

    def authenticate(self, authorization: str | None) -> tuple[Token | None, str | None]:
        """(token, None) if valid, else (token or None, WWW-Authenticate header value)."""
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None, 'Bearer realm="Doorkeeper"'
        with self._lock:
            token = self._tokens.get(value.strip())
            if token is None or token.expired(time.time()):
                why = TOKEN_INVALID if token is None else TOKEN_EXPIRED
                return token, (f'Bearer realm="Doorkeeper", error="invalid_token", '
                               f'error_description="{why}"')
            self._authenticated_requests += 1
            if self.expire_token_every and self._authenticated_requests % self.expire_token_every == 0:
                token.revoked = True   # this request still succeeds; the next one gets 401
            return token, None

    # ---------------------------------------------------------------- fault internals

    def _check_down(self, is_list: bool) -> bool:
        with self._lock:
            if self.down_after is not None and self._list_requests >= self.down_after:
                return True
            if is_list:
                self._list_requests += 1
            return False

    def _admit(self, app: str, is_list: bool, consume: bool):
        """(allowed, rate headers, Retry-After value or None)."""
        with self._lock:
            if consume and is_list and self._storm_left > 0:
                self._storm_left -= 1
                _, headers, _ = self._rates.admit(app, self.rate_per_second, self.rate_per_hour,
                                                  consume=False)
                return False, headers, self._storm_retry_after
            allowed, headers, wait = self._rates.admit(app, self.rate_per_second,
                                                       self.rate_per_hour, consume)
            retry = self.retry_after
            if retry == "auto":
                retry = max(1, math.ceil(wait))
            return allowed, headers, retry

    def _inject_5xx(self) -> int | None:
        with self._lock:
            self._fault_counter += 1
            nth = self.fail_every_nth_5xx and self._fault_counter % self.fail_every_nth_5xx == 0
            by_rate = self.error_rate_5xx and self._fault_rng.random() < self.error_rate_5xx
            if nth or by_rate:
                return self._fault_rng.choice((500, 502, 503))
            return None

    def _take_truncation(self, page: int) -> bool:
        with self._lock:
            if self.truncate_page_once_at is not None and self.truncate_page_once_at == page:
                self.truncate_page_once_at = None
                return True
            return False

    def _log(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.request_log.append((method, path, status))
            if status == 429:
                self.count_429 += 1


def _copy_user(user: dict) -> dict:
    copy = dict(user)
    if isinstance(copy.get("image"), dict):
        image = dict(copy["image"])
        if isinstance(image.get("versions"), dict):
            image["versions"] = dict(image["versions"])
        copy["image"] = image
    return copy


# --------------------------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    emulator: Emulator

    def handle_error(self, request, client_address):
        # Clients hanging up (or stop() cutting keep-alive sockets) is normal here.
        if isinstance(sys.exc_info()[1], (ConnectionError, OSError)):
            return
        super().handle_error(request, client_address)


def _with_page(raw_query: str, page: int) -> str:
    """The request's raw query with only the page number replaced (or appended)."""
    parts, replaced = [], False
    for part in raw_query.split("&"):
        if not part:
            continue
        key = unquote_plus(part.partition("=")[0])
        if key in ("page", "page[number]"):
            if not replaced:
                parts.append(f"{part.partition('=')[0]}={page}")
                replaced = True
            continue
        parts.append(part)
    if not replaced:
        parts.append(f"page={page}")
    return "&".join(parts)


def link_header(base: str, raw_query: str, page: int, last_page: int) -> str | None:
    rels = []
    if page > 1:
        rels += [("first", 1), ("prev", page - 1)]
    if page < last_page:
        rels += [("next", page + 1), ("last", last_page)]
    if not rels:
        return None
    return ", ".join(f'<{base}?{_with_page(raw_query, n)}>; rel="{rel}"' for rel, n in rels)


def _html_error(status: int) -> bytes:
    reason = REASONS_5XX.get(status, "Error")
    return (f"<html><head><title>{status} {reason}</title></head><body><center><h1>{status} "
            f"{reason}</h1></center><hr><center>nginx</center></body></html>\n").encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive; every response carries Content-Length
    timeout = 60                    # idle keep-alive connections are closed eventually
    server: _Server

    @property
    def emu(self) -> Emulator:
        return self.server.emulator

    def setup(self):
        super().setup()
        with self.emu._lock:
            self.emu._connections.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.emu._lock:
                self.emu._connections.discard(self.connection)

    def log_message(self, format, *args):  # silence per-request stderr lines
        pass

    def version_string(self) -> str:
        return "ft42-emulator"

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    # ------------------------------------------------------------ plumbing

    def _read_body(self) -> bytes:
        length = _int_or(self.headers.get("Content-Length") or "0", 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: bytes = b"", content_type: str | None = JSON_TYPE,
              headers: list = ()) -> None:
        # Log before answering: a client that has its answer must find the request in the log.
        self.emu._log(self.command, self.path, status)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _drop(self) -> None:
        """Close the socket without answering (the client sees a dropped connection)."""
        self.close_connection = True
        self.emu._log(self.command, self.path, 0)

    def _rate_headers(self, app: str) -> list:
        return self.emu._admit(app, is_list=False, consume=False)[1]

    # ------------------------------------------------------------ routing

    def _handle(self) -> None:
        body = self._read_body()
        path, _, query = self.path.partition("?")
        is_list = self.command == "GET" and LIST_PATH.match(path) is not None
        if self.emu._check_down(is_list):
            if self.emu.down_mode == "503":
                return self._send(503, _html_error(503), HTML_TYPE, self._rate_headers("anonymous"))
            return self._drop()
        if not self.headers.get("User-Agent"):
            return self._send(403, b"", None, self._rate_headers("anonymous"))
        if path == "/oauth/token" and self.command == "POST":
            return self._token(body, query)
        if path == "/oauth/token/info" and self.command == "GET":
            return self._token_info()
        if path.startswith("/v2/"):
            return self._api(path, query)
        return self._send(404, b'{"error":"Not Found"}', headers=self._rate_headers("anonymous"))

    def _token(self, body: bytes, query: str) -> None:
        params = _token_params(self.headers, body, query)
        headers = self._rate_headers(params.get("client_id") or "anonymous")
        grant = params.get("grant_type")
        if not grant:
            return self._send(400, json_bytes({
                "error": "invalid_request",
                "error_description": "Missing required parameter: grant_type."}), headers=headers)
        if grant != "client_credentials":
            return self._send(400, json_bytes({
                "error": "unsupported_grant_type",
                "error_description": "The authorization grant type is not supported by the "
                                     "authorization server."}), headers=headers)
        reply = self.emu.issue_token(params.get("client_id"), params.get("client_secret"))
        if reply is None:
            return self._send(401, json_bytes(INVALID_CLIENT), headers=headers)
        self._send(200, json_bytes(reply), headers=headers)

    def _token_info(self) -> None:
        token, problem = self.emu.authenticate(self.headers.get("Authorization"))
        headers = self._rate_headers(token.app if token else "anonymous")
        if problem:
            return self._send(401, NOT_AUTHORIZED_BODY,
                              headers=headers + [("WWW-Authenticate", problem)])
        self._send(200, json_bytes({
            "resource_owner_id": None, "scopes": ["public"],
            "expires_in_seconds": max(0, int(token.expires_at - time.time())),
            "application": {"uid": token.app}, "created_at": token.created_at,
        }), headers=headers)

    def _api(self, path: str, query: str) -> None:
        emu = self.emu
        token, problem = emu.authenticate(self.headers.get("Authorization"))
        if problem:
            headers = self._rate_headers(token.app if token else "anonymous")
            return self._send(401, NOT_AUTHORIZED_BODY,
                              headers=headers + [("WWW-Authenticate", problem)])
        match = LIST_PATH.match(path)
        is_list = self.command == "GET" and match is not None
        allowed, headers, retry_after = emu._admit(token.app, is_list, consume=True)
        if not allowed:
            if retry_after is not None:
                headers = headers + [("Retry-After", str(retry_after))]
            return self._send(429, TOO_MANY_BODY, TEXT_TYPE, headers)
        if not is_list:
            return self._send(404, b'{"error":"Not Found"}', headers=headers)
        self._list(match, query, headers)

    def _list(self, match: re.Match, query: str, headers: list) -> None:
        emu = self.emu
        try:
            parsed = parse_list_query(query)
        except QueryError as exc:
            return self._send(400, json_bytes({"error": exc.error, "message": exc.message}),
                              headers=headers)
        status = emu._inject_5xx()
        if status is not None:
            return self._send(status, _html_error(status), HTML_TYPE, headers)
        if emu.on_list_request is not None:
            emu.on_list_request(emu, parsed.page)   # outside the lock: it may mutate
        if emu.slow_ms:
            time.sleep(emu.slow_ms / 1000.0)
        cursus_id = int(match.group(1)) if match.group(1) else None
        body, total = emu.page(cursus_id, parsed)
        if emu._take_truncation(parsed.page):
            body = body[:len(body) // 2]
        headers = headers + [("X-Page", str(parsed.page)), ("X-Per-Page", str(parsed.per_page)),
                             ("X-Total", str(total))]
        host = self.headers.get("Host") or f"{emu.host}:{emu.port}"
        last_page = math.ceil(total / parsed.per_page)
        link = link_header(f"http://{host}{match.group(0)}", query, parsed.page, last_page)
        if link:
            headers.append(("Link", link))
        self._send(200, body, headers=headers)


def _token_params(headers, body: bytes, query: str) -> dict:
    """client credentials from query, body (form or JSON) and HTTP Basic (strongest last)."""
    params = dict(parse_qsl(query, keep_blank_values=True))
    text = body.decode("utf-8", errors="replace")
    if "json" in (headers.get("Content-Type") or "").lower():
        try:
            data = json.loads(text or "{}")
            if isinstance(data, dict):
                params.update({k: str(v) for k, v in data.items() if v is not None})
        except ValueError:
            pass
    else:
        params.update(parse_qsl(text, keep_blank_values=True))
    scheme, _, encoded = (headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
            params["client_id"], params["client_secret"] = unquote_plus(user), unquote_plus(password)
        except (binascii.Error, UnicodeDecodeError):
            pass
    return params


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a synthetic 42 Intra API v2.")
    parser.add_argument("--students", type=int, default=40335)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8042, help="0 picks a free port")
    parser.add_argument("--client-id", default="demo-uid")
    parser.add_argument("--client-secret", default="demo-secret")
    parser.add_argument("--client-secret-next", default=None)
    parser.add_argument("--rate-per-second", type=int, default=0, help="0 = unlimited")
    parser.add_argument("--rate-per-hour", type=int, default=0, help="0 = unlimited")
    parser.add_argument("--token-ttl", type=int, default=7200)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    emu = Emulator(students=args.students, seed=args.seed, client_id=args.client_id,
                   client_secret=args.client_secret, client_secret_next=args.client_secret_next,
                   rate_per_second=args.rate_per_second, rate_per_hour=args.rate_per_hour,
                   token_ttl=args.token_ttl, host=args.host, port=args.port)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    emu.start()
    print(f"42 API emulator listening on {emu.url} ({args.students} students)", flush=True)
    while not stop.wait(0.5):
        pass
    emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
