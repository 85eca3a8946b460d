"""The fetch guards' pure logic: no network, no database."""

from __future__ import annotations

import copy
import json

import pytest
from requests import PreparedRequest, Response

from pipelines.ft42 import Ft42Api
from pipelines.ft42.auth import Ft42OAuth
from pipelines.ft42.http import (
    ApiMisbehaved,
    _is_unreadable_success,
    _parse_json_once,
    _read_timeout,
    _refuse_foreign_redirect,
)
from pipelines.ft42.paginator import IdKeysetPaginator
from pipelines.ft42.schema import BadRecord, shape_of

API = "http://api.example:8042"
users_table = shape_of("users").arrow_table
USER = {
    "id": 1, "email": "a@example.org", "login": "alogin", "first_name": "Ana", "last_name": "Lee",
    "usual_full_name": "Ana Lee", "usual_first_name": None, "displayname": "Ana Lee",
    "url": "https://api.intra.42.fr/v2/users/alogin", "phone": "hidden", "kind": "student",
    "image": {"link": None, "versions": {"large": None, "medium": None, "small": None, "micro": None}},
    "staff?": False, "alumni?": False, "active?": True, "correction_point": 3, "wallet": 10,
    "pool_month": "september", "pool_year": "2024", "location": None,
    "created_at": "2024-09-01T08:00:00.000Z", "updated_at": "2024-09-02T08:00:00.000Z", "alumnized_at": None,
    "anonymize_date": None, "data_erasure_date": None,
}


def users(n: int = 3, **changes_of_the_second) -> list[dict]:
    batch = [{**copy.deepcopy(USER), "id": i + 1, "login": f"u{i + 1}"} for i in range(n)]
    batch[1].update(changes_of_the_second)
    return batch


def response(body: bytes, status: int = 200, headers: dict | None = None, url: str = f"{API}/v2/cursus/21/users",
             method: str = "GET") -> Response:
    request = PreparedRequest()
    request.prepare(method=method, url=url)
    answer = Response()
    answer.status_code, answer._content, answer.request, answer.url = status, body, request, url
    answer._content_consumed = True
    answer.headers.update(headers or {})
    if 200 <= status < 300:
        _parse_json_once(answer)
    return answer


# ---------------------------------------------------------------- schema

@pytest.mark.parametrize("changes, field", [({"kind": None}, "kind"), ({"alumni?": None}, "alumni?")])
def test_the_fields_removal_depends_on_are_required(changes, field):
    with pytest.raises(BadRecord, match=f"^user 2 has no {field.replace('?', '[?]')}: "):
        users_table(users(**changes))


def test_a_missing_alumni_flag_is_as_missing_as_a_null_one():
    batch = users()
    del batch[1]["alumni?"]
    with pytest.raises(BadRecord, match="^user 2 has no alumni"):
        users_table(batch)


@pytest.mark.parametrize("wallet", [2**63, -(2**63) - 1, str(2**63)])
def test_a_whole_number_past_bigint_names_the_user_and_field(wallet):
    with pytest.raises(BadRecord, match=r"^user 2 has wallet=.*, expected a whole number below 2\^63"):
        users_table(users(wallet=wallet))


def test_the_bigint_bounds_themselves_are_stored():
    table = users_table(users(wallet=2**63 - 1, correction_point=-(2**63)))
    assert table.column("wallet")[1].as_py() == 2**63 - 1


def test_an_id_sent_as_text_is_coerced():
    assert users_table(users(id="2")).column("id").to_pylist() == [1, 2, 3]


@pytest.mark.parametrize("bad_id", [None, "two", 2.5])
def test_an_id_that_is_not_a_whole_number_names_the_user_before_it(bad_id):
    with pytest.raises(BadRecord, match=r"^the user listed after user 1 has id="):
        users_table(users(id=bad_id))


def test_unstorable_text_is_cleaned_and_reported_by_user_and_field():
    batch = users(last_name="Nu\x00ll", first_name="Ren\ud800e")
    cleaned: list[tuple[str, str]] = []
    table = users_table(batch, cleaned)
    assert table.column("last_name")[1].as_py() == "Null"
    assert table.column("first_name")[1].as_py() == "Ren\ufffde"
    assert sorted(cleaned) == [("user 2", "first_name"), ("user 2", "last_name")]


def test_clean_text_is_reported_nowhere():
    cleaned: list[tuple[int, str]] = []
    users_table(users(), cleaned)
    assert cleaned == []


# ---------------------------------------------------------------- paginator

def paginator_after(page_size: int = 3, after_id: int = 0) -> IdKeysetPaginator:
    paginator = IdKeysetPaginator(page_size)
    paginator.after_id = after_id
    return paginator


@pytest.mark.parametrize("body, shape", [(b"null", "null"), (b'{"error":"x"}', "a JSON object"),
                                         (b'"x"', "a JSON string")])
def test_a_body_that_is_not_an_array_is_refused(body, shape):
    with pytest.raises(ApiMisbehaved, match=f"^GET /v2/cursus/21/users answered 200 with {shape} instead"):
        paginator_after().update_state(response(body))


@pytest.mark.parametrize("x_total, believed", [(None, True), ("0", True), ("7", False), ("lots", False)])
def test_an_empty_page_is_believed_only_when_x_total_agrees(x_total, believed):
    paginator = paginator_after()
    page = response(b"[]", headers={} if x_total is None else {"X-Total": x_total})
    if believed:
        paginator.update_state(page)
        assert not paginator.has_next_page
    else:
        with pytest.raises(ApiMisbehaved, match="answered an empty page, but its X-Total says"):
            paginator.update_state(page)


def test_x_total_does_not_end_a_listing_of_whole_pages():
    paginator = paginator_after()
    paginator.update_state(response(json.dumps(users()).encode(), headers={"X-Total": "3"}))
    assert paginator.has_next_page and paginator.after_id == 3


@pytest.mark.parametrize("ids, after_id, repeated, before", [([1, 2, 2], 0, 2, 2), ([5, 6, 7], 5, 5, 5),
                                                           ([1, 3, 2], 0, 2, 3)])
def test_ids_that_do_not_rise_above_the_cursor_are_refused(ids, after_id, repeated, before):
    body = json.dumps([{**USER, "id": i} for i in ids]).encode()
    with pytest.raises(ApiMisbehaved, match=f"listed user {repeated} after user {before}, but"):
        paginator_after(after_id=after_id).update_state(response(body))


def test_an_item_without_an_id_names_the_user_before_it_and_the_request():
    body = json.dumps([{**USER, "id": 4}, {**USER, "id": None}]).encode()
    with pytest.raises(BadRecord, match=r"^the user listed after user 4 has id=None, .*\(GET /v2/cursus/21/users\)"):
        paginator_after().update_state(response(body))


# ---------------------------------------------------------------- http

@pytest.mark.parametrize("body", [b"", b"<html></html>", b'[{"id": 1'])
def test_a_success_that_is_not_json_is_retried_then_reads_as_one_line(body):
    answer = response(body, headers={"Content-Type": "text/html"})
    assert _is_unreadable_success(answer, None)
    with pytest.raises(ApiMisbehaved, match=r"^GET /v2/cursus/21/users answered 200 with a body that is not JSON"):
        answer.json()


def test_a_lone_surrogate_escape_is_json():
    answer = response(b'[{"first_name": "Ren\\ud800e"}]')
    assert not _is_unreadable_success(answer, None)
    assert answer.json() == [{"first_name": "Ren\ud800e"}]


@pytest.mark.parametrize("location, refused", [
    ("http://other-host:8042/v2/x", True), ("http://api.example:9999/v2/x", True),
    ("https://api.example:8042/v2/x", True), ("/v2/cursus/21/users?page=2", False),
    ("http://API.example:8042/v2/x", False),
])
def test_a_redirect_is_refused_off_the_api_origin(location, refused):
    answer = response(b"", 307, {"Location": location}, url=f"{API}/oauth/token", method="POST")
    if refused:
        with pytest.raises(ApiMisbehaved, match="^POST /oauth/token was redirected to .*; refusing to send"):
            _refuse_foreign_redirect(answer)
    else:
        _refuse_foreign_redirect(answer)


def test_default_ports_are_the_same_origin():
    _refuse_foreign_redirect(response(b"", 302, {"Location": "http://api.example:80/v2/y"}, url="http://api.example/v2/x"))


@pytest.mark.parametrize("timeout, deadline", [(60, 60.0), ((5, 30), 30.0), (None, None)])
def test_the_deadline_is_the_configured_read_timeout(timeout, deadline):
    assert _read_timeout(timeout) == deadline


# ---------------------------------------------------------------- auth

def oauth() -> Ft42OAuth:
    return Ft42OAuth(access_token_url=f"{API}/oauth/token", client_id="id", client_secret="secret")


@pytest.mark.parametrize("reply", [{}, {"access_token": None}, {"access_token": ""}, [], None])
def test_a_token_reply_without_a_token_says_so(reply):
    with pytest.raises(ApiMisbehaved, match="^POST /oauth/token answered without an access_token"):
        oauth().parse_access_token(reply)


@pytest.mark.parametrize("expires_in, seconds", [(7200, 7200), ("120", 120), ("soon", 3600), (None, 3600),
                                                 (True, 3600)])
def test_an_unreadable_token_lifetime_falls_back_to_the_default(expires_in, seconds):
    assert oauth().parse_expiration_in_seconds({"expires_in": expires_in}) == seconds


def test_the_cleaned_text_warning_names_users_and_fields_only():
    api = Ft42Api("http://api.example", auth=None, session=None, adapter=None)
    assert api.cleaned_text_warning() is None
    users_table(users(last_name="Nu\x00ll"), api.cleaned_text)
    warning = api.cleaned_text_warning()
    assert warning.startswith("Warning: ") and "user 2 last_name" in warning and "Nu" not in warning


def test_fields_no_column_holds_are_named_by_their_path_at_any_depth():
    collect_unmapped_fields = shape_of("users").collect_unmapped_fields
    found: set[str] = set()
    user = {"id": 1, "login": "x", "staff?": False, "pronouns": "they",
            "image": {"link": None, "versions": {"large": None, "huge": None}}, "campus": {"id": 1}}
    collect_unmapped_fields(user, found)
    assert found == {"pronouns", "image.versions.huge", "campus"}
    known: set[str] = set()
    collect_unmapped_fields({"id": 2, "image": None, "alumni?": True}, known)
    assert known == set()
