"""A transaction held open around a whole module's tests, rolled back after them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction


@contextmanager
def held_for_the_module(django_db_blocker) -> Iterator[None]:
    """Open a transaction for rows a module builds once (what Django's `TestCase.setUpTestData`
    does) and roll it back when the module is done, or at once if building fails.

    Each test then runs in a savepoint inside it (pytest-django's `db`), so what a test
    changes is undone before the next. Use it from a module-scoped fixture that tests name
    in their arguments: pytest sets such a fixture up before the test's savepoint only when
    it knows of it in advance; opened inside that savepoint, it would be rolled back with it.
    """
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
