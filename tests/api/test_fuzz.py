"""Fuzzing the whole API from its OpenAPI schema (TARGETS S3, issue 8 acceptance 1).

Schemathesis generates valid and invalid requests for every operation of
/api/v1/schema/ and calls the WSGI app in-process, once with a supervisor's
API key (city scope) and once with a handling clerk's key (district scope).
Checks: no 5xx, every response matches the schema (error responses
included), and no operation that requires credentials answers 2xx without
them. Bounded: a fixed number of examples per operation, derandomized so CI
is stable. Each operation runs in its own test, inside a transaction that is
rolled back, so nothing it creates leaks into other tests."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import ignored_auth, response_schema_conformance

from campaigns.models import Membership

from .world import add_owned, build_world, resource_of

Role = Membership.Role
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "25"))

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """The WSGI app closes "old" database connections at the end of each
    request; that would close the test's transaction. Django's own test client
    disconnects the same handlers."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(city, personas):
    return build_world(city, personas)


@pytest.fixture(params=["supervisor", "handler"])
def fuzz_key(request, city, personas, api_key, settings, world):
    # The fuzzer sends hundreds of requests a minute with one key: lift the rate limit here
    # (the limit has its own tests).
    settings.API_RATE_PER_MINUTE = 0
    settings.API_ANON_RATE_PER_MINUTE = 0
    if request.param == "supervisor":
        client, key = api_key(personas.supervisor, city.city, role=Role.SUPERVISOR, name="fuzz supervisor")
    else:
        client, key = api_key(personas.supervisor, city.district_a, role=Role.HANDLER, name="fuzz handler")
    add_owned(world, client.user)
    return key


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    # Generated cases only: the coverage phase adds an unbounded number of cases per operation.
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
@pytest.mark.django_db
def test_api_operation_survives_fuzzing(case, fuzz_key, world):
    # Point half of the generated ids at a real object in district A, so transitions
    # and updates get past the lookup and the fuzzed body reaches the services.
    generated = (case.path_parameters or {}).get("id")
    if isinstance(generated, int) and generated % 2 == 0 and resource_of(case.path) in world.ids:
        case.path_parameters["id"] = world.ids[resource_of(case.path)]
    case.call_and_validate(
        headers={"Authorization": f"Api-Key {fuzz_key}"},
        checks=[not_a_server_error, response_schema_conformance, ignored_auth],
    )
