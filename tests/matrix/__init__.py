"""The authorization matrix's entries for each app, one module per app (see tests/test_authorization_matrix.py).

A module here defines:

    MATRIX = {"alerts:list": (GET(...), POST(...)), ...}   # one entry per route of the app
    def build_cast(everything: dict) -> dict: ...           # the app's rows, by name

importing its vocabulary (GET, POST, roles, api, Expect, OK, LOGIN, Cast, _kwargs, …)
from `tests.test_authorization_matrix`, which imports these modules once that
vocabulary exists. `everything` holds the cast so far as model instances
("organisation", "other_organisation", "resident", "other_resident", "officer",
"officer_other_org", "force_admin", "coordinator", "essex_resident", "kent_watch",
"essex_watch", "ward", "kent_area", "essex_area", "resident_message", …).
"""

from importlib import import_module
from types import ModuleType

APPS = ("alerts", "alerts_api", "replies", "surveys", "cameras")


def app_modules() -> list[ModuleType]:
    """The modules of the apps that have entries so far (an app without routes has no module)."""
    modules = []
    for app in APPS:
        try:
            modules.append(import_module(f"tests.matrix.{app}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"tests.matrix.{app}":
                raise
    return modules
