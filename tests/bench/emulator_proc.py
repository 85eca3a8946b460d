"""The project's 42 API emulator in its own process, driven over stdin, for the benchmark.

    python -m tests.bench.emulator_proc --students N --client-id X --client-secret Y \
        [--rate-per-second N] [--rate-per-hour N]

Like `python -m scripts.ft42_emulator` (own process, so the server does not share a GIL with the
measured sync), plus what the bench needs and the CLI cannot do: count requests, change users.
Prints `listening on URL`, then answers one line per command:

    count       -> JSON {"total", "token", "list_ok", "list_429", "other", "cpu_s"} since the last reset
    reset       -> ok                        (clears the request log)
    mutate PCT  -> ok N                      (changes PCT % of the listed students; bumps updated_at)
    quit / EOF  -> stops
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time

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
            elif command == "quit":
                break
            else:
                print(f"error unknown command {command!r}", flush=True)
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
