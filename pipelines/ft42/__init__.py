"""dlt source for the 42 Intra API v2: one resource per table that declares a listing."""

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
from .declaration import PAGE_SIZE, Listing
from .http import ApiMisbehaved, RateLimitedAdapter, api_session, request_line
from .paginator import MAX_ID, RUN_AGAIN, IdKeysetPaginator
from .schema import shape_of

# The CDN in front of the API refuses requests without a User-Agent.
USER_AGENT = "ft42-elt/1.0"
# A page is a JSON array. Compiled once: dlt would parse the path string again for every page.
WHOLE_BODY = compile_path("$")
# Records per Arrow table handed to dlt: dlt's cost per item is high (a page at a time more than
# doubles the fetch step), memory grows with the batch; ten pages is well past the knee of both.
BATCH_SIZE = 10 * PAGE_SIZE


@dataclass(frozen=True)
class Ft42Api:
    """One authenticated, rate-limited connection to the API, shared by every request of a run."""

    root: str
    auth: Ft42OAuth
    session: Session
    adapter: RateLimitedAdapter
    # (record, field) of each text value made storable (NUL removed, half a character replaced),
    # the record as "<item> <id>" (`user 42`).
    cleaned_text: list[tuple[str, str]] = field(default_factory=list)
    # Per table, the dotted paths of the fields its records carried that no column holds (the
    # API added them).
    unmapped_fields: dict[str, set[str]] = field(default_factory=dict)

    def cleaned_text_warning(self) -> str | None:
        """One line for the run log when the fetch had to clean text, naming records and fields only."""
        if not self.cleaned_text:
            return None
        where = ", ".join(f"{record} {name}" for record, name in self.cleaned_text[:20])
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


def listing_params(listing: Listing, updated_between: tuple[datetime, datetime] | None,
                   cursus_id: int = 21) -> dict[str, str]:
    """A full listing sends the table's declared filters; an incremental window asks for every
    record changed in it, without them: `users`' alumni filter would hide who just became alumni."""
    if updated_between is None:
        return listing.params_for(cursus_id)
    since, until = updated_between
    # Round the end up: a change in the same second the run started must fall inside.
    until = until.replace(microsecond=0) + timedelta(seconds=1)
    return {"range[updated_at]": f"{_api_time(since)},{_api_time(until)}"}


@dataclass(frozen=True)
class ListingSize:
    total: int  # X-Total: the records the query selects
    budget_left: int | None  # requests left in this hour's budget, if the API said


def listing_size(api: Ft42Api, listing: Listing, cursus_id: int,
                 updated_between: tuple[datetime, datetime] | None = None, after_id: int = 0) -> ListingSize:
    """How many records a listing's query selects (past `after_id`: what a pass has left), from
    one request for a one-record page."""
    params = {**listing_params(listing, updated_between, cursus_id), "page[size]": 1}
    if after_id:
        params["range[id]"] = f"{after_id + 1},{MAX_ID}"
    response = api.session.get(f"{api.root}/v2/{listing.path(cursus_id)}", params=params, auth=api.auth)
    response.raise_for_status()
    total = response.headers.get("X-Total", "").strip()
    if not total.isdigit():
        raise ApiMisbehaved(f"{request_line(response.request)} answered without X-Total: the sync cannot tell "
                            f"how many requests {listing.table} needs; {RUN_AGAIN}")
    remaining = response.headers.get("X-Hourly-RateLimit-Remaining", "").strip()
    return ListingSize(int(total), int(remaining) if remaining.isdigit() else None)


def listing_resource(api: Ft42Api, listing: Listing, cursus_id: int,
                     updated_between: tuple[datetime, datetime] | None = None,
                     on_page: Callable[[int, int], None] | None = None,
                     paginator: IdKeysetPaginator | None = None) -> DltResource:
    """The records of one listing, keyed on `id`: all of them, or (with `updated_between`) those
    changed in that window. `on_page(fetched, total)` follows the fetch. A `paginator` of the
    caller's (a chunk of a pass: from an id, so many pages) tells afterwards where it stopped."""
    paginator = paginator or IdKeysetPaginator(PAGE_SIZE, on_page, listing.item_name)
    client = RESTClient(base_url=f"{api.root}/v2/", headers={"User-Agent": USER_AGENT},
                        auth=api.auth, session=api.session)
    shape = shape_of(listing.table)
    unmapped = api.unmapped_fields.setdefault(listing.table, set())

    # The shape already coerced every declared field; anything else is a bug to stop on.
    # Deduplicated: keyset paging on id returns each record once, and the staging table's unique
    # index on id refuses a load that repeats one, so dlt's ROW_NUMBER() pass (a sort of every
    # staged row, wide rows and all) would find nothing to drop.
    @dlt.resource(name=listing.table, primary_key="id", columns=shape.dlt_columns,
                  schema_contract={"data_type": "freeze"},
                  write_disposition={"disposition": "merge", "strategy": "delete-insert", "deduplicated": True})
    def records() -> Iterator[pa.Table]:
        pages = client.paginate(
            listing.path(cursus_id),
            params={**listing_params(listing, updated_between, cursus_id), "per_page": PAGE_SIZE, "sort": "id"},
            paginator=paginator,
            data_selector=WHOLE_BODY,
        )
        batch: list[dict] = []
        for page in pages:
            if page:
                shape.collect_unmapped_fields(page[0], unmapped)
            batch.extend(page)
            if len(batch) >= BATCH_SIZE:
                yield shape.arrow_table(batch, api.cleaned_text)
                batch = []
        if batch:
            yield shape.arrow_table(batch, api.cleaned_text)

    return records


@dlt.source(name="ft42")
def ft42_source(resources: list[DltResource]) -> list[DltResource]:
    """The tables one load writes into the raw schema (dlt's schema `ft42`)."""
    return resources
