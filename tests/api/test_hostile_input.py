"""Hostile input in every filter and every field of every endpoint never gives
a 500 (issue 8 acceptance 5, TARGETS S9): a NUL byte, a 1 MB string, an
invalid date, emoji and Chinese text. The cases are generated from the
OpenAPI schema, so a new endpoint or filter is covered without editing this
file. Path ids point at real objects in district A (tests/api/world.py)."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from campaigns.models import Membership

from .world import build_world, resource_of

Role = Membership.Role

HOSTILE = {
    "nul": "a\x00b",
    "1mb": "长" * (1024 * 1024 // 3),
    "bad-date": "2026-02-30",
    "emoji": "🚧🏙️👍🏽",
    "chinese": "文明城市创建测评",
}


def _operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, item in sorted(schema["paths"].items()):
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch"}:
                continue
            query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            body = operation.get("requestBody", {}).get("content", {})
            media, fields = None, []
            for candidate in ("application/json", "multipart/form-data"):
                if candidate in body:
                    media = candidate
                    fields = sorted(_properties(schema, body[candidate]["schema"]))
                    break
            yield path, method, query, media, fields


def _properties(schema, node):
    if "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node.get("properties", {}).keys()


OPERATIONS = list(_operations())


def test_the_schema_yields_cases_for_every_resource():
    resources = {resource_of(path) for path, *_ in OPERATIONS}
    assert {"units", "memberships", "campaigns", "points", "work-items", "volunteers", "activities",
            "api-clients"} <= resources
    fields = sum(len(query) + len(body) for _path, _method, query, _media, body in OPERATIONS)
    assert fields > 100


@pytest.fixture
def world(city, personas, settings):
    settings.API_RATE_PER_MINUTE = 0
    return build_world(city, personas)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path,method,query,media,fields",
    [pytest.param(*op, id=f"{op[1].upper()} {op[0]}") for op in OPERATIONS if op[2] or op[4]],
)
def test_hostile_values_never_cause_a_server_error(world, personas, path, method, query, media, fields):
    """Each filter alone, each field alone, and all fields at once (to get past the first field error)."""
    api = APIClient()
    api.force_authenticate(personas.supervisor)
    url = path.replace("{id}", str(world.ids.get(resource_of(path), 1)))
    attempts = [("query", [name]) for name in query] + [("body", [name]) for name in fields]
    if len(fields) > 1:
        attempts.append(("body", fields))
    for where, names in attempts:
        for label, value in HOSTILE.items():
            if where == "query":
                response = api.generic(method.upper(), url, QUERY_STRING=f"{names[0]}={_quote(value)}")
            else:
                response = getattr(api, method)(url, {name: value for name in names},
                                                format="multipart" if media == "multipart/form-data" else "json")
            where_what = f"{where} {','.join(names)} = {label}"
            assert response.status_code < 500, f"{where_what}: {response.status_code} {response.content[:300]!r}"
            if response.status_code >= 400:
                assert set(response.json()) >= {"code", "detail"}, where_what


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
