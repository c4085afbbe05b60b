"""A survey's journey in a real browser: an officer builds a three-question survey (one
question shown only after a "No"), previews it, targets a ward, sees the audience
counted and publishes; a resident of that ward finds the invitation in their inbox,
answers on a phone-sized screen, and the officer's results page shows the answer in
its chart. A resident of the other ward is never invited.

Debian's Chromium, driven by Playwright, against pytest-django's live server; Celery runs
eagerly, so publishing fans out when the request commits. Every request stays on the
live server; axe-core checks the survey pages at desktop and phone widths.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from groups.services import area_upsert, member_location_set
from notifications.models import Delivery
from surveys.models import Answer, Response, Survey
from tests.factories import MemberFactory, OfficerFactory, OrganisationFactory

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
    """Kent Police covering Maidstone's two wards, a resident in each, and a Kent officer."""
    police = OrganisationFactory(name="Kent Police", slug="kent-police")
    district, _ = area_upsert(
        code="E07000110", name="Maidstone", level="district", geometry=square(0.40, 51.20, 0.60, 51.30)
    )
    wards = {}
    for code, name, x0, x1 in (("E05005001", "High Street", 0.40, 0.50), ("E05005002", "Bridge", 0.50, 0.60)):
        wards[name], _ = area_upsert(
            code=code, name=name, level="ward", geometry=square(x0, 51.20, x1, 51.30), parent=district
        )
    police.areas.add(district)
    bridge = MemberFactory(email="bridge@example.org", first_name="Bea", opt_in=[police])
    member_location_set(member=bridge, longitude=0.55, latitude=51.25)
    high_street = MemberFactory(email="high@example.org", first_name="Hal", opt_in=[police])
    member_location_set(member=high_street, longitude=0.45, latitude=51.25)
    officer = OfficerFactory(email="officer@kent.police.example", organisation=police)
    return {"police": police, "wards": wards, "bridge": bridge, "high_street": high_street, "officer": officer}


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
    return {f"{page.url}: {k}": v for k, v in problems.items() if v}


def add_question(page, kind_label: str, fields: dict[str, str], condition: str | None = None) -> None:
    page.select_option("#id_kind", label=kind_label)
    with page.expect_navigation():
        page.get_by_role("button", name="Add the question").click()
    for selector, value in fields.items():
        page.fill(selector, value)
    if condition:
        page.get_by_label(condition).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save the question").click()


def test_officer_builds_and_publishes_a_ward_survey_a_resident_answers_and_the_chart_shows_it(
    live_server,
    kent,
    open_tab,  # noqa: F811
):
    officer_tab = open_tab(kent["officer"])
    page = officer_tab.page
    axe: dict[str, list[str]] = {}

    # 1. Build: a title, then three questions, the third shown only after a "No".
    officer_tab.goto("/surveys/manage/")
    axe.update(axe_problems(page))
    officer_tab.goto("/surveys/manage/new/")
    axe.update(axe_problems(page))
    page.fill("#id_title", "Feeling safe in Bridge ward")
    page.fill("#id_introduction", "Tell us what worries you most.")
    page.get_by_label("Identified: you see who gave each answer, and can follow up").check()
    page.get_by_label("Invited residents see a summary once they have answered").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Start the survey").click()
    survey = Survey.objects.get(title="Feeling safe in Bridge ward")
    assert page.url == f"{live_server.url}/surveys/manage/{survey.pk}/"

    add_question(page, "Single choice", {"#id_text": "Do you feel safe after dark?", "#id_options": "Yes\nNo"})
    add_question(
        page,
        "Rating scale",
        {"#id_text": "How safe is your street?", "#id_scale_min": "1", "#id_scale_max": "5",
         "#id_scale_labels": "Very unsafe\nUnsafe\nNeither\nSafe\nVery safe"},
    )  # fmt: skip
    add_question(
        page,
        "Free text",
        {"#id_text": "What would make you feel safer?", "#id_max_length": "300"},
        condition="Q1 “Do you feel safe after dark?” is answered “No”",
    )
    assert [q.kind for q in survey.questions.order_by("position")] == ["single", "rating", "text"]
    axe.update(axe_problems(page))

    # 2. Preview, as a resident will see it.
    officer_tab.goto(f"/surveys/manage/{survey.pk}/preview/")
    assert page.locator("h1").inner_text() == "Feeling safe in Bridge ward"
    assert page.locator(f"#question-{survey.questions.get(kind='text').pk}").is_hidden()  # until "No"

    # 3. Target Bridge ward, see it counted, publish.
    officer_tab.goto(f"/surveys/manage/{survey.pk}/publish/")
    page.locator("summary", has_text="Wards, districts and custom areas").click()
    page.get_by_label("Bridge (ward)").check()
    closes = (timezone.localtime() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    page.fill("#id_closes_at", closes)
    page.get_by_role("button", name="Count who this reaches").click()
    page.wait_for_selector("#reach .panel")
    assert "This reaches 1 resident" in page.inner_text("#reach")
    axe.update(axe_problems(page))
    with page.expect_navigation():
        page.get_by_role("button", name="Publish and send the invitations").click()
    survey.refresh_from_db()
    assert survey.status == "published"
    invited = set(Delivery.objects.filter(dispatch=survey.invitation_dispatch).values_list("member_id", flat=True))
    assert invited == {kent["bridge"].pk}

    # 4. The Bridge resident answers from their inbox, on a phone.
    resident_tab = open_tab(kent["bridge"], viewport=PHONE)
    rpage = resident_tab.page
    resident_tab.goto("/surveys/")
    assert rpage.get_by_role("link", name="Feeling safe in Bridge ward").is_visible()
    axe.update(axe_problems(rpage))
    resident_tab.goto("/inbox/")
    with rpage.expect_navigation():
        rpage.get_by_role("link", name="Survey: Feeling safe in Bridge ward").click()
    with rpage.expect_navigation():
        rpage.get_by_role("link", name="Answer the survey").click()
    text_block = rpage.locator(f"#question-{survey.questions.get(kind='text').pk}")
    assert text_block.is_hidden()
    # Sending nothing: a clear error summary, focused, with a link to each question.
    with rpage.expect_navigation():
        rpage.get_by_role("button", name="Send my answers").click()
    assert rpage.evaluate("() => document.activeElement.className") == "error-summary"
    assert "Question 1: Choose an answer." in rpage.inner_text(".error-summary")
    axe.update(axe_problems(rpage))
    rpage.get_by_label("No", exact=True).check()
    assert text_block.is_visible()  # shown once "No" is chosen
    rpage.get_by_label("2 – Unsafe").check()
    rpage.get_by_label("What would make you feel safer?").fill("Better lighting on the footpath.")
    with rpage.expect_navigation():
        rpage.get_by_role("button", name="Send my answers").click()
    assert rpage.locator("h1").inner_text() == "Thank you"
    assert rpage.get_by_role("link", name="See the results so far").is_visible()
    response = Response.objects.get(survey=survey)
    assert response.member == kent["bridge"] and response.ward == kent["wards"]["Bridge"]
    assert Answer.objects.get(response=response, question__kind="text").text == "Better lighting on the footpath."

    # The other ward's resident was never invited.
    other_tab = open_tab(kent["high_street"])
    other = other_tab.page.goto(f"{live_server.url}/surveys/{survey.pk}/")
    assert other.status == 404

    # 5. The officer's results page shows the answer in the chart. (A fresh tab: each tab's
    # sign-in goes through one test client, which ended the officer's first session.)
    officer_tab = open_tab(kent["officer"])
    page = officer_tab.page
    officer_tab.goto(f"/surveys/manage/{survey.pk}/results/?by=ward")
    chart = page.locator(f"#result-section-{survey.questions.get(kind='single').pk} svg.chart")
    assert chart.get_attribute("role") == "img"
    assert "1 (100%)" in chart.inner_html()  # the No bar: the one answer
    assert "0 (0%)" in chart.inner_html()  # the Yes bar
    assert page.locator("#response-count").inner_text() == "1"
    assert "Better lighting on the footpath." in page.inner_text("main")
    axe.update(axe_problems(page))
    # The PNG button appears (JavaScript) and downloads a picture of the chart.
    button = page.locator(".png-button").first
    assert button.is_visible()
    with page.expect_download() as download:
        button.click()
    assert download.value.suggested_filename == "survey-1-question-1.png".replace("1-", f"{survey.pk}-", 1)

    assert axe == {}
    # The empty answer form came back as a 400 page, which the browser notes; nothing else.
    bad_request = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    for tab, expected in ((officer_tab, []), (resident_tab, [bad_request])):
        tab.page.wait_for_load_state("networkidle")
        assert tab.foreign_requests == [], tab.foreign_requests
        assert tab.problems == expected, tab.problems
