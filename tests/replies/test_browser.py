"""A reply's journey in a real browser: the resident rates an alert and replies with the
keyboard alone (with a script hidden in the reply, which never runs); the officer finds
it in the reply inbox and answers; the resident reads the answer. axe-core checks each
page at desktop and phone widths.

Debian's Chromium through Playwright, against the live server (tests/e2e/conftest.py).
"""

from __future__ import annotations

import pytest

from notifications.models import Delivery, Dispatch
from replies.models import Message, Rating, Thread
from tests.e2e.conftest import _live_server_over_http, _plain_http_cookies, browser  # noqa: F401  (fixtures)
from tests.e2e.test_alerts_journey import axe_problems
from tests.e2e.test_map import open_tab  # noqa: F401  (a fixture)
from tests.factories import ForceAdminFactory, MemberFactory, OfficerFactory, OrganisationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

HOSTILE = 'Seen near the park <img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'


@pytest.fixture
def kent(transactional_db):
    police = OrganisationFactory(name="Kent Police", slug="kent-police")
    resident = MemberFactory(email="resident@example.org", first_name="Alex", opt_in=[police])
    officer = OfficerFactory(email="officer@kent.police.example", organisation=police, first_name="Jo")
    admin = ForceAdminFactory(email="admin@kent.police.example", organisation=police, first_name="Pat")
    dispatch = Dispatch.objects.create(
        organisation=police,
        source_type="alerts.alert",
        source_id="1",
        subject="Burglaries on Elm Road",
        body_text="Three homes were broken into.",
        audience={"include": []},
        status="done",
    )
    delivery = Delivery.objects.create(dispatch=dispatch, member=resident, channel="inbox", status="sent")
    return {"resident": resident, "officer": officer, "admin": admin, "dispatch": dispatch, "delivery": delivery}


def test_rate_and_reply_by_keyboard_then_the_officer_answers(open_tab, kent):  # noqa: F811
    resident = open_tab(kent["resident"])
    page = resident.page
    resident.goto(f"/inbox/{kent['delivery'].pk}/")
    assert axe_problems(page) == {}

    # Rate 4 with the keyboard: into the radio group, arrow keys, then the button.
    page.focus("#id_rating-score_0")
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    assert page.is_checked("#id_rating-score_3")
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "You rated this message 4 out of 5." in page.inner_text("main")
    assert Rating.objects.get().score == 4

    page.focus("#id_reply-body")
    page.keyboard.type(HOSTILE)
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Your message was sent to Kent Police." in page.inner_text("main")
    assert "Seen near the park" in page.inner_text("#reply-panel")
    assert page.evaluate("() => window.pwned") is None
    assert Message.objects.get().body == "Seen near the park"
    assert axe_problems(page) == {}

    officer = open_tab(kent["officer"])
    officer.goto("/replies/")
    assert axe_problems(officer.page) == {}
    with officer.page.expect_navigation():
        officer.page.click("text=Seen near the park")
    assert axe_problems(officer.page) == {}
    officer.page.fill("#id_answer-body", "Thank you. Which house?")
    with officer.page.expect_navigation():
        officer.page.click("text=Send the answer")
    assert "Your answer was sent." in officer.page.inner_text("main")
    assert officer.page.evaluate("() => window.pwned") is None

    thread = Thread.objects.get()
    assert thread.assignee == kent["officer"] and thread.awaiting_since is None
    # A fresh tab: signing the officer in (one test client for both) ended the first session.
    back = open_tab(kent["resident"])
    back.goto(f"/replies/mine/{thread.pk}/")
    assert "Thank you. Which house?" in back.page.inner_text("#reply-panel")
    back.goto("/replies/mine/")
    assert axe_problems(back.page) == {}
    assert resident.problems == [] and officer.problems == [] and back.problems == []
    assert resident.foreign_requests == [] and officer.foreign_requests == []


def test_the_reply_settings_page_and_its_errors(open_tab, kent):  # noqa: F811
    admin = open_tab(kent["admin"])
    admin.goto("/replies/settings/")
    assert axe_problems(admin.page) == {}
    admin.page.fill("#id_duty_email", "not an address")
    with admin.page.expect_navigation():
        admin.page.click("text=Save the settings")
    assert admin.page.evaluate("() => document.activeElement.className") == "error-summary"
    assert axe_problems(admin.page) == {}
    # The form's own 400 is the only thing the console reports.
    assert [p for p in admin.problems if "status of 400" not in p] == [] and admin.foreign_requests == []
