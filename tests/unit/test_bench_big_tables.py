"""The bench's count of list answers per route (scenarios 6 and 7): what a page of a pass is, what
a window's is, what a size request is; and where scenarios 6-8 run alone are written."""

from types import SimpleNamespace

from tests.bench.emulator_proc import pages
from tests.bench.report import BIG_TABLES, alone_heading, sections, with_section, without_section
from tests.bench.scenarios import pass_pages

LOG = [
    ("POST", "/oauth/token", 200),
    # The size requests (one record), as requests encodes them.
    ("GET", "/v2/projects_users?filter%5Bcursus%5D=21&page%5Bsize%5D=1", 200),
    ("GET", "/v2/cursus/21/users?range%5Bupdated_at%5D=a,b&page%5Bsize%5D=1", 200),
    # Chunks of a pass: keyset pages of 100.
    ("GET", "/v2/projects_users?filter%5Bcursus%5D=21&page%5Bsize%5D=100&range%5Bid%5D=5,", 200),
    ("GET", "/v2/projects_users?filter%5Bcursus%5D=21&page%5Bsize%5D=100&range%5Bid%5D=105,", 200),
    ("GET", "/v2/achievements_users?page%5Bsize%5D=100&range%5Bid%5D=0,", 200),
    # A window of changes, and answers that spent nothing or failed.
    ("GET", "/v2/cursus/21/users?range%5Bupdated_at%5D=a,b&page%5Bsize%5D=100", 200),
    ("GET", "/v2/projects_users?page%5Bsize%5D=100&range%5Bid%5D=205,", 429),
    ("GET", "/v2/projects_users?page%5Bsize%5D=100&range%5Bid%5D=205,", 503),
]


def test_pages_tells_pass_pages_from_windows_and_size_requests():
    counts = pages(SimpleNamespace(request_log=LOG))
    assert counts == {
        "projects_users": {"pages": 2, "size_requests": 1, "window_pages": 0},
        "cursus/21/users": {"pages": 0, "size_requests": 1, "window_pages": 1},
        "achievements_users": {"pages": 1, "size_requests": 0, "window_pages": 0},
    }
    assert pass_pages(counts, ["achievements_users", "projects_users"]) == 3
    assert pass_pages(counts, ["not_listed"]) == 0


def test_big_tables_run_alone_get_a_section_of_their_own():
    embedded = "## PostgreSQL 18 (embedded)"
    document = with_section(with_section("", f"{embedded}\n\nfull\n"), f"{alone_heading(embedded)}\n\n5\n")
    document = with_section(document, f"{alone_heading(embedded, BIG_TABLES)}\n\n6-8\n")
    assert list(sections(document)) == [embedded, f"{embedded}: big tables alone", alone_heading(embedded)]
    assert list(sections(without_section(document, alone_heading(embedded, BIG_TABLES)))) == [
        embedded, alone_heading(embedded)]
