"""The ``Emulator``: the users (the truth), their mutations, listings, tokens and fault knobs.

The HTTP layer (``server``) calls into it; tests drive it directly. See the package docstring.
"""
from __future__ import annotations

import gc
import math
import random
import secrets
import socket
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import replace
from http.server import ThreadingHTTPServer
from typing import Any

from .limits import RateWindows, Token
from .query import ListQuery, select_ids
from .resources import CursusResources
from .server import _Handler, _Server
from .users import (
    CURSUS_ID,
    DATA_END_MS,
    USER_KEYS,
    UserFactory,
    _copy_user,
    generate_users,
    iso_ms,
    json_bytes,
    parse_ts,
)

FIELD_ALIASES = {"alumni": "alumni?", "staff": "staff?", "active": "active?"}
TOKEN_EXPIRED = "The access token expired"
TOKEN_INVALID = "The access token is invalid"


class Emulator(CursusResources):
    """In-process 42 API. See the package docstring (``__init__.py``) for the knobs."""

    def __init__(self, students: int = 40335, seed: int = 42, client_id: str = "demo-uid",
                 client_secret: str = "demo-secret", rate_per_second: int = 0,
                 rate_per_hour: int = 0, token_ttl: int = 7200, host: str = "127.0.0.1",
                 port: int = 0, *, client_secret_next: str | None = None,
                 secret_rejected: bool = False, secret_valid_until: int | None = None,
                 reuse_tokens: bool = True, retry_after: Any = None,
                 error_rate_5xx: float = 0.0, fail_every_nth_5xx: int = 0,
                 truncate_page_once_at: int | None = None, expire_token_every: int = 0,
                 down_after: int | None = None, down_mode: str = "drop", slow_ms: int = 0,
                 trickle_body_ms: int = 0,
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
        self.trickle_body_ms = trickle_body_ms
        self._answers: dict[str, tuple] = {}          # route -> (status, body, headers, times left)
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
        self._init_resources()                        # needs the users; see resources.py

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

    def add_api_field(self, name: str, value: Any) -> None:
        """Every user gains a field the sync does not know (the API evolved); updated_at stays."""
        with self._lock:
            for user in self.users.values():
                user[name] = value
            self._json_cache.clear()
            self._selection_cache.clear()
            self.version += 1

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
            self.on_students_added(ids)
        return ids

    def storm_429(self, n: int, retry_after: Any = None) -> None:
        """The next ``n`` list requests get 429 regardless of the rate."""
        with self._lock:
            self._storm_left = n
            self._storm_retry_after = retry_after

    def answer_next(self, route: str, status: int | None = None, body: bytes | None = None,
                    headers: dict | None = None, times: int | None = 1) -> None:
        """The next ``times`` (``None``: every, ``0``: none) successful answers of ``route``
        (``"list"``: a listing's pages; ``"size"``: a one-record page, which a client asks for a
        listing's X-Total; ``"token"``) take this status and body (``None`` keeps the real one);
        ``headers`` replace or add to the real ones."""
        with self._lock:
            self._answers[route] = (status, body, dict(headers or {}), times)

    def _take_answer(self, route: str) -> tuple | None:
        with self._lock:
            answer = self._answers.get(route)
            if answer is None or answer[3] == 0:
                return None
            status, body, headers, times = answer
            self._answers[route] = (status, body, headers, None if times is None else times - 1)
            return status, body, headers

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
                ids = self.enrolled_only(cursus_id, select_ids(self.users, query))
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
