"""dlt source for the 42 Intra API v2: the students of one cursus."""

from __future__ import annotations

from dlt.sources import DltSource
from dlt.sources.helpers.rest_client.auth import OAuth2ClientCredentials
from dlt.sources.helpers.rest_client.paginators import HeaderLinkPaginator
from dlt.sources.rest_api import RESTAPIConfig, rest_api_source

from .schema import USER_COLUMNS, rename_flags

# The CDN in front of the API refuses requests without a User-Agent.
USER_AGENT = "ft42-elt/1.0"
PAGE_SIZE = 100


def ft42_source(api_root: str, client_id: str, client_secret: str, cursus_id: int = 21) -> DltSource:
    """Current (non-alumni) students of `cursus_id`, one record per user, keyed on `id`."""
    config: RESTAPIConfig = {
        "client": {
            "base_url": f"{api_root}/v2/",
            "headers": {"User-Agent": USER_AGENT},
            # One auth object for the whole source, so every request shares one token.
            "auth": OAuth2ClientCredentials(
                access_token_url=f"{api_root}/oauth/token",
                client_id=client_id,
                client_secret=client_secret,
            ),
            # The API's Link URLs carry the query string, which this paginator relies on.
            "paginator": HeaderLinkPaginator(),
        },
        "resources": [
            {
                "name": "users",
                "endpoint": {
                    "path": f"cursus/{cursus_id}/users",
                    "params": {
                        "filter[kind]": "student",
                        "filter[alumni?]": "false",
                        "per_page": PAGE_SIZE,
                        "sort": "id",
                    },
                },
                "primary_key": "id",
                "write_disposition": "merge",
                "columns": USER_COLUMNS,
                "processing_steps": [{"map": rename_flags}],
            }
        ],
    }
    return rest_api_source(config, name="ft42")
