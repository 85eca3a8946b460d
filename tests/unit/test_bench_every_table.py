"""Scenario 5 of the bench (every table): its minimum of requests, and its section of RESULTS.md
when run alone (tests/bench/)."""

from __future__ import annotations

from tests.bench.report import alone_heading, sections, with_section, without_section
from tests.bench.scenarios import minimum_requests

EMBEDDED = "## PostgreSQL 18 (embedded)"
FULL_RUN = f"{EMBEDDED}\n\n`run_bench` — took 5.3 min.\n\n### Results\n\n| 1-5 |\n"
ALONE_RUN = f"{alone_heading(EMBEDDED)}\n\n`run_bench --only-every-table` — took 6.0 min.\n\n| 5 |\n"


def test_the_minimum_is_a_full_page_per_request_over_each_listing_apart():
    # 40,335 users alone: 404 pages; two listings of 50 each still need a page each.
    assert minimum_requests([40_335]) == 404
    assert minimum_requests([100, 101]) == 1 + 2
    assert minimum_requests([50, 50]) == 2
    assert minimum_requests([0]) == 0


def test_a_run_alone_gets_its_own_section_beside_the_full_run():
    document = with_section(with_section("", FULL_RUN), ALONE_RUN)
    assert list(sections(document)) == [EMBEDDED, alone_heading(EMBEDDED)]
    assert "| 1-5 |" in document and "| 5 |" in document


def test_the_next_full_run_drops_the_section_of_the_run_alone():
    document = with_section(with_section("", FULL_RUN), ALONE_RUN)
    rerun = FULL_RUN.replace("| 1-5 |", "| again |")
    updated = with_section(without_section(document, alone_heading(EMBEDDED)), rerun)
    assert list(sections(updated)) == [EMBEDDED]
    assert "| again |" in updated and "| 5 |" not in updated


def test_dropping_a_section_that_is_not_there_changes_nothing():
    document = with_section("", FULL_RUN)
    assert without_section(document, alone_heading(EMBEDDED)) == document
