"""The HTTP layer: routing, OAuth token requests, users listings with paging headers, errors.

One handler thread per connection (keep-alive); all state lives in the ``Emulator`` it serves.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote_plus

from .query import QueryError, _int_or, parse_list_query
from .routes import ResourceRoute, match_route
from .users import json_bytes

if TYPE_CHECKING:
    from .emulator import Emulator

JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain"
HTML_TYPE = "text/html"
TOO_MANY_BODY = b"429 Too Many Requests (Spam Rate Limit Exceeded)"
NOT_AUTHORIZED_BODY = b'{"error":"Not authorized"}'
INVALID_CLIENT = {
    "error": "invalid_client",
    "error_description": "Client authentication failed due to unknown client, no client "
                         "authentication included, or unsupported authentication method.",
}
REASONS_5XX = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}

LIST_PATH = re.compile(r"^/v2/(?:cursus/(\d+)/)?users/?$")


def _list_target(path: str) -> tuple[re.Match, ResourceRoute | None] | None:
    """(match, route) of a listing path; the route is None for the users listing."""
    match = LIST_PATH.match(path)
    return (match, None) if match else match_route(path)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    emulator: Emulator

    def handle_error(self, request, client_address):
        # Clients hanging up (or stop() cutting keep-alive sockets) is normal here.
        if isinstance(sys.exc_info()[1], (ConnectionError, OSError)):
            return
        super().handle_error(request, client_address)


def _with_page(raw_query: str, page: int) -> str:
    """The request's raw query with only the page number replaced (or appended)."""
    parts, replaced = [], False
    for part in raw_query.split("&"):
        if not part:
            continue
        key = unquote_plus(part.partition("=")[0])
        if key in ("page", "page[number]"):
            if not replaced:
                parts.append(f"{part.partition('=')[0]}={page}")
                replaced = True
            continue
        parts.append(part)
    if not replaced:
        parts.append(f"page={page}")
    return "&".join(parts)


def link_header(base: str, raw_query: str, page: int, last_page: int) -> str | None:
    rels = []
    if page > 1:
        rels += [("first", 1), ("prev", page - 1)]
    if page < last_page:
        rels += [("next", page + 1), ("last", last_page)]
    if not rels:
        return None
    return ", ".join(f'<{base}?{_with_page(raw_query, n)}>; rel="{rel}"' for rel, n in rels)


def _html_error(status: int) -> bytes:
    reason = REASONS_5XX.get(status, "Error")
    return (f"<html><head><title>{status} {reason}</title></head><body><center><h1>{status} "
            f"{reason}</h1></center><hr><center>nginx</center></body></html>\n").encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive; every response carries Content-Length
    # Headers and body leave in two writes; with Nagle, a body smaller than loopback's MSS would
    # wait for the client's delayed ACK before it is sent.
    disable_nagle_algorithm = True
    timeout = 60                    # idle keep-alive connections are closed eventually
    server: _Server

    @property
    def emu(self) -> Emulator:
        return self.server.emulator

    def setup(self):
        super().setup()
        with self.emu._lock:
            self.emu._connections.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.emu._lock:
                self.emu._connections.discard(self.connection)

    def log_message(self, format, *args):  # silence per-request stderr lines
        pass

    def version_string(self) -> str:
        return "ft42-emulator"

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    # ------------------------------------------------------------ plumbing

    def _read_body(self) -> bytes:
        length = _int_or(self.headers.get("Content-Length") or "0", 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: bytes = b"", content_type: str | None = JSON_TYPE,
              headers: list = (), trickle_ms: int = 0) -> None:
        # Log before answering: a client that has its answer must find the request in the log.
        self.emu._log(self.command, self.path, status)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not trickle_ms:
            self.wfile.write(body)
            return
        for offset in range(len(body)):   # a byte at a time: each socket read gets something
            self.wfile.write(body[offset:offset + 1])
            time.sleep(trickle_ms / 1000.0)

    def _answer(self, route: str, status: int, body: bytes, headers: list, trickle_ms: int = 0) -> None:
        """Send a successful answer of ``route``, unless ``answer_next`` replaced (part of) it."""
        content_type: str | None = JSON_TYPE
        answer = self.emu._take_answer(route)
        if answer is not None:
            new_status, new_body, new_headers = answer
            status = status if new_status is None else new_status
            body = body if new_body is None else new_body
            replaced = {name.lower() for name in new_headers}
            headers = [(n, v) for n, v in headers if n.lower() not in replaced] + list(new_headers.items())
            if "content-type" in replaced:
                content_type = None
        self._send(status, body, content_type, headers, trickle_ms)

    def _drop(self) -> None:
        """Close the socket without answering (the client sees a dropped connection)."""
        self.close_connection = True
        self.emu._log(self.command, self.path, 0)

    def _rate_headers(self, app: str) -> list:
        return self.emu._admit(app, is_list=False, consume=False)[1]

    # ------------------------------------------------------------ routing

    def _handle(self) -> None:
        body = self._read_body()
        path, _, query = self.path.partition("?")
        is_list = self.command == "GET" and _list_target(path) is not None
        if self.emu._check_down(is_list):
            if self.emu.down_mode == "503":
                return self._send(503, _html_error(503), HTML_TYPE, self._rate_headers("anonymous"))
            return self._drop()
        if not self.headers.get("User-Agent"):
            return self._send(403, b"", None, self._rate_headers("anonymous"))
        if path == "/oauth/token" and self.command == "POST":
            return self._token(body, query)
        if path == "/oauth/token/info" and self.command == "GET":
            return self._token_info()
        if path.startswith("/v2/"):
            return self._api(path, query)
        return self._send(404, b'{"error":"Not Found"}', headers=self._rate_headers("anonymous"))

    def _token(self, body: bytes, query: str) -> None:
        params = _token_params(self.headers, body, query)
        headers = self._rate_headers(params.get("client_id") or "anonymous")
        grant = params.get("grant_type")
        if not grant:
            return self._send(400, json_bytes({
                "error": "invalid_request",
                "error_description": "Missing required parameter: grant_type."}), headers=headers)
        if grant != "client_credentials":
            return self._send(400, json_bytes({
                "error": "unsupported_grant_type",
                "error_description": "The authorization grant type is not supported by the "
                                     "authorization server."}), headers=headers)
        reply = self.emu.issue_token(params.get("client_id"), params.get("client_secret"))
        if reply is None:
            return self._send(401, json_bytes(INVALID_CLIENT), headers=headers)
        self._answer("token", 200, json_bytes(reply), headers)

    def _token_info(self) -> None:
        token, problem = self.emu.authenticate(self.headers.get("Authorization"))
        headers = self._rate_headers(token.app if token else "anonymous")
        if problem:
            return self._send(401, NOT_AUTHORIZED_BODY,
                              headers=headers + [("WWW-Authenticate", problem)])
        self._send(200, json_bytes({
            "resource_owner_id": None, "scopes": ["public"],
            "expires_in_seconds": max(0, int(token.expires_at - time.time())),
            "application": {"uid": token.app}, "created_at": token.created_at,
        }), headers=headers)

    def _api(self, path: str, query: str) -> None:
        emu = self.emu
        token, problem = emu.authenticate(self.headers.get("Authorization"))
        if problem:
            headers = self._rate_headers(token.app if token else "anonymous")
            return self._send(401, NOT_AUTHORIZED_BODY,
                              headers=headers + [("WWW-Authenticate", problem)])
        target = _list_target(path)
        is_list = self.command == "GET" and target is not None
        allowed, headers, retry_after = emu._admit(token.app, is_list, consume=True)
        if not allowed:
            if retry_after is not None:
                headers = headers + [("Retry-After", str(retry_after))]
            return self._send(429, TOO_MANY_BODY, TEXT_TYPE, headers)
        if not is_list:
            return self._send(404, b'{"error":"Not Found"}', headers=headers)
        self._list(*target, query, headers)

    def _list(self, match: re.Match, route: ResourceRoute | None, query: str, headers: list) -> None:
        emu = self.emu
        try:
            parsed = parse_list_query(query) if route is None else route.parse(match, query)
        except QueryError as exc:
            return self._send(400, json_bytes({"error": exc.error, "message": exc.message}),
                              headers=headers)
        status = emu._inject_5xx()
        if status is not None:
            return self._send(status, _html_error(status), HTML_TYPE, headers)
        # A one-record page is a client asking a listing's size (X-Total), not reading it: the
        # knobs that shape a listing's pages (`on_list_request`, `answer_next("list")`) leave it
        # alone, and `answer_next("size")` shapes it instead.
        sizing = parsed.per_page == 1
        if emu.on_list_request is not None and not sizing:
            emu.on_list_request(emu, parsed.page)   # outside the lock: it may mutate
        if emu.slow_ms:
            time.sleep(emu.slow_ms / 1000.0)
        if route is None:
            body, total = emu.page(int(match.group(1)) if match.group(1) else None, parsed)
        else:
            body, total = route.page(emu, parsed)
        if emu._take_truncation(parsed.page):
            body = body[:len(body) // 2]
        headers = headers + [("X-Page", str(parsed.page)), ("X-Per-Page", str(parsed.per_page)),
                             ("X-Total", str(total))]
        host = self.headers.get("Host") or f"{emu.host}:{emu.port}"
        last_page = math.ceil(total / parsed.per_page)
        link = link_header(f"http://{host}{match.group(0)}", query, parsed.page, last_page)
        if link:
            headers.append(("Link", link))
        self._answer("size" if sizing else "list", 200, body, headers, emu.trickle_body_ms)


def _token_params(headers, body: bytes, query: str) -> dict:
    """client credentials from query, body (form or JSON) and HTTP Basic (strongest last)."""
    params = dict(parse_qsl(query, keep_blank_values=True))
    text = body.decode("utf-8", errors="replace")
    if "json" in (headers.get("Content-Type") or "").lower():
        try:
            data = json.loads(text or "{}")
            if isinstance(data, dict):
                params.update({k: str(v) for k, v in data.items() if v is not None})
        except ValueError:
            pass
    else:
        params.update(parse_qsl(text, keep_blank_values=True))
    scheme, _, encoded = (headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
            params["client_id"], params["client_secret"] = unquote_plus(user), unquote_plus(password)
        except (binascii.Error, UnicodeDecodeError):
            pass
    return params
