"""The command line: ``python -m scripts.ft42_emulator --students N --port P ...``.

SIGTERM or SIGINT stops it; SIGUSR1 starts the hourly request budget afresh, as if an hour had passed.
"""
from __future__ import annotations

import argparse
import signal
import threading

from .emulator import Emulator


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
    # SIGUSR1: an hour has passed, the hourly budget starts afresh (the demo's runs, a day apart).
    signal.signal(signal.SIGUSR1, lambda *_: emu.next_hour())
    emu.start()
    print(f"42 API emulator listening on {emu.url} ({args.students} students)", flush=True)
    while not stop.wait(0.5):
        pass
    emu.stop()
    return 0
