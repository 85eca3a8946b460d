"""The project's 42 API emulator in its own process, driven over stdin, for the benchmark.

    python -m tests.bench.emulator_proc --students N --client-id X --client-secret Y \
        [--rate-per-second N] [--rate-per-hour N]

Like `python -m scripts.ft42_emulator` (own process, so the server does not share a GIL with the
measured sync), plus what the bench needs and the CLI cannot do: count requests, change users.
Prints `listening on URL`, then answers one line per command:

    count       -> JSON {"total", "token", "list_ok", "list_429", "other", "cpu_s"} since the last reset
    reset       -> ok                        (clears the request log)
    mutate PCT  -> ok N                      (changes PCT % of the listed students; bumps updated_at)
    mutate-tables PCT -> ok {table: N}       (also PCT % of cursus_users, coalitions_users, projects_users)
    next_hour   -> ok                        (the hourly budget starts afresh, like SIGUSR1)
    rate-per-hour N -> ok                    (the hourly budget from now on; 0 = unlimited)
    pages       -> JSON {route: {"pages", "size_requests", "window_pages"}} of the 200 list answers
    quit / EOF  -> stops
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import time
from collections import defaultdict
from urllib.parse import unquote, urlsplit

from scripts.ft42_emulator import Emulator

_cpu_at_reset = [0.0]  # process CPU time at the last reset


def count(emu: Emulator) -> dict:
    log = list(emu.request_log)
    lists = [status for method, path, status in log if method == "GET" and path.startswith("/v2/")]
    return {
        "total": len(log),
        "token": sum(1 for method, path, _ in log if path.startswith("/oauth/token")),
        "list_ok": sum(1 for status in lists if status == 200),
        "list_429": sum(1 for status in lists if status == 429),
        "other": sum(1 for status in lists if status not in (200, 429)),
        "cpu_s": round(time.process_time() - _cpu_at_reset[0], 2),  # is the emulator the bottleneck?
    }


def mutate(emu: Emulator, percent: float, rng: random.Random) -> int:
    """A realistic small change: wallet and location move, and updated_at with them."""
    listed = [user["id"] for user in emu.matching_users()]
    chosen = rng.sample(listed, round(len(listed) * percent / 100))
    for user_id in chosen:
        wallet = emu.users[user_id]["wallet"] or 0
        emu.update_user(user_id, wallet=wallet + rng.randint(1, 50), location=f"bench-r{rng.randint(1, 9)}")
    return len(chosen)


def pages(emu: Emulator) -> dict:
    """Per route, the list answers (200) since the last reset: one-record size requests, pages of
    an `updated_at` window, and the other pages (full listings, chunks of a pass)."""
    routes = defaultdict(lambda: {"pages": 0, "size_requests": 0, "window_pages": 0})
    for method, path, status in list(emu.request_log):
        if method != "GET" or not path.startswith("/v2/") or status != 200:
            continue
        url = urlsplit(unquote(path))
        counts = routes[url.path.removeprefix("/v2/")]
        if "page[size]=1&" in url.query + "&":
            counts["size_requests"] += 1
        elif "range[updated_at]" in url.query:
            counts["window_pages"] += 1
        else:
            counts["pages"] += 1
    return dict(routes)


def mutate_tables(emu: Emulator, percent: float, rng: random.Random) -> dict[str, int]:
    """`mutate` plus the same share of the other tables whose changes move `updated_at`: a grade,
    a coalition score, a project's mark (every PCT-th row of each listing, spread over the ids)."""
    step = round(100 / percent)
    changed = {"users": mutate(emu, percent, rng)}
    edits = {
        "cursus_users": lambda row: emu.update_cursus_user(row["id"], grade=rng.choice(["Learner", "Member"])),
        "coalitions_users": lambda row: emu.set_coalitions_user_score(row["id"], rng.randint(0, 9_999)),
        "projects_users": lambda row: emu.update_projects_user(row["id"], status="finished",
                                                               final_mark=rng.randint(50, 125)),
    }
    for table, edit in edits.items():
        chosen = [row for row in itertools.islice(emu.listing(table), step // 2, None, step)]
        for row in chosen:
            edit(row)
        changed[table] = len(chosen)
    return changed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--rate-per-second", type=int, default=0)
    parser.add_argument("--rate-per-hour", type=int, default=0)
    args = parser.parse_args()

    emu = Emulator(students=args.students, seed=args.seed, client_id=args.client_id,
                   client_secret=args.client_secret, rate_per_second=args.rate_per_second,
                   rate_per_hour=args.rate_per_hour, port=0).start()
    rng = random.Random(args.seed)  # the same users change on every benchmark run
    print(f"listening on {emu.url}", flush=True)
    try:
        for line in sys.stdin:
            command, *rest = line.split() or [""]
            if command == "count":
                print(json.dumps(count(emu)), flush=True)
            elif command == "reset":
                emu.reset_log()
                _cpu_at_reset[0] = time.process_time()
                print("ok", flush=True)
            elif command == "mutate":
                print(f"ok {mutate(emu, float(rest[0].rstrip('%')), rng)}", flush=True)
            elif command == "mutate-tables":
                print(f"ok {json.dumps(mutate_tables(emu, float(rest[0].rstrip('%')), rng))}", flush=True)
            elif command == "next_hour":
                emu.next_hour()
                print("ok", flush=True)
            elif command == "rate-per-hour":
                emu.rate_per_hour = int(rest[0])
                print("ok", flush=True)
            elif command == "pages":
                print(json.dumps(pages(emu)), flush=True)
            elif command == "quit":
                break
            else:
                print(f"error unknown command {command!r}", flush=True)
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
