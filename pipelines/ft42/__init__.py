"""dlt source for the 42 Intra API v2: the current students of one cursus."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import dlt
import pyarrow as pa
from dlt.common.jsonpath import compile_path
from dlt.extract import DltResource
from dlt.sources.helpers.rest_client import RESTClient
from requests import Session

from .auth import Ft42OAuth
from .http import RateLimitedAdapter, api_session
from .paginator import IdKeysetPaginator
from .schema import USER_COLUMNS, collect_unmapped_fields, users_table

# The CDN in front of the API refuses requests without a User-Agent.
USER_AGENT = "ft42-elt/1.0"
PAGE_SIZE = 100
# A page is a JSON array. Compiled once: dlt would parse the path string again for every page.
WHOLE_BODY = compile_path("$")
# Users per Arrow table handed to dlt: dlt's cost per item is high (a page at a time more than
# doubles the fetch step), memory grows with the batch; ten pages is well past the knee of both.
BATCH_SIZE = 10 * PAGE_SIZE


@dataclass(frozen=True)
class Ft42Api:
    """One authenticated, rate-limited connection to the API, shared by every request of a run."""

    root: str
    auth: Ft42OAuth
    session: Session
    adapter: RateLimitedAdapter
    # (user id, field) of each text value made storable (NUL removed, half a character replaced).
    cleaned_text: list[tuple[int, str]] = field(default_factory=list)
    # Dotted paths of the fields users carried that no column holds (the API added them).
    unmapped_fields: set[str] = field(default_factory=set)

    def cleaned_text_warning(self) -> str | None:
        """One line for the run log when the fetch had to clean text, naming users and fields only."""
        if not self.cleaned_text:
            return None
        where = ", ".join(f"user {user_id} {name}" for user_id, name in self.cleaned_text[:20])
        more = f" and {len(self.cleaned_text) - 20} more" if len(self.cleaned_text) > 20 else ""
        return (f"Warning: the API sent text PostgreSQL cannot store (a NUL, or half a character); stored it "
                f"without the NUL or with U+FFFD in {where}{more}; report it to the API's maintainers")


def connect_api(root: str, client_id: str, client_secret: str, client_secret_next: str | None = None) -> Ft42Api:
    session, adapter = api_session()
    session.headers["User-Agent"] = USER_AGENT
    auth = Ft42OAuth(
        access_token_url=f"{root}/oauth/token", client_id=client_id, client_secret=client_secret,
        client_secret_next=client_secret_next, session=session,
    )
    return Ft42Api(root, auth, session, adapter)


def _api_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")  # whole seconds: what the API documents


def listing_params(updated_between: tuple[datetime, datetime] | None) -> dict[str, str]:
    """The full listing asks for current students only; an incremental window asks for every user
    of the cursus changed in it, because the alumni filter would hide who just became alumni."""
    if updated_between is None:
        return {"filter[kind]": "student", "filter[alumni?]": "false"}
    since, until = updated_between
    # Round the end up: a change in the same second the run started must fall inside.
    until = until.replace(microsecond=0) + timedelta(seconds=1)
    return {"range[updated_at]": f"{_api_time(since)},{_api_time(until)}"}


@dlt.source(name="ft42")
def ft42_source(api: Ft42Api, cursus_id: int = 21,
                updated_between: tuple[datetime, datetime] | None = None,
                on_page: Callable[[int, int], None] | None = None) -> DltResource:
    """Users of `cursus_id`, one record per user keyed on `id`: the current students, or (with
    `updated_between`) every user changed in that window. `on_page(fetched, total)` follows
    the fetch."""
    client = RESTClient(base_url=f"{api.root}/v2/", headers={"User-Agent": USER_AGENT},
                        auth=api.auth, session=api.session)

    # users_table already coerced every declared field; anything else is a bug to stop on.
    # Deduplicated: keyset paging on id returns each user once, and the staging table's unique
    # index on id refuses a load that repeats one, so dlt's ROW_NUMBER() pass (a sort of every
    # staged row, wide rows and all) would find nothing to drop.
    @dlt.resource(primary_key="id", columns=USER_COLUMNS, schema_contract={"data_type": "freeze"},
                  write_disposition={"disposition": "merge", "strategy": "delete-insert", "deduplicated": True})
    def users() -> Iterator[pa.Table]:
        pages = client.paginate(
            f"cursus/{cursus_id}/users",
            params={**listing_params(updated_between), "per_page": PAGE_SIZE, "sort": "id"},
            paginator=IdKeysetPaginator(PAGE_SIZE, on_page),
            data_selector=WHOLE_BODY,
        )
        batch: list[dict] = []
        for page in pages:
            if page:
                collect_unmapped_fields(page[0], api.unmapped_fields)
            batch.extend(page)
            if len(batch) >= BATCH_SIZE:
                yield users_table(batch, api.cleaned_text)
                batch = []
        if batch:
            yield users_table(batch, api.cleaned_text)

    return users
