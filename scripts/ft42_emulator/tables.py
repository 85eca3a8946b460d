"""Listing engines of the cursus resources: ``DictTable`` (catalogues) and ``BlockTable`` (per-user rows).

A ``BlockTable`` never materialises its rows. Each base user (index ``k``) owns ``counts[k]`` rows with
the contiguous ids ``first_ids[k] + j``, built on demand by ``make_block(k)`` (deterministic, cached
a few hundred users at a time). Changed, deleted and added rows live in an overlay; added rows take
ids above every base id. Queries are planned so the sync's shapes stay cheap at full size:

* only per-user conditions (``user_id``, enrolment, campus) and ``range[id]``, ordered by id: the
  n-th row is found by bisecting prefix sums of ``counts`` over the matching users (``_WalkPlan``);
* ``filter[id]``: only the named ids are candidates;
* anything else scans the rows of every matching user once and caches the ordered ids; a lower
  bound on ``created_at``/``updated_at`` skips the users last active before it (``active_until``),
  so a window after the generated history reads only the overlay.

Not thread-safe: the emulator's lock is held by every caller.
"""
from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import lru_cache
from itertools import accumulate, compress
from operator import itemgetter

from .query import ListQuery
from .resource_query import ResourceSpec, row_predicate, sort_rows
from .users import parse_ts

CACHED_BLOCKS = 512
CACHED_PLANS = 64
# A user's generated rows were all created and updated before their ``active_until``.
ACTIVITY_STAMPS = ("created_at", "updated_at")


class _Selection:
    """The rows one query selects, in order: ``total`` and ``ids(start, stop)``."""

    total: int

    def ids(self, start: int, stop: int) -> list[int]:
        raise NotImplementedError


class _ListSelection(_Selection):
    def __init__(self, ids: list[int]):
        self._ids = ids
        self.total = len(ids)

    def ids(self, start: int, stop: int) -> list[int]:
        return self._ids[start:stop]


class _ListPlan:
    """Ordered ids before any ``range[id]``; narrowed per request."""

    def __init__(self, ids: list[int], id_ascending: bool):
        self.ids = ids
        self.id_ascending = id_ascending

    def narrow(self, id_ranges: list[tuple]) -> _Selection:
        ids = self.ids
        for low, high in id_ranges:
            if self.id_ascending:
                start = 0 if low is None else bisect_left(ids, low)
                ids = ids[start:len(ids) if high is None else bisect_right(ids, high)]
            else:
                ids = [i for i in ids if (low is None or i >= low) and (high is None or i <= high)]
        return _ListSelection(ids)


def _epoch_ms(stamp: str) -> int:
    return int(parse_ts(stamp).timestamp() * 1000)


def _id_bounds(id_ranges: list[tuple]) -> tuple:
    lows = [lo for lo, _ in id_ranges if lo is not None]
    highs = [hi for _, hi in id_ranges if hi is not None]
    return (max(lows) if lows else None), (min(highs) if highs else None)


def _split_id_ranges(query: ListQuery) -> tuple[ListQuery, list[tuple]]:
    id_ranges = [(lo, hi) for field, lo, hi in query.ranges if field == "id"]
    return replace(query, ranges=tuple(r for r in query.ranges if r[0] != "id")), id_ranges


class DictTable:
    """A small catalogue held as ``{id: item}`` (ids ascending)."""

    def __init__(self, spec: ResourceSpec, rows: dict[int, dict]):
        self.spec = spec
        self.rows = rows
        self.version = 0
        self._plans: dict[tuple, _ListPlan] = {}

    def changed(self) -> None:
        self.version += 1
        self._plans.clear()

    def row(self, item_id: int) -> dict | None:
        return self.rows.get(item_id)

    def select(self, query: ListQuery) -> _Selection:
        rest, id_ranges = _split_id_ranges(query)
        key = rest.selection_key
        plan = self._plans.get(key)
        if plan is None:
            match = row_predicate(self.spec, rest.filters, rest.ranges)
            rows = [self.rows[i] for i in sorted(self.rows) if match(self.rows[i])]
            plan = _ListPlan(sort_rows(rows, rest.sort, self.spec), rest.sort == (("id", False),))
            if len(self._plans) > CACHED_PLANS:
                self._plans.clear()
            self._plans[key] = plan
        return plan.narrow(id_ranges)


class BlockTable:
    """Rows generated per user on demand, plus an overlay. See the module docstring."""

    def __init__(self, spec: ResourceSpec, owners: array, counts: array, first_ids: array,
                 make_block: Callable[[int], list[dict]], *, users: Mapping,
                 user_filter: Callable[[str, frozenset], Callable[[int], bool]],
                 user_fields: frozenset = frozenset(), constants: Mapping | None = None,
                 active_until: array, created_follows_id: bool = False):
        self.spec = spec
        self.owners = owners            # k -> user id (ascending)
        self.counts = counts            # k -> number of base rows
        self.first_ids = first_ids      # k -> id of the first base row
        self.index = {uid: k for k, uid in enumerate(owners)}
        self.base_end = first_ids[-1] + counts[-1] if len(owners) else 1
        self.next_id = self.base_end + 1
        self._generate = make_block
        self._block = lru_cache(maxsize=CACHED_BLOCKS)(make_block)
        self._users = users
        self._user_filter = user_filter
        self.user_fields = user_fields | {"user_id"}
        self.constants = dict(constants or {})      # field -> value shared by every base row
        self.active_until = active_until            # k -> epoch ms of the user's last generated stamp
        # created_at increases with id, so "created_at desc, id desc" is "id desc".
        self.created_follows_id = created_follows_id
        self.overlay: dict[int, dict | None] = {}   # id -> changed/added row, None = deleted
        self.deleted: list[int] = []                # deleted base ids, ascending
        self.extra_ids: list[int] = []              # live added ids, ascending
        self.version = 0
        self._plans: dict[tuple, object] = {}

    # ------------------------------------------------------------ rows

    def base_count(self) -> int:
        return sum(self.counts)

    def _locate(self, item_id: int) -> tuple[int, int] | None:
        k = bisect_right(self.first_ids, item_id) - 1
        if k < 0:
            return None
        j = item_id - self.first_ids[k]
        return (k, j) if j < self.counts[k] else None

    def row(self, item_id: int) -> dict | None:
        """The live row (a shared object: copy before changing), or None."""
        if item_id in self.overlay:
            row = self.overlay[item_id]
        elif item_id >= self.base_end or (where := self._locate(item_id)) is None:
            return None
        else:
            row = self._block(where[0])[where[1]]
        return row if row is not None and row["user_id"] in self._users else None

    def put(self, row: dict) -> None:
        """Store a changed or added row (``row["id"]`` from ``new_id()`` when added)."""
        item_id = row["id"]
        if item_id >= self.base_end and item_id not in self.overlay:
            insort(self.extra_ids, item_id)
        self.overlay[item_id] = row
        self.changed()

    def new_id(self) -> int:
        item_id, self.next_id = self.next_id, self.next_id + 1
        return item_id

    def delete(self, item_id: int) -> None:
        if self.row(item_id) is None:
            raise KeyError(f"{self.spec.name} {item_id} does not exist")
        if item_id >= self.base_end:
            self.extra_ids.remove(item_id)
        else:
            insort(self.deleted, item_id)
        self.overlay[item_id] = None
        self.changed()

    def changed(self) -> None:
        self.version += 1
        self._plans.clear()

    def user_rows(self, user_id: int) -> list[dict]:
        """Live rows of one user, id ascending."""
        rows = []
        k = self.index.get(user_id)
        if k is not None:
            for j in range(self.counts[k]):
                row = self.row(self.first_ids[k] + j)
                if row is not None:
                    rows.append(row)
        rows += [r for i in self.extra_ids if (r := self.overlay[i])["user_id"] == user_id]
        return rows

    # ------------------------------------------------------------ queries

    def select(self, query: ListQuery, users_version: int) -> _Selection:
        rest, id_ranges = _split_id_ranges(query)
        key = (rest.selection_key, users_version)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plan(rest)
            if len(self._plans) > CACHED_PLANS:
                self._plans.clear()
            self._plans[key] = plan
        return plan.narrow(id_ranges)

    def _plan(self, query: ListQuery):
        user_checks, row_filters, row_ranges = [], [], []
        for field, values in query.filters:
            if field == "user_id":
                user_checks.append(lambda uid, vs=values: uid in vs)
            elif field in self.user_fields:
                user_checks.append(self._user_filter(field, values))
            else:
                row_filters.append((field, values))
        for field, low, high in query.ranges:
            if field == "user_id":
                user_checks.append(lambda uid, lo=low, hi=high: (lo is None or uid >= lo)
                                   and (hi is None or uid <= hi))
            else:
                row_ranges.append((field, low, high))
        users = self._users

        def user_ok(uid: int) -> bool:
            return uid in users and all(check(uid) for check in user_checks)

        row_ok = row_predicate(self.spec, row_filters, row_ranges)

        def live_ok(row: dict) -> bool:
            return user_ok(row["user_id"]) and row_ok(row)

        ids_filter = dict(query.filters).get("id")
        if ids_filter is not None:
            rows = [r for i in sorted(v for v in ids_filter if isinstance(v, int))
                    if (r := self.row(i)) is not None and live_ok(r)]
            return _ListPlan(sort_rows(rows, query.sort, self.spec), query.sort == (("id", False),))

        base_filters = [f for f in row_filters if f[0] not in self.constants]
        constants_match = all(self.constants[f] in vs for f, vs in row_filters if f in self.constants)
        alive = map(users.__contains__, self.owners)
        members = array("l", compress(range(len(self.owners)), alive) if constants_match else ())
        for check in user_checks:
            members = array("l", compress(members, map(check, map(self.owners.__getitem__, members))))
        descending = self._id_order(query.sort)
        if not base_filters and not row_ranges and descending is not None:
            extras = [i for i in self.extra_ids if live_ok(self.overlay[i])]
            member_set = set(members)
            deleted = [d for d in self.deleted if self._locate(d)[0] in member_set]
            return _WalkPlan(self, members, deleted, extras, descending)

        floor = self._time_floor(row_filters, row_ranges)
        if floor is not None:
            # Users last active before the window own no generated row in it.
            active = map(floor.__le__, map(self.active_until.__getitem__, members))
            members = array("l", compress(members, active))
        overlay = self.overlay
        rows = []
        for k in members:
            first = self.first_ids[k]
            rows += [row for j, row in enumerate(self._generate(k))
                     if first + j not in overlay and row_ok(row)]
        # Changed and added rows count wherever they are, even when their user was skipped above.
        rows += [r for r in overlay.values() if r is not None and live_ok(r)]
        rows.sort(key=itemgetter("id"))
        return _ListPlan(sort_rows(rows, query.sort, self.spec), query.sort == (("id", False),))

    def _time_floor(self, filters: list, ranges: list) -> int | None:
        """Epoch ms before which no row can match (from created_at/updated_at), or None."""
        floors = []
        for field, values in filters:
            if field in ACTIVITY_STAMPS and values and all(isinstance(v, str) for v in values):
                floors.append(min(_epoch_ms(v) for v in values))
        floors += [_epoch_ms(low) for field, low, _ in ranges
                   if field in ACTIVITY_STAMPS and low is not None]
        return max(floors) if floors else None

    def _id_order(self, sort: tuple) -> bool | None:
        """True/False when ``sort`` is id descending/ascending for this table, else None."""
        if sort in ((("id", False),), (("id", True),)):
            return sort[0][1]
        if self.created_follows_id and len(sort) == 2 and sort[0][0] == "created_at" \
                and sort[1] == ("id", sort[0][1]):
            return sort[0][1]
        return None


class _WalkPlan:
    """The id-ordered rows of the matching users, found by position instead of by scanning."""

    def __init__(self, table: BlockTable, members: array, deleted: list[int], extras: list[int],
                 descending: bool):
        self.table = table
        self.members = members          # matching user indexes, ascending
        self.deleted = deleted          # deleted base ids of those users, ascending
        self.extras = extras            # live added ids that match, ascending
        self.descending = descending
        # cum[m]: base rows of the members before the m-th one.
        self.cum = array("q", accumulate(map(table.counts.__getitem__, members), initial=0))

    def position(self, item_id: int | None) -> int:
        """How many base rows of the members have an id below ``item_id`` (None: all of them)."""
        if item_id is None:
            return self.cum[-1]
        t = self.table
        k = bisect_right(t.first_ids, item_id) - 1
        if k < 0:
            return 0
        m = bisect_left(self.members, k)
        pos = self.cum[m]
        if m < len(self.members) and self.members[m] == k:
            pos += min(max(item_id - t.first_ids[k], 0), t.counts[k])
        return pos

    def id_at(self, pos: int) -> int:
        m = bisect_right(self.cum, pos) - 1
        return self.table.first_ids[self.members[m]] + pos - self.cum[m]

    def narrow(self, id_ranges: list[tuple]) -> _Selection:
        low, high = _id_bounds(id_ranges)
        start = 0 if low is None else self.position(low)
        stop = self.position(None if high is None else high + 1)
        stop = max(start, stop)
        skipped = [self.position(d) for d in self.deleted
                   if (low is None or d >= low) and (high is None or d <= high)]
        extras = [i for i in self.extras if (low is None or i >= low) and (high is None or i <= high)]
        return _WalkSelection(self, start, stop - start - len(skipped), skipped, extras)


class _WalkSelection(_Selection):
    def __init__(self, plan: _WalkPlan, start: int, base_total: int, skipped: list[int],
                 extras: list[int]):
        self.plan = plan
        self.start = start
        self.base_total = base_total
        self.skipped = skipped            # base positions of deleted rows, ascending
        self.extras = extras
        self.total = base_total + len(extras)

    def _nth(self, n: int) -> int:
        """Id of the n-th selected row in ascending id order."""
        if n >= self.base_total:
            return self.extras[n - self.base_total]
        pos = self.start + n
        for skipped in self.skipped:
            if skipped <= pos:
                pos += 1
            else:
                break
        return self.plan.id_at(pos)

    def ids(self, start: int, stop: int) -> list[int]:
        stop = min(stop, self.total)
        if self.plan.descending:
            return [self._nth(self.total - 1 - n) for n in range(start, stop)]
        return [self._nth(n) for n in range(start, stop)]
