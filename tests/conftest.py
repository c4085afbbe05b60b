"""The cast of every test, and the rules for tests that need real services.

Tests marked `services` need the real PostgreSQL (DATABASE_URL) and Redis (REDIS_URL);
tests marked `browser` need Debian's Chromium. Without them those tests are skipped
with the reason, except under CI (CI=true), where a skip would hide a failure: there
they fail.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.conf import settings
from django.core.cache import cache

from mcv.celery import app as celery_app

from .factories import ForceAdminFactory, MemberFactory, OfficerFactory, OrganisationFactory

UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _missing_services() -> str | None:
    missing = []
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        missing.append("DATABASE_URL pointing at PostgreSQL")
    if not settings.REDIS_URL:
        missing.append("REDIS_URL")
    return ", ".join(missing) or None


def _missing_browser() -> str | None:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        return f"Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package"
    return None


def pytest_runtest_setup(item):
    for marker, check in (("services", _missing_services), ("browser", _missing_browser)):
        if item.get_closest_marker(marker):
            missing = check()
            if missing:
                reason = f"needs {missing}; .ci/run provides it"
                if UNDER_CI:
                    pytest.fail(f"CI=true but this test {reason}", pytrace=False)
                pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    """Each test starts with an empty cache (rate limits!) and eager, local-only side effects.

    Even with REDIS_URL set (CI), tasks run eagerly in the test process unless a test
    asks for the real worker (see tests/core/test_celery_worker.py).
    """
    cache.clear()
    celery_app.conf.task_always_eager = True
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SECURE_SSL_REDIRECT = False
    yield
    cache.clear()


@pytest.fixture
def organisation(db):
    return OrganisationFactory(name="Kent Police", slug="kent-police")


@pytest.fixture
def other_organisation(db):
    return OrganisationFactory(name="Essex Police", slug="essex-police")


@pytest.fixture
def resident(organisation):
    return MemberFactory(email="resident@example.org", first_name="Alex", last_name="Resident", opt_in=[organisation])


@pytest.fixture
def other_resident(organisation):
    return MemberFactory(email="other@example.org", first_name="Sam", last_name="Other", opt_in=[organisation])


@pytest.fixture
def officer(organisation):
    return OfficerFactory(
        email="officer@kent.police.example", organisation=organisation, first_name="Jo", last_name="Officer"
    )


@pytest.fixture
def officer_other_org(other_organisation):
    return OfficerFactory(
        email="officer@essex.police.example", organisation=other_organisation, first_name="Lee", last_name="Elsewhere"
    )


@pytest.fixture
def force_admin(organisation):
    return ForceAdminFactory(
        email="admin@kent.police.example", organisation=organisation, first_name="Pat", last_name="Admin"
    )


@pytest.fixture
def client_for(client):
    """`client_for(member)`: the test client logged in as that member (None: anonymous)."""

    def login(member):
        client.logout()
        if member is not None:
            client.force_login(member)
        return client

    return login
