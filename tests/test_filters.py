"""Issue 12: every filter the sync sends narrows what the API returns. The real API may ignore a
filter name it does not know rather than refuse it, so a misspelt filter would silently list
everything: each declared listing's filters are checked here against the emulator (X-Total with
and without), derived from the declarations, so a new table's filters are covered as it is added."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from conftest import CLIENT_ID, CLIENT_SECRET

from pipelines.ft42 import connect_api, listing_params
from pipelines.ft42.declaration import listings
from scripts.ft42_emulator import CURSUS_ID, Emulator

LISTINGS = listings()
# Inside the emulator's generated history (it ends on 2025-12-01): some records changed since.
WINDOW = (datetime(2025, 6, 1, tzinfo=timezone.utc), datetime.now(timezone.utc))


@pytest.fixture(scope="module")
def api():
    with Emulator(students=456, seed=11, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as emulator:
        # Every emulated user starts enrolled in the cursus: a few who leave it make a filter on
        # the cursus (projects_users' `filter[cursus]`) something that can narrow.
        for enrolment in list(emulator.listing("cursus_users"))[:5]:
            emulator.unenrol(enrolment["id"])
        yield connect_api(emulator.url, CLIENT_ID, CLIENT_SECRET)


def table_name(listing) -> str:
    return listing.table


def x_total(api, listing, params: dict[str, str]) -> int:
    response = api.session.get(f"{api.root}/v2/{listing.path(CURSUS_ID)}", params={**params, "page[size]": 1},
                               auth=api.auth)
    response.raise_for_status()
    return int(response.headers["X-Total"])


@pytest.mark.parametrize("listing", [listing for listing in LISTINGS if listing.params], ids=table_name)
def test_each_filter_of_a_full_listing_narrows_it(api, listing):
    sent = listing_params(listing, None, CURSUS_ID)
    assert sent == listing.params_for(CURSUS_ID)  # what the sync sends for a full listing or a pass
    everything = x_total(api, listing, sent)
    assert everything > 0
    for name in sent:
        without = x_total(api, listing, {key: value for key, value in sent.items() if key != name})
        assert everything < without, f"{listing.table}: {name}={sent[name]} does not narrow the listing"


@pytest.mark.parametrize("listing", [listing for listing in LISTINGS if listing.keep_current != "full"],
                         ids=table_name)
def test_the_window_of_an_incremental_listing_narrows_it(api, listing):
    sent = listing_params(listing, WINDOW)
    assert set(sent) == {"range[updated_at]"}, sent  # the window alone: the models do the rest
    changed, everything = x_total(api, listing, sent), x_total(api, listing, {})
    assert 0 < changed < everything, f"{listing.table}: {sent} selects {changed} of {everything}"


def test_an_unknown_filter_is_ignored_or_refused_never_narrowing(api):
    """Why narrowing is the proof: a misspelt filter is ignored (the same X-Total, as the real API
    did on /v2/coalitions) or refused (400, as its guides say of the users routes)."""
    ignored = []
    for listing in LISTINGS:
        sent = listing_params(listing, None, CURSUS_ID)
        response = api.session.get(f"{api.root}/v2/{listing.path(CURSUS_ID)}", auth=api.auth,
                                   params={**sent, "filter[no_such_field]": "1", "page[size]": 1})
        if response.status_code != 400:
            assert int(response.headers["X-Total"]) == x_total(api, listing, sent), listing.table
            ignored.append(listing.table)
    assert ignored, "every route refuses an unknown filter: the emulator no longer behaves like the API may"
