"""Listing routes of the rest of a cursus: path pattern -> resource, plus the filter the path implies.

``match_route`` is the server's lookup; a route parses the query for its resource and pages it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .query import ListQuery
from .resource_query import filter_value, parse_resource_query
from .specs import SPECS

if TYPE_CHECKING:
    from .emulator import Emulator


@dataclass(frozen=True)
class ResourceRoute:
    pattern: re.Pattern
    resource: str
    path_field: str | None = None     # the filter the path's number stands for

    def parse(self, match: re.Match, query_string: str) -> ListQuery:
        """The query, narrowed by the path's filter (raises QueryError)."""
        spec = SPECS[self.resource]
        query = parse_resource_query(query_string, spec)
        if self.path_field is None:
            return query
        value = frozenset({filter_value(spec.types[self.path_field], match.group(1))})
        # A query filter on the same field still applies: both must hold.
        return replace(query, filters=query.filters + ((self.path_field, value),))

    def page(self, emu: Emulator, query: ListQuery) -> tuple[bytes, int]:
        return emu.resource_page(self.resource, query)


def _route(path: str, resource: str, path_field: str | None = None) -> ResourceRoute:
    return ResourceRoute(re.compile(f"^{path}/?$"), resource, path_field)


ROUTES = (
    _route(r"/v2/cursus/(\d+)/cursus_users", "cursus_users", "cursus_id"),
    _route(r"/v2/cursus_users", "cursus_users"),
    _route(r"/v2/users/(\d+)/cursus_users", "cursus_users", "user_id"),
    _route(r"/v2/cursus/(\d+)/projects", "projects", "cursus_id"),
    _route(r"/v2/projects", "projects"),
    _route(r"/v2/projects_users", "projects_users"),
    _route(r"/v2/projects/(\d+)/projects_users", "projects_users", "project_id"),
    _route(r"/v2/users/(\d+)/projects_users", "projects_users", "user_id"),
    _route(r"/v2/achievements", "achievements"),
    _route(r"/v2/cursus/(\d+)/achievements", "achievements", "cursus_id"),
    _route(r"/v2/achievements_users", "achievements_users"),
    _route(r"/v2/coalitions", "coalitions"),
    _route(r"/v2/blocs/(\d+)/coalitions", "coalitions", "bloc_id"),
    _route(r"/v2/coalitions_users", "coalitions_users"),
    _route(r"/v2/coalitions/(\d+)/coalitions_users", "coalitions_users", "coalition_id"),
    _route(r"/v2/users/(\d+)/coalitions_users", "coalitions_users", "user_id"),
)


def match_route(path: str) -> tuple[re.Match, ResourceRoute] | None:
    for route in ROUTES:
        match = route.pattern.match(path)
        if match:
            return match, route
    return None
