"""The API against its own OpenAPI schema: schemathesis generates requests from the schema
and checks that no answer is a server error and that every answer is one the schema
describes (status code, content type, body).

It runs in-process against the WSGI application (`mcv.wsgi.application`), inside the
test database, once with a resident's API token and once with an officer's, in the
authorization matrix's world (every app's objects). Half the requests that name an
object (a group's slug, an alert's, a camera's or a thread's id...) name one that
exists, so that real answers get checked too, not only 404s. Bounded and deterministic: at most
MAX_EXAMPLES generated requests per operation, from a fixed seed, derandomized.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, models
from django.test import override_settings
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from alerts.models import Alert, AlertImage
from cameras.models import Camera, CameraSearch, Evidence, FootageAsk, FootageRequest
from groups.models import Area, CommunityGroup, Membership
from mcv.wsgi import application
from members.models import Organisation
from notifications.models import Delivery, Dispatch
from replies.models import Thread
from surveys.models import Poll, Survey
from tests.test_authorization_matrix import _build_cast
from tests.transactions import held_for_the_module

MD5 = "django.contrib.auth.hashers.MD5PasswordHasher"  # fast: the world's passwords are never checked

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


# What each path parameter names, by the operation's path: (path pattern, parameter) to
# the model and the attribute whose existing values the requests may use. A new API path
# whose parameters are not here fails the test: say what it names.
PARAMETERS: list[tuple[re.Pattern, str, type[models.Model], str, dict[str, Any]]] = [
    (re.compile(r"^/api/v1/alerts/"), "image_pk", AlertImage, "pk", {}),
    (re.compile(r"^/api/v1/alerts/"), "id", Alert, "pk", {}),
    (re.compile(r"^/api/v1/areas/"), "id", Area, "pk", {}),
    (re.compile(r"^/api/v1/cameras/asked/"), "id", FootageAsk, "pk", {}),
    (re.compile(r"^/api/v1/cameras/evidence/"), "uuid", Evidence, "uuid", {}),
    (re.compile(r"^/api/v1/cameras/requests/"), "id", FootageRequest, "pk", {}),
    (re.compile(r"^/api/v1/cameras/searches/"), "id", CameraSearch, "pk", {}),
    (re.compile(r"^/api/v1/cameras/\{id\}/"), "id", Camera, "pk", {}),
    (re.compile(r"^/api/v1/groups/\{slug\}/requests/"), "id", Membership, "pk", {"status": "pending"}),
    (re.compile(r"^/api/v1/groups/"), "slug", CommunityGroup, "slug", {}),
    (re.compile(r"^/api/v1/inbox/"), "id", Delivery, "pk", {"channel": "inbox"}),
    (re.compile(r"^/api/v1/me/organisations/"), "slug", Organisation, "slug", {}),
    (re.compile(r"^/api/v1/polls/"), "id", Poll, "pk", {}),
    (re.compile(r"^/api/v1/replies/messages/"), "dispatch_id", Dispatch, "pk", {}),
    (re.compile(r"^/api/v1/replies/(mine|threads)/"), "id", Thread, "pk", {}),
    (re.compile(r"^/api/v1/surveys/"), "id", Survey, "pk", {}),
]


def _existing(path: str, name: str) -> list[Any]:
    """The existing values the path parameter `name` of the operation at `path` may take."""
    for pattern, parameter, model, attribute, filters in PARAMETERS:
        if parameter == name and pattern.match(path):
            return sorted(model.objects.filter(**filters).values_list(attribute, flat=True), key=str)
    raise AssertionError(f"Say in PARAMETERS what {{{name}}} of {path} names.")


def _name_existing_objects(case) -> None:
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
        # Empty once an earlier request of the same test deleted the only one (DELETE …/{id}/).
        if candidates := _existing(case.path, name):
            case.path_parameters[name] = candidates[(choice // 2) % len(candidates)]


@pytest.fixture(scope="module")
def _world(django_db_setup, django_db_blocker):
    """The authorization matrix's cast (tests/test_authorization_matrix.py and tests/matrix/:
    both forces, residents, officers, groups, areas, and every app's rows: alerts and their
    pictures, inbox messages, reply threads, surveys and a poll, cameras, searches, footage
    requests and evidence), built once for the module in a transaction rolled back after it,
    as the matrix does. Each test runs in a savepoint inside it (pytest-django's `db`)."""
    with held_for_the_module(django_db_blocker):
        with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=[MD5]):
            pks = _build_cast()
        yield pks


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
def api_token(request, _world, _test_transaction_kept) -> str:
    """The token the API is called with: the cast's resident's, then its officer's (of Kent Police, with MFA)."""
    model, pk = _world[request.param]
    return Token.objects.create(user=model.objects.get(pk=pk)).key


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_schema(case, api_token):
    _name_existing_objects(case)
    # Rate limits are not what this test is about, and a few hundred requests would hit them.
    cache.clear()
    case.call_and_validate(base_url=BASE_URL, headers={"Authorization": f"Token {api_token}"}, checks=CHECKS)


@pytest.mark.usefixtures("_world", "db")
def test_the_world_has_something_for_every_path_parameter():
    """Every kind of object a path can name exists in the world, so the run above checks real
    answers for every operation, not only 404s."""
    paths = schema.raw_schema["paths"]
    operations = [(path, name) for path in paths for name in re.findall(r"\{(\w+)\}", path)]
    assert len(operations) > 40
    empty = [f"{{{name}}} of {path}" for path, name in operations if not _existing(path, name)]
    assert not empty, f"Nothing in the world for: {empty}"
