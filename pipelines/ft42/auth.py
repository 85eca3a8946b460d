"""OAuth2 client credentials as the 42 API needs them.

dlt's OAuth2ClientCredentials renews a token only when its own clock says so. The 42 API can
revoke or expire a token earlier (401 with `WWW-Authenticate: … error_description="The access
token expired"`), and an application's secret is rotated: the old one stops working while the
next one (CLIENT_SECRET_NEXT) takes over.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from dlt.common.configuration.specs.base_configuration import configspec
from dlt.common.pendulum import pendulum
from dlt.common.typing import TSecretStrValue
from dlt.sources.helpers.rest_client.auth import OAuth2ClientCredentials
from requests import HTTPError, PreparedRequest, Response

from .http import ApiMisbehaved

# Renew this long before the announced expiry, so no request travels with a dying token.
EXPIRY_MARGIN_SECONDS = 60


@configspec
class Ft42OAuth(OAuth2ClientCredentials):
    client_secret_next: TSecretStrValue | None = None
    used_next_secret: bool = False

    def is_token_expired(self) -> bool:
        return pendulum.now() >= self.token_expiry.subtract(seconds=EXPIRY_MARGIN_SECONDS)

    def obtain_token(self) -> None:
        try:
            super().obtain_token()
        except HTTPError as error:
            rejected = error.response is not None and error.response.status_code == 401
            if not (rejected and self.client_secret_next and not self.used_next_secret):
                raise
            self.client_secret, self.used_next_secret = self.client_secret_next, True
            super().obtain_token()

    def parse_access_token(self, response_json: Any) -> str:
        token = response_json.get("access_token") if isinstance(response_json, dict) else None
        if not isinstance(token, str) or not token:
            raise ApiMisbehaved(
                f"POST {urlsplit(self.access_token_url).path} answered without an access_token, so the "
                "credentials were not the problem; check that API_ROOT is the 42 API, or run again later"
            )
        return token

    def parse_expiration_in_seconds(self, response_json: Any) -> int:
        """The token's lifetime; a value that is not a whole number of seconds (`"soon"`) falls back to
        dlt's default lifetime. A token that dies sooner than assumed costs one renewal (`_renew_on_401`),
        while refusing a usable token would stop every sync for a cosmetic fault."""
        expires_in = response_json.get("expires_in")
        if isinstance(expires_in, str) and expires_in.strip().isdigit():
            return int(expires_in)
        if isinstance(expires_in, int) and not isinstance(expires_in, bool):
            return expires_in
        return self.default_token_expiration

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request = super().__call__(request)
        request.register_hook("response", self._renew_on_401)
        return request

    def _renew_on_401(self, response: Response, **send_kwargs: Any) -> Response:
        """Get a fresh token and send the request once more (the pattern of requests' digest auth)."""
        challenge = response.headers.get("WWW-Authenticate", "")
        if response.status_code != 401 or "token" not in challenge or getattr(response.request, "renewed", False):
            return response
        self.obtain_token()
        retry = response.request.copy()
        retry.headers["Authorization"] = f"Bearer {self.access_token}"
        retry.renewed = True  # renew once per request: a second 401 is a real refusal
        response.content  # noqa: B018 - drain the body so the connection can be reused
        response.close()
        renewed = response.connection.send(retry, **send_kwargs)
        renewed.history.append(response)
        renewed.request = retry
        return renewed
