"""An alert's journey in a real browser: an officer signs in with their password and
authenticator code, draws who the alert is for on the map, watches the audience count
follow the drawing, and publishes; the resident inside the drawing finds it in their
inbox, rates it and replies privately; the officer answers from the reply inbox and the
resident reads the answer; the resident outside never gets it.

Debian's Chromium, driven by Playwright, against pytest-django's live server; Celery runs
eagerly, so publishing fans out when the request commits. No map tiles: every request
stays on the live server.
"""

from __future__ import annotations

import json
import re
import time

import pytest
import shapely
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

from alerts.models import Alert
from groups.services import area_upsert, member_location_set
from notifications.models import Delivery
from tests.factories import PASSWORD, TOTP_SECRET, MemberFactory, OfficerFactory, OrganisationFactory

from .test_map import DESKTOP, PHONE, WCAG_AA_TAGS, open_tab, square  # noqa: F401  (open_tab is a fixture)

pytestmark = [
    pytest.mark.browser,
    # The live server sees only committed data; serialized_rollback brings back what the
    # migrations made (consent texts) for the tests after these.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def _no_tiles(settings):
    settings.MAP_TILE_URL = ""


@pytest.fixture
def kent(transactional_db):
    """Kent Police covering Maidstone (two wards), a resident in the middle of it and one in its
    south-west corner, and a Kent officer with an authenticator app."""
    police = OrganisationFactory(name="Kent Police", slug="kent-police")
    district, _ = area_upsert(
        code="E07000110", name="Maidstone", level="district", geometry=square(0.40, 51.20, 0.60, 51.30)
    )
    for code, name, x0, x1 in (("E05005001", "High Street", 0.40, 0.50), ("E05005002", "Bridge", 0.50, 0.60)):
        area_upsert(code=code, name=name, level="ward", geometry=square(x0, 51.20, x1, 51.30), parent=district)
    police.areas.add(district)
    inside = MemberFactory(email="middle@example.org", opt_in=[police])
    member_location_set(member=inside, longitude=0.52, latitude=51.25)
    outside = MemberFactory(email="corner@example.org", opt_in=[police])
    member_location_set(member=outside, longitude=0.405, latitude=51.205)
    officer = OfficerFactory(email="officer@kent.police.example", organisation=police)
    return {"police": police, "inside": inside, "outside": outside, "officer": officer}


def totp_now() -> str:
    return format_hotp_value(hotp_value(TOTP_SECRET, int(time.time()) // 30))


def sign_in_with_mfa(browser, live_server, email: str):
    """A fresh browser tab, signed in through the login form and the authenticator step."""
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "console",
        lambda msg: problems.append(msg.text)
        if "Content Security Policy" in msg.text or msg.type == "error"
        else None,
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.press("input[name=password]", "Enter")
    assert page.url.endswith("/accounts/2fa/authenticate/"), page.url
    page.fill("input[name=code]", totp_now())
    with page.expect_navigation():
        page.press("input[name=code]", "Enter")
    assert page.url == f"{live_server.url}/", page.url
    return context, page, problems


def axe_problems(page) -> dict[str, list[str]]:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    problems = {}
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        results = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA_TAGS}})
        problems[f"axe at {name}"] = [
            f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes'][:3]]}" for v in results.response["violations"]
        ]
        scroll_width, inner_width = page.evaluate("() => [document.scrollingElement.scrollWidth, innerWidth]")
        if scroll_width > inner_width:
            problems[f"scrolls sideways at {name}"] = [f"{scroll_width}px wide"]
    page.set_viewport_size(DESKTOP)
    return {k: v for k, v in problems.items() if v}


def draw_polygon(page, fractions) -> None:
    page.click("#audience-map .leaflet-draw-draw-polygon")
    box = page.locator("#audience-map").bounding_box()
    points = [(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy) for fx, fy in fractions]
    for x, y in points:
        page.mouse.click(x, y)
        page.wait_for_timeout(150)  # a person's pace: Leaflet.draw ignores a click within 50 ms of the last
    page.mouse.click(*points[0])


def test_officer_draws_the_audience_sees_it_counted_and_publishes_and_only_residents_inside_get_it(
    browser, live_server, kent, open_tab  # noqa: F811
):
    context, page, problems = sign_in_with_mfa(browser, live_server, kent["officer"].email)
    page.goto(f"{live_server.url}/alerts/manage/new/")
    page.wait_for_selector("#audience-map .leaflet-overlay-pane svg path")  # Maidstone's outline
    assert "Choose areas or groups, or draw on the map" in page.inner_text("#audience-live")

    page.select_option("#id_category", "burglary")
    page.check("#id_priority_1")  # priority 2
    page.fill("#id_title", "Burglaries around the High Street")
    page.fill("#id_body_markdown", "Three homes were broken into last night. **Lock your doors.**")

    # A square around the middle of the district: the middle resident is inside, the corner one is not.
    draw_polygon(page, [(0.35, 0.3), (0.65, 0.3), (0.65, 0.7), (0.35, 0.7)])
    page.wait_for_selector("#audience-members")
    page.wait_for_function("() => document.querySelector('#audience-members').textContent === '1'")
    drawn = json.loads(page.input_value("#id_shapes"))
    polygon = shapely.geometry.shape(drawn[0]["polygon"])
    assert polygon.contains(shapely.Point(0.52, 51.25)) and not polygon.contains(shapely.Point(0.405, 51.205))
    assert "Shape 1 is drawn and sent to" in page.inner_text("#map-status")
    assert "1 resident" in page.inner_text("#audience-live")

    # Leaving the shape out instead leaves nobody; the count follows at once.
    page.check("#shape-exclude-1")
    page.wait_for_function("() => !document.querySelector('#audience-members')")
    assert "choose at least one area" in page.inner_text("#audience-live")
    page.uncheck("#shape-exclude-1")
    page.wait_for_function("() => document.querySelector('#audience-members')?.textContent === '1'")
    assert not axe_problems(page), axe_problems(page)

    with page.expect_navigation():
        page.get_by_role("button", name="Save as a draft").click()
    alert = Alert.objects.get(title="Burglaries around the High Street")
    assert page.url == f"{live_server.url}/alerts/manage/{alert.pk}/"
    assert page.inner_text("#audience-members") == "1"
    assert "Nobody in this audience has had a message" in page.inner_text("#audience-recent")
    assert not axe_problems(page), axe_problems(page)

    with page.expect_navigation():
        page.get_by_role("button", name="Publish now").click()
    assert "is published and going out now" in page.inner_text(".messages")
    alert.refresh_from_db()
    assert alert.status == "published"
    assert page.locator("#alert-status").inner_text().startswith("Published")
    assert problems == []
    context.close()

    # The resident in the middle finds it in their inbox, with its priority in colour and in words.
    tab = open_tab(kent["inside"])
    tab.goto("/inbox/")
    tab.page.get_by_role("link", name="Burglaries around the High Street").click()
    tab.page.wait_for_selector("h1")
    assert tab.page.inner_text("h1") == "Burglaries around the High Street"
    assert tab.page.inner_text(".priority") == "Priority 2 (urgent)"
    assert "Lock your doors." in tab.page.inner_text(".message-body")
    assert not axe_problems(tab.page), axe_problems(tab.page)

    # They rate it and answer privately, from the message itself.
    tab.page.check("#id_rating-score_3")  # 4 out of 5
    with tab.page.expect_navigation():
        tab.page.get_by_role("button", name="Save my rating").click()
    assert "You rated it 4 out of 5" in tab.page.inner_text("#reply-panel")
    tab.page.fill("#id_reply-body", "A white van was parked outside number 12 at 2am.")
    with tab.page.expect_navigation():
        tab.page.get_by_role("button", name="Send my reply").click()
    assert "A white van was parked outside number 12 at 2am." in tab.page.inner_text("#reply-panel")
    assert tab.foreign_requests == [] and tab.problems == []

    # The officer finds the reply in their organisation's reply inbox and answers it.
    desk = open_tab(kent["officer"])
    desk.goto("/replies/")
    desk.page.get_by_role("link", name="A white van was parked outside number 12 at 2am.").click()
    desk.page.wait_for_selector("#id_answer-body")
    desk.page.fill("#id_answer-body", "Thank you. An officer will call to take a statement.")
    with desk.page.expect_navigation():
        desk.page.get_by_role("button", name="Send the answer").click()
    assert "An officer will call to take a statement." in desk.page.inner_text("main")
    assert not axe_problems(desk.page), axe_problems(desk.page)
    assert desk.foreign_requests == [] and desk.problems == []

    # The resident is told, and reads the answer in the same conversation.
    tab.goto("/inbox/")
    tab.page.get_by_role("link", name="New Kent Police answered your message").click()
    tab.page.wait_for_selector("h1")
    assert "An officer will call to take a statement." in tab.page.inner_text("main")

    # The alert's reach counts the reply and the rating.
    desk.goto(f"/alerts/manage/{alert.pk}/")
    reach = desk.page.inner_text("main")
    assert re.search(r"Replies\s*1", reach), reach
    assert re.search(r"Rating\s*4.0 out of 5, from 1 rating", reach), reach

    # The resident in the corner gets nothing, on any channel.
    assert not Delivery.objects.filter(dispatch=alert.dispatch, member=kent["outside"]).exists()
    other = open_tab(kent["outside"])
    other.goto("/inbox/")
    assert "Burglaries around the High Street" not in other.page.inner_text("main")
    assert "No messages yet" in other.page.inner_text("main")


def test_a_circle_drawn_and_left_out_of_a_ward(browser, live_server, kent, open_tab):  # noqa: F811
    """The accessible way and the map together: tick a ward, draw a circle, leave the circle out."""
    tab = open_tab(kent["officer"])
    tab.goto("/alerts/manage/new/")
    page = tab.page
    page.wait_for_selector("#audience-map .leaflet-overlay-pane svg path")
    page.get_by_label(re.compile(r"^Bridge \(ward")).first.check()
    page.wait_for_function("() => document.querySelector('#audience-members')?.textContent === '1'")

    # A circle around the middle of the district, wide enough to hold the resident 1.4 km east of it.
    page.click("#audience-map .leaflet-draw-draw-circle")
    box = page.locator("#audience-map").bounding_box()
    cx, cy = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 90, cy, steps=5)
    page.mouse.up()
    page.wait_for_selector("#shape-exclude-1")
    shape = json.loads(page.input_value("#id_shapes"))[0]
    assert shape["radius"]["metres"] > 1500 and abs(shape["radius"]["lat"] - 51.25) < 0.02, shape

    page.check("#shape-exclude-1")
    page.wait_for_function("() => document.querySelector('#audience-members')?.textContent === '0'")
    assert "Nobody would receive this" in page.inner_text("#audience-live")
    assert json.loads(page.input_value("#id_shapes"))[0]["exclude"] is True
    assert tab.foreign_requests == [] and tab.problems == []


def test_the_alert_pages_meet_wcag_aa_fit_a_phone_and_keep_to_csp(browser, live_server, kent, open_tab):  # noqa: F811
    from alerts.services import alert_create, alert_publish, alert_update_send
    from groups.models import CommunityGroup, Membership

    officer = kent["officer"]
    alert = alert_create(
        actor=officer, kind="appeal", category="missing_persons", priority=1, title="Missing: John, 82",
        body_markdown="John was last seen on **Elm Road**.", is_public=True,
        audience={"include": [{"polygon": square(0.45, 51.22, 0.55, 51.28)}]},
        links=[{"title": "Our appeal", "url": "https://kent.police.uk/appeal"}],
    )  # fmt: skip
    alert_publish(actor=officer, alert=alert)
    alert_update_send(actor=officer, alert=alert, kind="cancellation", body="John is home safe.")
    draft = alert_create(
        actor=officer, kind="news", category="police_news", priority=5, title="New station hours",
        body_markdown="Open 9 to 5.", audience={"include": [{"radius": {"lon": 0.5, "lat": 51.25, "metres": 800}}]},
    )  # fmt: skip
    group = CommunityGroup.objects.create(
        name="Elm Road Watch", slug="elm-road-watch", kind="interest", organisation=kent["police"]
    )
    Membership.objects.create(group=group, member=kent["outside"], role="coordinator")

    visits = {
        "public list": (kent["inside"], "/alerts/", None),
        "alert page": (kent["inside"], f"/alerts/{alert.pk}/", None),
        "officer list": (officer, "/alerts/manage/", None),
        "published alert": (officer, f"/alerts/manage/{alert.pk}/", None),
        "draft": (officer, f"/alerts/manage/{draft.pk}/", None),
        "draft with an error": (officer, f"/alerts/manage/{draft.pk}/", "schedule"),
        "preview": (officer, f"/alerts/manage/{alert.pk}/preview/", None),
        "compose with errors": (officer, "/alerts/manage/new/", "compose"),
        "change a draft": (officer, f"/alerts/manage/{draft.pk}/edit/", None),
        "group messages": (kent["outside"], "/alerts/groups/elm-road-watch/messages/", None),
    }
    problems = {}
    for name, (who, path, submit) in visits.items():
        tab = open_tab(who)
        tab.goto(path)
        if submit == "compose":
            with tab.page.expect_navigation():
                tab.page.get_by_role("button", name="Save as a draft").click()
        elif submit == "schedule":
            with tab.page.expect_navigation():
                tab.page.get_by_role("button", name="Schedule it").click()
        if submit:
            assert tab.page.locator(".error-summary").count() == 1, name
        if "leaflet" in (tab.page.content()):
            tab.page.wait_for_selector(".leaflet-overlay-pane svg path")
        found = axe_problems(tab.page)
        # A form sent back with its errors is a 400, which Chromium logs: that one is expected.
        logged = [p for p in tab.problems if not (submit and "status of 400" in p)]
        found.update({"requests elsewhere": tab.foreign_requests, "CSP and script errors": logged})
        problems[name] = {k: v for k, v in found.items() if v}
    assert {k: v for k, v in problems.items() if v} == {}
