"""`ft42 plan`: what a sync would do now, without doing any of it.

The mode and window come from the run ledger exactly as the sync chooses them (`plan_run`); the
ledger is only read, never created. With credentials set, one request for a one-user page gives
the listing's size (`X-Total`) and the hourly budget left, so the requests the sync would need
can be set against it. Like `ft42 status`, it starts the embedded PostgreSQL when that is the
configured warehouse.
"""

from __future__ import annotations

import math
import sys
from dataclasses import replace
from datetime import datetime, timezone

import requests

from . import warehouse
from .ft42 import PAGE_SIZE, connect_api, listing_params
from .ledger import LastRuns, Ledger, read_last_runs
from .settings import Settings, load_settings
from .sync import RunPlan, plan_run


def last_runs(settings: Settings) -> LastRuns:
    db = warehouse.resolve(settings.db)
    conn = warehouse.connect(db)
    try:
        conn.set_session(readonly=True)
        with conn, conn.cursor() as cur:
            if not warehouse.table_exists(cur, db.users_schema, "sync_runs"):
                return LastRuns(cursor=None, last_full_at=None)
            return read_last_runs(cur, Ledger.table_of(db))
    finally:
        conn.close()


def listing_lines(settings: Settings, plan: RunPlan) -> list[str]:
    """The listing's size and the budget, from one request (plus the token's)."""
    api = connect_api(settings.api.root, settings.api.client_id, settings.api.client_secret,
                      settings.api.client_secret_next)
    url = f"{api.root}/v2/cursus/{settings.api.cursus_id}/users"
    response = api.session.get(url, params={**listing_params(plan.updated_between), "page[size]": 1},
                               auth=api.auth)
    response.raise_for_status()
    total = int(response.headers.get("X-Total", "0"))
    needed = max(1, math.ceil(total / PAGE_SIZE))
    lines = [f"listing    {total} users: {needed} requests of {PAGE_SIZE} users"]
    remaining, limit = (response.headers.get(f"X-Hourly-RateLimit-{name}", "") for name in ("Remaining", "Limit"))
    if remaining.isdigit():
        verdict = "fits" if needed <= int(remaining) else "does NOT fit: the sync would refuse to start"
        lines.append(f"budget     {remaining} of {limit or '?'} requests left this hour: {verdict}")
    return lines


def print_plan(full: bool | None = None) -> int:
    settings = load_settings()
    if full is not None:
        settings = replace(settings, sync=replace(settings.sync, force_full=full))
    plan = plan_run(last_runs(settings), settings.sync, datetime.now(timezone.utc))
    print(f"mode       {plan.mode} ({plan.reason})")
    if plan.updated_between is None:
        print("window     every current student of the cursus")
    else:
        since, until = plan.updated_between
        print(f"window     users changed from {since:%Y-%m-%d %H:%M:%S} to {until:%Y-%m-%d %H:%M:%S} UTC")
    if not (settings.api.client_id and settings.api.client_secret):
        print("listing    unknown: CLIENT_ID / CLIENT_SECRET not set, so the API was not asked")
        return 0
    try:
        print("\n".join(listing_lines(settings, plan)))
    except requests.RequestException as error:
        reply = error.response
        what = f"answered {reply.status_code} {reply.reason}" if reply is not None else type(error).__name__
        print(f"error: asking the API for the listing's size failed: {what}; check API_ROOT and the credentials",
              file=sys.stderr)
        return 1
    return 0
