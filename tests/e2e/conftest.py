"""What every browser test needs: Debian's Chromium, and a live server over plain http.

`browser` is module-scoped: one Chromium per test module, each test opening its own
contexts. Never a downloaded browser: Debian's, at $CHROMIUM (/usr/bin/chromium).
Tests using it carry the `browser` marker, which skips them when Chromium or Playwright
is missing (tests/conftest.py), or fails them under CI.
"""

import os

import pytest
from django.db import connections
from django.test import override_settings

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session", autouse=True)
def _live_server_over_http():
    """Django's SecurityMiddleware reads SECURE_SSL_REDIRECT once, when the live server
    builds its handler at the first test that asks for `live_server`. The per-test
    `settings` override in tests/conftest.py comes too late for it, so without this
    every page would redirect to https, which the live server does not speak."""
    with override_settings(SECURE_SSL_REDIRECT=False):
        yield


@pytest.fixture(autouse=True)
def _plain_http_cookies(settings):
    # The live server speaks plain http: cookies marked Secure would not come back.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture(scope="module")
def browser(django_db_setup):
    # Playwright's sync API keeps an event loop running in this thread; Django would
    # then refuse the ORM calls the tests make here (factories, sessions) without this.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    # With a running event loop, Django hands this thread new connection objects
    # (asgiref's Local keys them by context, not thread): the same test database, but
    # without the snapshot serialized_rollback restores from. Carry it over.
    snapshots = {
        c.alias: c._test_serialized_contents
        for c in connections.all() if hasattr(c, "_test_serialized_contents")
    }
    try:
        with sync_playwright() as playwright:
            for alias, snapshot in snapshots.items():
                connections[alias]._test_serialized_contents = snapshot
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
            # Those connections are closed here, while they can still be reached: an
            # open one would stop PostgreSQL dropping the test database at the end.
            connections.close_all()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
