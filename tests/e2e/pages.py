"""The pages the accessibility tests walk, and who looks at each one.

Shared by tests/core/test_pages_accessibility.py (Django's test client, always runs)
and tests/e2e/test_accessibility.py (Chromium and axe-core). Each page is seen by one
member of a small cast; `log_in` gives a test client that member's session, which the
browser tests copy into Chromium as its cookie, so no test pays for a login form it
is not testing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from html.parser import HTMLParser

from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from django.test import Client
from django.urls import reverse

from members.links import preferences_link_token
from members.models import Member
from tests.factories import (
    PASSWORD,
    ForceAdminFactory,
    MemberFactory,
    OfficerFactory,
    OrganisationFactory,
)


@dataclass(frozen=True)
class Page:
    """One page as one member sees it; `submit`: after posting a form of it empty (errors)."""

    id: str
    url_name: str
    who: str | None = None
    submit: bool = False
    form: int = 0  # which POST form in <main> `submit` sends (0: the first)

    def url(self, cast: dict[str, Member]) -> str:
        if self.url_name == "members:preferences_link":
            token = preferences_link_token(member=cast["resident"])
            return reverse(self.url_name, kwargs={"token": token})
        return reverse(self.url_name)


PAGES = [
    # Anyone
    Page("home", "home"),
    Page("signup", "account_signup"),
    Page("signup-errors", "account_signup", submit=True),
    Page("login", "account_login"),
    Page("login-errors", "account_login", submit=True),
    Page("password-reset", "account_reset_password"),
    Page("password-reset-errors", "account_reset_password", submit=True),
    Page("verification-sent", "account_email_verification_sent"),
    Page("preferences-link", "members:preferences_link"),
    Page("mfa-authenticate", "mfa_authenticate", who="officer_at_mfa_step"),
    Page("mfa-authenticate-errors", "mfa_authenticate", who="officer_at_mfa_step", submit=True),
    # A resident
    Page("home-resident", "home", who="resident"),
    Page("preferences", "members:preferences", who="resident"),
    Page("privacy", "members:privacy", who="resident"),
    Page("profile", "members:profile", who="resident"),
    Page("profile-errors", "members:profile", who="resident", submit=True),
    Page("account-delete", "members:delete", who="resident"),
    Page("account-delete-errors", "members:delete", who="resident", submit=True),
    Page("api-token", "members:api_token", who="resident"),
    Page("email", "account_email", who="resident"),
    Page("password-change", "account_change_password", who="resident"),
    Page("password-change-errors", "account_change_password", who="resident", submit=True),
    Page("mfa-index", "mfa_index", who="resident"),
    Page("reauthenticate", "account_reauthenticate", who="resident"),
    Page("logout", "account_logout", who="resident"),
    Page("email-add-errors", "account_email", who="resident", submit=True, form=1),
    # Officers
    Page("mfa-activate", "mfa_activate_totp", who="officer_without_mfa"),
    Page("mfa-activate-errors", "mfa_activate_totp", who="officer_without_mfa", submit=True),
    Page("home-officer", "home", who="officer"),
    Page("organisation-members", "members:organisation_members", who="officer"),
    Page("recovery-codes", "mfa_view_recovery_codes", who="officer"),
    Page("recovery-codes-generate", "mfa_generate_recovery_codes", who="officer"),
    Page("officers", "members:officers", who="force_admin"),
    Page("officer-create", "members:officer_create", who="force_admin"),
    Page("officer-create-errors", "members:officer_create", who="force_admin", submit=True),
    # Groups and areas
    Page("groups", "groups:list", who="resident"),
    Page("inbox", "notifications:inbox", who="resident"),
    Page("my-location", "areas:my_location", who="resident"),
    Page("groups-manage", "groups:manage_list", who="officer"),
    Page("areas", "areas:list", who="officer"),
    Page("area-draw", "areas:draw", who="officer"),
    Page("area-draw-errors", "areas:draw", who="officer", submit=True),
    # Cameras (the detail pages are checked with axe in tests/e2e/test_cameras_journey.py)
    Page("cameras-mine", "cameras:mine", who="resident"),
    Page("camera-register", "cameras:register", who="resident"),
    Page("camera-register-errors", "cameras:register", who="resident", submit=True),
    Page("camera-asks", "cameras:asks", who="resident"),
    Page("camera-search", "cameras:search", who="officer"),
    Page("camera-search-errors", "cameras:search", who="officer", submit=True),
    Page("camera-requests", "cameras:requests", who="officer"),
    Page("camera-coverage", "cameras:coverage", who="force_admin"),
    Page("area-responsibility", "areas:responsibility", who="force_admin"),
    # Alerts (the pages of one alert are checked in tests/alerts/test_page_markup.py and
    # with axe in tests/e2e/test_alerts_journey.py)
    Page("alerts-public", "alerts:public_list"),
    Page("alerts-manage", "alerts:list", who="officer"),
    Page("alert-compose", "alerts:create", who="officer"),
    Page("alert-compose-errors", "alerts:create", who="officer", submit=True),
    # Replies (with conversations on them: tests/replies/test_pages_accessibility.py)
    Page("replies-mine", "replies:mine", who="resident"),
    Page("replies-inbox", "replies:inbox", who="officer"),
    Page("replies-settings", "replies:settings", who="force_admin"),
    # Surveys (the pages of one survey: tests/surveys/test_page_markup.py, and with axe in
    # tests/e2e/test_surveys_journey.py)
    Page("surveys-mine", "surveys:list", who="resident"),
    Page("surveys-manage", "surveys:manage_list", who="officer"),
    Page("survey-create", "surveys:create", who="officer"),
    Page("survey-create-errors", "surveys:create", who="officer", submit=True),
]


def pages(*ids: str) -> list[Page]:
    """The pages with these ids, in PAGES' order (an unknown id is an error)."""
    unknown = set(ids) - {p.id for p in PAGES}
    assert not unknown, f"no such page: {unknown}"
    return [p for p in PAGES if p.id in ids]


def cast_create() -> dict[str, Member]:
    """Two forces, a resident who opted in to one, its officers and force admin."""
    kent = OrganisationFactory(name="Kent Police", slug="kent-police")
    OrganisationFactory(name="Essex Police", slug="essex-police")
    return {
        "resident": MemberFactory(email="resident@example.org", first_name="Alex",
                                  last_name="Resident", phone="+447700900123", opt_in=[kent]),
        "officer": OfficerFactory(email="officer@kent.police.example", organisation=kent,
                                  first_name="Jo", last_name="Officer"),
        "officer_without_mfa": OfficerFactory(email="new@kent.police.example", organisation=kent,
                                              first_name="Sam", last_name="New", with_mfa=False),
        "force_admin": ForceAdminFactory(email="admin@kent.police.example", organisation=kent,
                                         first_name="Pat", last_name="Admin"),
    }


def log_in(client: Client, who: str | None, cast: dict[str, Member]) -> Client:
    """Give `client` the session `who` has after logging in (None: anonymous)."""
    client.logout()
    if who == "officer_at_mfa_step":
        # Password accepted, authenticator code not yet asked: allauth's login stage.
        response = client.post(reverse("account_login"),
                               {"login": cast["officer"].email, "password": PASSWORD})
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_authenticate")
    elif who is not None:
        member = cast[who]
        client.force_login(member)
        # What allauth records when the password was just confirmed; without it the
        # pages that ask for that (MFA set-up, recovery codes) would ask again.
        session = client.session
        session[AUTHENTICATION_METHODS_SESSION_KEY] = [
            {"method": "password", "at": time.time(), "email": member.email, "reauthenticated": True}
        ]
        session["account_authentication_methods_user"] = str(member.pk)
        session.save()
    return client


class _FormsParser(HTMLParser):
    """The POST forms in <main>: each one's action, and what a browser sends for it when
    every text box is cleared and its first button pressed (the way tests/e2e submits)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._in_main = False
        self._form: dict | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "main":
            self._in_main = True
        elif tag == "form" and self._in_main and a.get("method", "").lower() == "post":
            self._form = {"action": a.get("action", ""), "data": [], "pressed": False}
            self.forms.append(self._form)
        elif self._form is None or ("name" not in a and tag not in ("option", "button", "input")):
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "hidden" or (kind in ("checkbox", "radio") and "checked" in a):
                self._form["data"].append((a["name"], a.get("value", "on")))
            elif kind not in ("checkbox", "radio", "submit", "button", "reset", "image") and "name" in a:
                self._form["data"].append((a["name"], ""))
        elif tag == "button" and a.get("type", "submit") == "submit" and not self._form["pressed"]:
            self._form["pressed"] = True
            if "name" in a:
                self._form["data"].append((a["name"], a.get("value", "")))
        elif tag == "textarea":
            self._form["data"].append((a["name"], ""))
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self._form["data"].append((self._select, a.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def open_page(client: Client, page: Page, cast: dict[str, Member]):
    """The page's response through the test client; if `submit`, after sending its
    form with every text box cleared, as a person who typed nothing would."""
    log_in(client, page.who, cast)
    url = page.url(cast)
    response = client.get(url)
    if not page.submit:
        return response
    parser = _FormsParser()
    parser.feed(response.content.decode())
    assert len(parser.forms) > page.form, f"{page.id}: no form {page.form} to submit"
    form = parser.forms[page.form]
    data: dict[str, list[str]] = {}
    for name, value in form["data"]:
        data.setdefault(name, []).append(value)
    return client.post(form["action"] or url, data)
