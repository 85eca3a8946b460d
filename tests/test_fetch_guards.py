"""The fetch layer never turns a misbehaving API into wrong data or a leaked secret.

Each case runs `make sync` against the emulator (real HTTP) and a real PostgreSQL, with the API
answering something it should not: a record missing the fields removal depends on, a body that is
not a page, a lying X-Total, a redirect to another host, a body that never ends, repeated ids,
values Arrow or PostgreSQL cannot hold. The run either ends with the API's exact truth, or fails
with one line naming the user and field or the request, and leaves `users` as it was.
"""

from __future__ import annotations

import json
import subprocess
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import CLIENT_ID, CLIENT_SECRET, ROOT
from helpers import (
    FAST_RETRIES,
    after_nth_list_request,
    api_truth,
    failure_line,
    make_truth_move,
    synced,
    table_bytes,
    users_table,
)


@pytest.fixture
def emulator(five_page_emulator):
    return five_page_emulator


def fails_cleanly(result, reason: str) -> str:
    line = failure_line(result)
    assert result.returncode != 0
    assert reason in line, line
    assert "Traceback" not in result.stderr
    assert CLIENT_SECRET not in result.stdout + result.stderr
    return line


def fails_and_changes_nothing(project, inject, reason: str, **env) -> str:
    """A first sync succeeds; after the API's truth moved and `inject` ran, the next one must fail
    with `reason` in its one line and leave `users` byte for byte as it was."""
    synced(project)
    before = table_bytes(project)
    make_truth_move(project)
    inject(project.emulator)
    result = project.sync(**FAST_RETRIES, **env)
    line = fails_cleanly(result, reason)
    assert table_bytes(project) == before
    return line


def page_body(users: list[dict], ensure_ascii: bool = False) -> bytes:
    return json.dumps(users, ensure_ascii=ensure_ascii, separators=(",", ":")).encode()


def first_page(emu) -> list[dict]:
    return emu.matching_users()[:100]


# ---------------------------------------------------------------- evidence a removal depends on

def _kind_null(emu, user_id):
    emu.update_user(user_id, kind=None)


def _alumni_flag_missing(emu, user_id):
    user = emu.update_user(user_id, wallet=77)  # into the incremental window
    del user["alumni?"]
    emu.answer_next("list", body=page_body([user]))


@pytest.mark.parametrize("inject, field", [(_kind_null, "kind"), (_alumni_flag_missing, "alumni?")],
                         ids=["kind null", "alumni? missing"])
def test_a_record_without_the_fields_removal_depends_on_fails_the_run(project, inject, field):
    # An incremental run: it lists changed users without the kind/alumni? filters, so the models
    # decide who is a current student, and a missing value used to remove the user.
    user_id = project.emulator.matching_users()[3]["id"]
    fails_and_changes_nothing(project, lambda emu: inject(emu, user_id), f"user {user_id} has no {field}: ")


# ---------------------------------------------------------------- bodies that are not a page

HTML = b"<html><body><h1>Welcome to the captive portal</h1></body></html>"
NOT_A_PAGE = {
    "null": (lambda emu: emu.answer_next("list", body=b"null"),
             "answered 200 with null instead of a list of users"),
    "an object": (lambda emu: emu.answer_next("list", body=b'{"error":"oops"}'),
                  "answered 200 with a JSON object instead of a list of users"),
    "[] while X-Total says users remain": (
        lambda emu: setattr(emu, "on_list_request", after_nth_list_request(
            3, lambda e: e.answer_next("list", body=b"[]"))),
        "answered an empty page, but its X-Total says "),
    "HTML, every time": (lambda emu: emu.answer_next("list", body=HTML, headers={"Content-Type": "text/html"},
                                                     times=None),
                         f"answered 200 with a body that is not JSON (text/html, {len(HTML)} bytes) after retrying"),
    "an empty body, every time": (lambda emu: emu.answer_next("list", body=b"", times=None),
                                  "answered 200 with a body that is not JSON (application/json, 0 bytes)"),
}


@pytest.mark.parametrize("inject, reason", NOT_A_PAGE.values(), ids=NOT_A_PAGE.keys())
def test_a_200_that_is_not_a_page_fails_the_run_naming_the_request(project, inject, reason):
    line = fails_and_changes_nothing(project, inject, reason, FULL="1")
    assert "GET /v2/cursus/21/users?" in line


def test_a_200_that_is_not_json_once_is_retried(project):
    project.emulator.on_list_request = after_nth_list_request(
        2, lambda e: e.answer_next("list", body=HTML, headers={"Content-Type": "text/html"}))
    synced(project)
    assert users_table(project) == api_truth(project)


def test_a_lying_x_total_does_not_end_the_listing(project):
    # Page 4 of 5 is whole and says it holds every remaining user: 56 more follow on page 5.
    project.emulator.on_list_request = after_nth_list_request(
        4, lambda e: e.answer_next("list", headers={"X-Total": "100"}))
    synced(project)
    assert users_table(project) == api_truth(project)


# ---------------------------------------------------------------- redirects carry no credential

class _Recorder(BaseHTTPRequestHandler):
    """Another host: records every request, and answers as the API does to an expired token."""

    received: list

    def do_GET(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.received.append((self.command, self.path, dict(self.headers), self.rfile.read(length)))
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Bearer error="invalid_token", '
                                             'error_description="The access token expired"')
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_POST = do_GET

    def log_message(self, *args):
        pass


@contextmanager
def other_host():
    handler = type("Recorder", (_Recorder,), {"received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, handler.received
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("status", [302, 307])
def test_a_list_request_redirected_to_another_host_sends_it_nothing(project, status):
    with other_host() as (host, received):
        port = host.server_address[1]
        project.emulator.answer_next("list", status, b"", {
            "Location": f"http://127.0.0.1:{port}/v2/cursus/21/users?page=1"})
        result = project.sync(**FAST_RETRIES)
    line = fails_cleanly(result, f"was redirected to 127.0.0.1:{port}; refusing to send credentials there; "
                                 "check API_ROOT")
    assert "GET /v2/cursus/21/users?" in line
    assert received == []


def test_the_token_request_redirected_to_another_host_sends_it_nothing(project):
    with other_host() as (host, received):
        port = host.server_address[1]
        project.emulator.answer_next("token", 307, b"", {"Location": f"http://127.0.0.1:{port}/oauth/token"})
        result = project.sync(**FAST_RETRIES)
    fails_cleanly(result, f"POST /oauth/token was redirected to 127.0.0.1:{port}; refusing to send credentials")
    assert received == []


def test_a_redirect_within_the_api_is_followed(project):
    project.emulator.answer_next("token", 307, b"", {"Location": "/oauth/token"})
    synced(project)
    assert users_table(project) == api_truth(project)


# ---------------------------------------------------------------- a body that never ends

def sync_within(project, seconds: float, **env) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["make", "-s", "sync"], cwd=ROOT, env={**project.env, **FAST_RETRIES, **env},
                              capture_output=True, text=True, timeout=seconds)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the sync was still running after {seconds} s")


def test_a_body_trickled_past_the_request_timeout_fails_as_no_answer(project):
    # A byte every 0.3 s: no socket read ever waits the 2 s timeout, yet a page would take hours.
    project.emulator.trickle_body_ms = 300
    result = sync_within(project, 120, RUNTIME__REQUEST_TIMEOUT="2")
    line = fails_cleanly(result, "GET /v2/cursus/21/users?")
    assert "got no answer from" in line and "ReadTimeout" in line


def test_a_body_trickled_once_is_retried(project):
    def trickle_only_the_second(emu, _page, calls=[]):  # noqa: B006 - the count of this test's requests
        calls.append(1)
        emu.trickle_body_ms = 300 if len(calls) == 2 else 0
    project.emulator.on_list_request = trickle_only_the_second
    result = sync_within(project, 120, RUNTIME__REQUEST_TIMEOUT="2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert users_table(project) == api_truth(project)


# ---------------------------------------------------------------- ids a keyset listing cannot have

def _repeat_within_a_page(emu):
    page = emu.matching_users()[100:200]
    page[5] = page[4]
    emu.answer_next("list", body=page_body(page))


def _repeat_across_pages(emu):
    users = emu.matching_users()
    emu.answer_next("list", body=page_body([users[99]] + users[101:200]))


@pytest.mark.parametrize("page_two, repeated_index", [(_repeat_within_a_page, 104), (_repeat_across_pages, 99)],
                         ids=["within a page", "across pages"])
def test_a_repeated_id_fails_the_run_naming_it(project, page_two, repeated_index):
    def inject(emu):
        emu.on_list_request = after_nth_list_request(2, page_two)
    synced(project)
    before = table_bytes(project)
    inject(project.emulator)
    repeated = project.emulator.matching_users()[repeated_index]["id"]
    result = project.sync(**FAST_RETRIES, FULL="1")
    fails_cleanly(result, f"listed user {repeated} after user {repeated}, but the ids of a listing sorted by id")
    assert table_bytes(project) == before


# ---------------------------------------------------------------- values Arrow or PostgreSQL cannot hold

def test_text_postgresql_cannot_hold_is_cleaned_and_the_rest_stored_exactly(project):
    emu = project.emulator
    nul_user = emu.matching_users()[3]["id"]
    emu.update_user(nul_user, last_name="Nu\u0000ll")
    page = first_page(emu)
    page[7]["first_name"] = "Ren\ud800e"   # half of a surrogate pair: JSON allows the escape
    emu.answer_next("list", body=page_body(page, ensure_ascii=True))

    synced(project)
    (warning,) = [line for line in project.log_text.splitlines() if "Warning: the API sent text" in line]
    assert f"user {nul_user} last_name" in warning and f"user {page[7]['id']} first_name" in warning
    table, truth = users_table(project), api_truth(project)
    got = project.query("select id, last_name, first_name from users where id in %s", ((nul_user, page[7]["id"]),))
    assert dict((row[0], row[1:]) for row in got) == {
        nul_user: ("Null", truth[nul_user][3]), page[7]["id"]: (truth[page[7]["id"]][4], "Ren\ufffde")}
    assert {k: v for k, v in table.items() if k not in (nul_user, page[7]["id"])} == {
        k: v for k, v in truth.items() if k not in (nul_user, page[7]["id"])}


def test_an_id_sent_as_text_is_coerced(project):
    page = first_page(project.emulator)
    page[0]["id"] = str(page[0]["id"])
    project.emulator.answer_next("list", body=page_body(page))
    synced(project)
    assert users_table(project) == api_truth(project)


def _id_null(emu):
    page = first_page(emu)
    page[4]["id"] = None
    emu.answer_next("list", body=page_body(page))


def _wallet_past_bigint(emu):
    emu.update_user(emu.matching_users()[7]["id"], wallet=2**63)


def _token_without_access_token(emu):
    emu.answer_next("token", body=b'{"token_type":"bearer","expires_in":7200,"scope":"public"}')


ODD_VALUES = {
    "id null": (_id_null, lambda users: f"the user listed after user {users[3]['id']} has id=None, expected a "
                                        "whole number"),
    "wallet 2^63": (_wallet_past_bigint, lambda users: f"user {users[7]['id']} has wallet=9223372036854775808, "
                                                       "expected a whole number below 2^63"),
    "token reply without access_token": (_token_without_access_token,
                                         lambda users: "POST /oauth/token answered without an access_token"),
}


@pytest.mark.parametrize("inject, reason", ODD_VALUES.values(), ids=ODD_VALUES.keys())
def test_a_value_that_cannot_be_stored_fails_with_a_line_not_an_exception_name(project, inject, reason):
    users = project.emulator.matching_users()
    inject(project.emulator)
    result = project.sync(**FAST_RETRIES)
    fails_cleanly(result, reason(users))


def test_a_token_reply_with_an_unreadable_lifetime_still_works(project):
    emu = project.emulator
    reply = emu.issue_token(CLIENT_ID, CLIENT_SECRET)
    emu.answer_next("token", body=json.dumps({**reply, "expires_in": "soon"}).encode())
    synced(project)
    assert users_table(project) == api_truth(project)

