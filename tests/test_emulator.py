"""The 42 API emulator, exercised over real HTTP on loopback, the way a client sees it."""
from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `scripts` is then importable as a namespace package

from scripts.ft42_emulator import USER_KEYS, Emulator  # noqa: E402

LISTING = "/v2/cursus/21/users"
SYNC_FILTERS = {"filter[kind]": "student", "filter[alumni?]": "false"}
ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LOCAL_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT00:00:00\.000[+-]\d\d:\d\d$")
EXPIRED_HEADER = ('Bearer realm="Doorkeeper", error="invalid_token", '
                  'error_description="The access token expired"')


class Client:
    """A minimal API client: a session with a User-Agent and, after login(), a bearer token."""

    def __init__(self, emu: Emulator):
        self.emu = emu
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "ft42-emulator-tests/1.0"

    def token_reply(self, **overrides) -> requests.Response:
        data = {"grant_type": "client_credentials", "client_id": self.emu.client_id,
                "client_secret": self.emu.client_secret, **overrides}
        return self.http.post(self.emu.url + "/oauth/token", data=data, timeout=5)

    def login(self, **overrides) -> Client:
        reply = self.token_reply(**overrides)
        assert reply.status_code == 200, reply.text
        self.http.headers["Authorization"] = "Bearer " + reply.json()["access_token"]
        return self

    def get(self, path: str = LISTING, params=None, **kwargs) -> requests.Response:
        return self.http.get(self.emu.url + path, params=params, timeout=5, **kwargs)

    def crawl(self, params) -> list[dict]:
        """Follow rel="next" without re-sending params (like dlt's HeaderLinkPaginator)."""
        reply = self.get(LISTING, params)
        rows = []
        while True:
            assert reply.status_code == 200, reply.text
            rows += reply.json()
            nxt = reply.links.get("next")
            if not nxt:
                return rows
            reply = self.http.get(nxt["url"], timeout=5)


@pytest.fixture
def make_emu():
    started = []

    def make(**kwargs) -> Emulator:
        kwargs.setdefault("students", 250)
        emu = Emulator(**kwargs).start()
        started.append(emu)
        return emu

    yield make
    for emu in started:
        emu.stop()


@pytest.fixture
def emu(make_emu) -> Emulator:
    return make_emu()


@pytest.fixture
def client(emu) -> Client:
    return Client(emu).login()


def ids(reply: requests.Response) -> list[int]:
    return [u["id"] for u in reply.json()]


# ----------------------------------------------------------------------------- auth


def test_token_reply_and_401_without_or_with_unknown_token(emu):
    c = Client(emu)
    reply = c.token_reply()
    assert reply.status_code == 200
    body = reply.json()
    assert re.fullmatch(r"[0-9a-f]{64}", body["access_token"])
    assert body["token_type"].lower() == "bearer" and body["scope"] == "public"
    assert body["expires_in"] == 7200 and body["secret_valid_until"] is None
    assert abs(body["created_at"] - time.time()) < 5

    missing = c.get()
    assert missing.status_code == 401
    unknown = c.get(headers={"Authorization": "Bearer " + "0" * 64})
    assert unknown.status_code == 401
    assert 'error_description="The access token is invalid"' in unknown.headers["WWW-Authenticate"]

    ok = c.get(headers={"Authorization": "Bearer " + body["access_token"]})
    assert ok.status_code == 200


def test_token_accepts_json_body_and_basic_auth_and_rejects_wrong_secret(emu):
    c = Client(emu)
    creds = {"grant_type": "client_credentials", "client_id": "demo-uid",
             "client_secret": "demo-secret"}
    assert c.http.post(emu.url + "/oauth/token", json=creds, timeout=5).status_code == 200
    basic = c.http.post(emu.url + "/oauth/token", data={"grant_type": "client_credentials"},
                        auth=("demo-uid", "demo-secret"), timeout=5)
    assert basic.status_code == 200

    wrong = c.token_reply(client_secret="nope")
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"


def test_secret_rotation(make_emu):
    emu = make_emu(client_secret_next="next-secret")
    c = Client(emu)
    assert c.token_reply().status_code == 200
    assert c.token_reply(client_secret="next-secret").status_code == 200
    emu.secret_rejected = True
    assert c.token_reply().status_code == 401
    assert c.token_reply(client_secret="next-secret").status_code == 200


def test_request_without_user_agent_gets_empty_403(emu):
    # http.client sends no User-Agent of its own (urllib3 2.x would add one).
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    conn.request("POST", "/oauth/token", body="grant_type=client_credentials",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    reply = conn.getresponse()
    assert reply.status == 403
    assert reply.read() == b""
    conn.close()


def test_token_expires_after_every_n_requests_with_doorkeeper_header(make_emu):
    emu = make_emu(expire_token_every=2)
    c = Client(emu).login()
    assert [c.get().status_code for _ in range(2)] == [200, 200]
    expired = c.get()
    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"] == EXPIRED_HEADER
    assert expired.json() == {"error": "Not authorized"}
    assert c.login().get().status_code == 200   # a fresh token works again


def test_token_ttl_expiry_and_token_reuse(make_emu):
    short = make_emu(token_ttl=0)
    c = Client(short).login()
    assert c.get().headers["WWW-Authenticate"] == EXPIRED_HEADER

    emu = make_emu(token_ttl=7200)
    first, second = Client(emu).token_reply().json(), Client(emu).token_reply().json()
    assert second["access_token"] == first["access_token"]   # handed back, like the real API
    assert second["expires_in"] <= first["expires_in"]


# ----------------------------------------------------------------------------- pagination


def test_pagination_headers_links_and_past_the_end(client):
    params = {**SYNC_FILTERS, "per_page": 100}
    first = client.get(params=params)
    assert first.status_code == 200
    assert first.headers["Content-Type"] == "application/json; charset=utf-8"
    assert (first.headers["X-Page"], first.headers["X-Per-Page"], first.headers["X-Total"]) == \
        ("1", "100", "250")                                  # X-Total counts items, not pages
    assert set(first.links) == {"next", "last"}
    nxt = first.links["next"]["url"]
    assert "filter%5Bkind%5D=student" in nxt and "filter%5Balumni%3F%5D=false" in nxt
    assert "per_page=100" in nxt and nxt.endswith("page=2")
    assert first.links["last"]["url"].endswith("page=3")

    last = client.http.get(first.links["last"]["url"], timeout=5)
    assert len(last.json()) == 50
    assert set(last.links) == {"first", "prev"}

    beyond = client.get(params={**params, "page": 4})
    assert beyond.status_code == 200 and beyond.json() == []
    assert "next" not in beyond.links


def test_per_page_default_clamp_and_bracket_aliases(client):
    assert len(client.get().json()) == 30
    clamped = client.get(params={"per_page": 500})
    assert clamped.headers["X-Per-Page"] == "100" and len(clamped.json()) == 100
    aliased = client.get(params={"page[number]": 2, "page[size]": 10})
    assert aliased.headers["X-Page"] == "2" and len(aliased.json()) == 10
    assert aliased.links["next"]["url"].endswith("page%5Bnumber%5D=3&page%5Bsize%5D=10")


# ----------------------------------------------------------------------------- filters and sort


def test_sync_query_returns_exactly_the_students(client, emu):
    rows = client.crawl({**SYNC_FILTERS, "per_page": 100, "sort": "id"})
    assert len(rows) == 250 == len({r["id"] for r in rows})
    assert rows == emu.matching_users()
    assert all(r["kind"] == "student" and r["alumni?"] is False for r in rows)

    everyone = client.get("/v2/users", {"per_page": 1})
    assert int(everyone.headers["X-Total"]) == len(emu.users) > 250
    kinds = {(u["kind"], u["alumni?"]) for u in emu.users.values()}
    assert ("student", True) in kinds and kinds & {("admin", False), ("external", False)}


def test_default_order_is_id_descending_and_sort_is_honoured(client, emu):
    default = ids(client.get(params={"per_page": 100}))
    assert default == sorted(default, reverse=True)
    assert default[0] == max(emu.users)
    ascending = ids(client.get(params={"per_page": 100, "sort": "id"}))
    assert ascending == sorted(emu.users)[:100]

    rows = client.get(params={"per_page": 100, "sort": "-updated_at,id"}).json()
    keys = [(r["updated_at"], -r["id"]) for r in rows]
    assert keys == sorted(keys, reverse=True)


def test_range_is_inclusive_and_bad_fields_are_400(client, emu):
    some = emu.matching_users()[10]
    stamp = some["updated_at"]
    hit = client.get(params={"range[updated_at]": f"{stamp},{stamp}", "per_page": 100})
    assert some["id"] in ids(hit)
    assert all(u["updated_at"] == stamp for u in hit.json())
    by_id = client.get(params={"range[id]": f"{some['id']},{some['id'] + 3}", "sort": "id"})
    assert ids(by_id) == [i for i in sorted(emu.users) if some["id"] <= i <= some["id"] + 3]

    bad_filter = client.get(params={"filter[shoe_size]": "42"})
    assert bad_filter.status_code == 400 and bad_filter.json()["error"] == "Filter Error"
    bad_sort = client.get(params={"sort": "-shoe_size"})
    assert bad_sort.status_code == 400 and bad_sort.json()["error"] == "Sort Error"


# ----------------------------------------------------------------------------- rate limits


def test_per_second_limit_gives_plain_text_429_with_rate_headers(make_emu):
    emu = make_emu(rate_per_second=2, rate_per_hour=100)
    c = Client(emu).login()
    ok = [c.get() for _ in range(2)]
    assert [r.status_code for r in ok] == [200, 200]
    assert [r.headers["X-Secondly-RateLimit-Remaining"] for r in ok] == ["1", "0"]
    assert ok[1].headers["X-Hourly-RateLimit-Limit"] == "100"
    assert ok[1].headers["X-Hourly-RateLimit-Remaining"] == "98"

    limited = c.get()
    assert limited.status_code == 429
    assert limited.headers["Content-Type"].startswith("text/plain")
    assert limited.text == "429 Too Many Requests (Spam Rate Limit Exceeded)"
    assert limited.headers["X-Secondly-RateLimit-Limit"] == "2"
    assert limited.headers["X-Secondly-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in limited.headers
    assert emu.count_429 == 1


def test_hourly_limit_retry_after_and_unlimited_headers(make_emu):
    emu = make_emu(rate_per_hour=1, retry_after=1)
    c = Client(emu).login()
    assert c.get().status_code == 200
    limited = c.get()
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert limited.headers["X-Hourly-RateLimit-Remaining"] == "0"

    free = Client(make_emu()).login().get()
    assert free.headers["X-Secondly-RateLimit-Limit"] == "1000000"
    assert free.headers["X-Hourly-RateLimit-Limit"] == "1000000"


def test_storm_429(client, emu):
    emu.storm_429(2, retry_after=3)
    first, second, third = client.get(), client.get(), client.get()
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["Retry-After"] == "3"
    assert emu.count_429 == 2


# ----------------------------------------------------------------------------- mutations


def test_alumnize_update_remove_and_add_are_visible(client, emu):
    params = {**SYNC_FILTERS, "per_page": 100, "sort": "id"}
    students = emu.matching_users()
    newest_before = max(u["updated_at"] for u in emu.users.values())

    gone = students[0]["id"]
    emu.alumnize(gone)
    assert client.get(params=params).headers["X-Total"] == "249"
    assert gone not in [r["id"] for r in client.crawl(params)]
    assert emu.users[gone]["alumnized_at"] == emu.users[gone]["updated_at"] > newest_before

    renamed = students[1]["id"]
    emu.update_user(renamed, login="zz-new")
    since = emu.users[renamed]["updated_at"]
    changed = client.get(params={"range[updated_at]": f"{since},2100-01-01T00:00:00.000Z"})
    assert [(u["id"], u["login"]) for u in changed.json()] == [(renamed, "zz-new")]

    emu.remove_user(students[2]["id"])
    new_ids = emu.add_students(3)
    assert min(new_ids) > max(u["id"] for u in students)
    rows = client.crawl(params)
    assert len(rows) == 249 - 1 + 3
    assert rows == emu.matching_users()


def test_on_list_request_hook_runs_before_each_page(client, emu):
    victim = emu.matching_users()[-1]["id"]      # last by id: on page 1 of the default order
    pages = []

    def hook(e, page):
        pages.append(page)
        if page == 1:
            e.alumnize(victim)

    emu.on_list_request = hook
    first = client.get(params={**SYNC_FILTERS, "per_page": 100})
    assert pages == [1]
    assert victim not in ids(first) and first.headers["X-Total"] == "249"


# ----------------------------------------------------------------------------- faults


def test_every_nth_request_fails_with_html_5xx(make_emu):
    c = Client(make_emu(fail_every_nth_5xx=2)).login()
    replies = [c.get() for _ in range(4)]
    assert replies[0].status_code == 200 and replies[2].status_code == 200
    for reply in (replies[1], replies[3]):
        assert reply.status_code in (500, 502, 503)
        assert reply.headers["Content-Type"].startswith("text/html")


def test_truncated_page_happens_once(make_emu):
    emu = make_emu(truncate_page_once_at=2)
    c = Client(emu).login()
    broken = c.get(params={"page": 2})
    assert broken.status_code == 200
    with pytest.raises(ValueError):
        json.loads(broken.content)
    assert len(c.get(params={"page": 2}).json()) == 30


def test_down_after_drops_connections_or_answers_503(make_emu):
    emu = make_emu(down_after=1)
    c = Client(emu).login()
    assert c.get().status_code == 200
    with pytest.raises(requests.ConnectionError):
        c.get()
    with pytest.raises(requests.ConnectionError):
        Client(emu).token_reply()
    assert emu.request_log[-1][2] == 0

    emu.down_mode = "503"
    assert Client(emu).token_reply().status_code == 503
    emu.down_after = None                         # back up
    assert c.get().status_code == 200


def test_request_log_records_every_request(client, emu):
    emu.reset_log()
    client.get(params={"page": 2})
    client.get("/v2/nothing")
    assert emu.request_log == [("GET", f"{LISTING}?page=2", 200), ("GET", "/v2/nothing", 404)]


# ----------------------------------------------------------------------------- data


def test_user_objects_have_the_api_shape(client):
    rows = client.get(params={"per_page": 100}).json()
    for user in rows:
        assert tuple(user) == USER_KEYS
        assert user["url"] == f"https://api.intra.42.fr/v2/users/{user['login']}"
        assert user["displayname"] == f"{user['first_name']} {user['last_name']}"
        assert ISO_MS_Z.match(user["created_at"]) and ISO_MS_Z.match(user["updated_at"])
        assert user["updated_at"] >= user["created_at"]
        assert user["pool_year"] is None or isinstance(user["pool_year"], str)
        assert set(user["image"]["versions"]) == {"large", "medium", "small", "micro"}
        for key in ("anonymize_date", "data_erasure_date"):
            assert user[key] is None or LOCAL_OFFSET.match(user[key])


def test_synthetic_data_is_deterministic_and_varied():
    a, b = Emulator(students=5000, seed=7), Emulator(students=5000, seed=7)
    assert a.users == b.users
    assert Emulator(students=50, seed=8).users != Emulator(students=50, seed=7).users
    assert len(a.matching_users()) == 5000

    users = list(a.users.values())
    assert list(a.users) == sorted(a.users) and min(a.users) >= 50000
    logins = [u["login"] for u in users]
    assert len(set(logins)) == len(logins)
    assert all(len(x) <= 8 and x.isascii() and x == x.lower()
               for x in logins if not x.startswith("3b3-"))
    names = "".join(u["displayname"] for u in users)
    assert "'" in names and "-" in names and re.search(r"[éñüç]", names)
    assert re.search(r"[\u4e00-\u9fff]", names)
    assert any(u["login"] == f"3b3-{u['id']}" for u in users)
    assert any(u["email"].endswith("@student.42campus.org") for u in users)
    assert any(u["image"]["link"] is None for u in users)
    assert any(u["correction_point"] < 0 for u in users)
    assert any(u["usual_first_name"] for u in users)
    offsets = {u["anonymize_date"][-6:] for u in users if u["anonymize_date"]}
    assert {"-03:00", "+05:30"} <= offsets
    assert 0.3 < sum(u["active?"] for u in users) / len(users) < 0.7


# ----------------------------------------------------------------------------- CLI and speed


def test_cli_prints_ready_line_serves_and_stops_on_sigterm():
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.ft42_emulator", "--students", "40",
         "--port", "0", "--client-id", "cli-uid", "--client-secret", "cli-secret"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        match = re.fullmatch(r"42 API emulator listening on (http://127\.0\.0\.1:\d+) "
                             r"\(40 students\)", line)
        assert match, line
        reply = requests.post(match.group(1) + "/oauth/token", timeout=5, data={
            "grant_type": "client_credentials", "client_id": "cli-uid",
            "client_secret": "cli-secret"})
        assert reply.status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()


def test_full_demo_crawl_is_fast():
    with Emulator(students=40335) as emu:
        c = Client(emu).login()
        started = time.monotonic()
        reply, pages, total = c.get(params={**SYNC_FILTERS, "per_page": 100}), 1, 0
        while True:
            total += reply.content.count(b'"login"')
            if "next" not in reply.links:
                break
            reply, pages = c.http.get(reply.links["next"]["url"], timeout=5), pages + 1
        assert (pages, total) == (404, 40335)
        assert time.monotonic() - started < 8
