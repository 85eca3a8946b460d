"""A small, fast, real HTTP server that behaves like the 42 Intra API v2.

Used by ``make demo`` (40,335 synthetic students) and by the test-suite (real HTTP, no mocking).
Standard library only. The behaviour follows the team's notes on the real API (``shared/docs/42-api-facts.md``,
kept beside this repository, not in it); where they leave a choice open, it is listed below.

Python API
----------
    from scripts.ft42_emulator import Emulator

    with Emulator(students=250, seed=42, rate_per_second=0) as emu:   # starts on a free port
        emu.url                                  # "http://127.0.0.1:<port>"  (API_ROOT)
        emu.users                                # {id: 25-key user dict}  (the truth; read-only!)
        emu.matching_users()                     # truth for the sync's query, sorted by id
        emu.update_user(uid, login="x", alumni=True)   # bumps updated_at unless given
        emu.add_api_field("pronouns", "they")        # every user carries a field the sync does not map
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
  and campus 1 (until ``unenrol``); other cursus ids list nothing.
* The rest of a cursus: see below.

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
* ``trickle_body_ms`` (int): list responses send their headers at once, then the body one byte
  every that many milliseconds (a server that never quite stops answering).
* ``answer_next(route, status=None, body=None, headers=None, times=1)``: the next ``times``
  (``None``: every, ``0``: none) successful answers of ``route`` (``"list"``: a listing's pages;
  ``"size"``: a one-record page, asked for a listing's X-Total; ``"token"``) take this status
  and body (``None`` keeps the real one); ``headers`` (a dict) replace or add to the real ones.
  Covers null/object/HTML/empty bodies, redirects, a lying ``X-Total``, odd records.
* ``on_list_request``: callable ``(emu, page_number) -> None`` run (outside the lock) before each
  list page is computed (not a one-record size request), e.g. to move a user out of the set mid-crawl.
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

CLI (from the project root)
---------------------------
    python -m scripts.ft42_emulator --students 40335 --port 8042 \\
        --client-id demo-uid --client-secret demo-secret [--rate-per-second N] [--rate-per-hour N]
Prints ``42 API emulator listening on http://127.0.0.1:8042 (40335 students)`` once ready and
serves until SIGTERM/SIGINT.

The rest of a cursus
--------------------
Listings (``GET``, same tokens, rate limits, fault knobs, ``on_list_request``, ``request_log``,
paging headers and ``range[id]`` keyset paging as the users listing):

* ``/v2/cursus/<id>/cursus_users``, ``/v2/cursus_users``, ``/v2/users/<id>/cursus_users``: one
  cursus_user (cursus 21) per starting user of every kind; default order ``created_at desc, id desc``.
* ``/v2/cursus/<id>/projects``, ``/v2/projects``: 530 projects of cursus 21, 90 of the piscine (9).
* ``/v2/projects_users`` (``filter[cursus]=21``: users enrolled in 21, piscine projects included,
  ``cursus_ids`` tells them apart), ``/v2/projects/<id>/projects_users``, ``/v2/users/<id>/projects_users``.
* ``/v2/achievements`` (1,150), ``/v2/cursus/<id>/achievements``, ``/v2/achievements_users``.
* ``/v2/coalitions`` (350), ``/v2/blocs/<id>/coalitions``, ``/v2/coalitions_users``,
  ``/v2/coalitions/<id>/coalitions_users``, ``/v2/users/<id>/coalitions_users``.

Catalogue sizes are fixed; per-user rows scale with ``students`` (about 50 projects_users, 20
achievements_users and 1.1 coalitions_users a user: ~2M, ~0.8M and ~45k at 40,335). Each resource
has its own id range. Item keys, documented filters and field types are in ``specs``. Unknown
filter names are ignored (known ones narrow); unknown sort fields are a 400; the default order of
every resource but cursus_users is id descending.

Mutations (each takes the lock; ``updated_at`` is stamped with the emulator's clock):
    emu.set_level(cursus_user_id, 7.5, skills=[...], blackholed_at="2027-01-01T00:00:00Z")  # updated_at stays
    emu.update_cursus_user(cursus_user_id, grade="Member")      # updated_at moves
    emu.enrol(user_id, cursus_id=21); emu.unenrol(cursus_user_id)   # unenrolled: out of /v2/cursus/21/users
    emu.update_projects_user(id, status="finished", final_mark=100); emu.delete_projects_user(id)
    emu.add_projects_user(user_id, project_id); emu.replace_projects_user(id)   # retry: new, higher id
    emu.set_coalition_score(coalition_id, score); emu.set_coalitions_user_score(id, score)
    emu.add_coalitions_user(user_id, coalition_id); emu.remove_coalitions_user(id)
    emu.add_achievements_user(user_id, achievement_id); emu.remove_achievements_user(id)
    emu.next_hour()      # the hourly rate window starts afresh (the secondly one does not)
``add_students`` enrols the new students in cursus 21; ``remove_user`` takes their rows away.

Truth: ``emu.listing(name, **filters)`` streams exactly the items a complete listing returns, id
ascending, filtered like the sync's route (cursus 21) unless told (``cursus_id=None``, ``user_id=``);
``emu.resource_item(name, id)``; ``emu.resource_counts()`` (rows generated at start).

Cost: the per-user rows are never all in memory (see ``tables``). Pages ordered by id with only
``range[id]``, ``filter[user_id]``, ``filter[cursus]``/``campus`` are found by position. A lower
bound on ``updated_at``/``created_at`` builds only the rows of the users active since then (each
user's generated rows end at a last-activity instant; after the generated history, which ends on
2025-12-01, only changed rows are read). Both stay cheap at full size. Any other filter or order
on projects_users or achievements_users rebuilds every row once per change: slow at full size,
fine in tests.
Piscine enrolments are not modelled: ``/v2/cursus/9/cursus_users`` and ``filter[cursus]=9`` list
nothing.

Modules
-------
* ``users``     the 25-key user dict, timestamps (``iso_ms``, ``parse_ts``), ``UserFactory``,
  ``generate_users``
* ``query``     ``parse_list_query`` -> ``ListQuery`` (or ``QueryError``), ``select_ids``
* ``limits``    ``RateWindows`` (per-application rolling windows) and ``Token``
* ``emulator``  the ``Emulator``: state, mutations, listing pages, tokens, fault knobs
* ``server``    the HTTP layer: routing, token parameters, ``Link`` header, HTML error pages
* ``cli``       ``main()``, run by ``__main__``
* ``catalog``   cursus, projects, achievements, coalitions (small, materialised)
* ``cursus``    ``Population`` and ``CursusRows``: per-user row layouts and builders
* ``specs``     each resource's item keys, filters, field types and default order
* ``resource_query``  ``parse_resource_query``, predicates and sorting for those resources
* ``tables``    ``DictTable`` and ``BlockTable`` (per-user rows + overlay, query planning)
* ``resources`` ``CursusResources``, the ``Emulator`` mixin: pages, mutations, truth accessors
* ``routes``    listing paths -> resource (+ the filter the path implies)
"""
from .cli import main
from .emulator import Emulator
from .limits import RateWindows, Token
from .query import ListQuery, QueryError, parse_list_query, select_ids
from .users import CURSUS_ID, PRIMARY_CAMPUS_ID, USER_KEYS, UserFactory, generate_users, iso_ms, parse_ts

__all__ = [
    "CURSUS_ID", "PRIMARY_CAMPUS_ID", "USER_KEYS", "Emulator", "ListQuery", "QueryError", "RateWindows",
    "Token", "UserFactory", "generate_users", "iso_ms", "main", "parse_list_query", "parse_ts", "select_ids",
]
