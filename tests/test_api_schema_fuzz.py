"""The API against its own OpenAPI schema: schemathesis generates requests from the schema
and checks that no answer is a server error and that every answer is one the schema
describes (status code, content type, body).

It runs in-process against the WSGI application (`mcv.wsgi.application`), inside the
test database, once with a resident's API token and once with an officer's. Half the
requests that name an object (a group's slug, an area's id...) name one that exists,
so that real answers get checked too, not only 404s. Bounded and deterministic: at most
MAX_EXAMPLES generated requests per operation, from a fixed seed, derandomized.
"""

from __future__ import annotations

import zlib
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from groups.models import CommunityGroup, Membership
from groups.services import area_upsert
from mcv.wsgi import application

MAX_EXAMPLES = 25
SEED = 20261124
# HTTPS, as in production: `mcv.wsgi.application` was built with a real deployment's
# settings (SECURE_SSL_REDIRECT on), so a plain-HTTP request would only get a 301.
BASE_URL = "https://localhost"

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# Valid requests only (as the schema describes them): what is checked here is that the
# answers are the ones the schema promises. Invalid input is the unit tests' business.
CONFIG = SchemathesisConfig.from_str(
    f"""
seed = {SEED}

[generation]
mode = "positive"
max-examples = {MAX_EXAMPLES}
deterministic = true
"""
)

# Read once, when the tests are collected: the schema view needs no database.
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/",
    application,
    config=CONFIG,
    # Asked for JSON, the schema view answers `application/json` (its default is YAML).
    headers={"Accept": "application/json"},
    base_url=BASE_URL,
)


def _square(west: float, south: float, size: float = 0.02) -> dict:
    corners = [[west, south], [west + size, south], [west + size, south + size], [west, south + size]]
    return {"type": "Polygon", "coordinates": [[*corners, corners[0]]]}


@pytest.fixture
def world(organisation, other_organisation, resident, other_resident) -> dict[str, list[Any]]:
    """Objects for the requests to name: groups (with a member and a request to join), areas."""
    kent_watch = CommunityGroup.objects.create(
        name="Kent Rural Watch", slug="kent-rural-watch", kind="interest", join_policy="approval",
        organisation=organisation)
    CommunityGroup.objects.create(
        name="Kent Open Watch", slug="kent-open-watch", kind="interest", join_policy="open", organisation=organisation)
    CommunityGroup.objects.create(
        name="Essex Business Watch", slug="essex-business-watch", kind="interest", join_policy="open",
        organisation=other_organisation)
    Membership.objects.create(group=kent_watch, member=resident, share_contact=True)
    request = Membership.objects.create(group=kent_watch, member=other_resident, status="pending")
    areas = [
        area_upsert(code="E05FUZZ01", name="Fuzz Ward", level="ward", geometry=_square(0.50, 51.26),
                    recompute=False)[0],
        area_upsert(code="custom-kent-fuzz", name="Kent Hotspot", level="custom", geometry=_square(0.51, 51.27),
                    organisation=organisation, recompute=False)[0],
        area_upsert(code="custom-essex-fuzz", name="Essex Hotspot", level="custom", geometry=_square(0.7, 51.7),
                    organisation=other_organisation, recompute=False)[0],
    ]
    return {
        "group": ["kent-rural-watch", "kent-open-watch", "essex-business-watch"],
        "organisation": [organisation.slug, other_organisation.slug],
        "area": [a.pk for a in areas],
        "request": [request.pk],
    }


def _existing(path: str, name: str) -> str:
    """Which kind of object the path parameter `name` of the operation at `path` names."""
    if name == "slug":
        return "organisation" if path.startswith("/api/v1/me/organisations/") else "group"
    return "request" if "/requests/" in path else "area"


def _name_existing_objects(case, world: dict[str, list[Any]]) -> None:
    """In about half the requests, swap the generated path parameters for existing objects.

    Decided by a hash of what was generated, so the run stays deterministic (schemathesis
    cannot combine `@schema.given` strategies with the schema's own examples).
    """
    if not case.path_parameters:
        return
    choice = zlib.crc32(repr(sorted(case.path_parameters.items())).encode())
    if choice % 2:
        return
    for name in case.path_parameters:
        candidates = world[_existing(case.path, name)]
        case.path_parameters[name] = candidates[(choice // 2) % len(candidates)]


@pytest.fixture
def _test_transaction_kept(db):
    """Keep the WSGI handler from closing the database connection around each request.

    A real request starts and ends with `close_old_connections`, which drops a connection
    left in a transaction: here, the test's own, with everything the test made. Django's
    test client disconnects it for the same reason; schemathesis calls the application
    itself. (SQLite's in-memory database ignores the close; PostgreSQL does not.)
    """
    signals = (request_started, request_finished)
    for signal in signals:
        signal.disconnect(close_old_connections)
    yield
    for signal in signals:
        signal.connect(close_old_connections)


@pytest.fixture(params=["resident", "officer"])
def api_token(request, _test_transaction_kept) -> str:
    """The token the API is called with: a resident's, then an officer's (of Kent Police, with MFA)."""
    return Token.objects.create(user=request.getfixturevalue(request.param)).key


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_schema(case, api_token, world):
    _name_existing_objects(case, world)
    # Rate limits are not what this test is about, and a few hundred requests would hit them.
    cache.clear()
    case.call_and_validate(base_url=BASE_URL, headers={"Authorization": f"Token {api_token}"}, checks=CHECKS)
