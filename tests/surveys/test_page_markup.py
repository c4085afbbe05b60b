"""Every survey page's HTML keeps the promises tests/core/test_pages_accessibility.py checks
for the pages without URL arguments: one h1, a label for each field, unique ids and
references that land, errors tied to their fields, no inline script or style."""

from __future__ import annotations

import pytest

from surveys import services
from tests.core.test_pages_accessibility import UNLABELLED_INPUT_TYPES, parse
from tests.surveys.conftest import form_data, good_answers, questions_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(officer, town, northerner, southerner, make_survey, publish):
    draft = make_survey(title="A draft")
    live = publish(make_survey(), {"include": [{"area": town.district.pk}]})
    services.survey_response_submit(member=northerner, survey=live, answers=good_answers(live))
    poll = services.poll_create(
        actor=officer, question="Seen anything?", options=["Yes", "No"], dispatch=live.invitation_dispatch
    )
    return {"draft": draft, "live": live, "poll": poll, "text": questions_of(live)["text"]}


# (page, who, method, path, data): the path and data are built from the world.
PAGES = {
    "build-draft": ("officer", "get", lambda w: f"/surveys/manage/{w['draft'].pk}/", None),
    "build-published": ("officer", "get", lambda w: f"/surveys/manage/{w['live'].pk}/", None),
    "question-kind": ("officer", "get", lambda w: f"/surveys/manage/{w['draft'].pk}/questions/new/", None),
    "question-matrix": (
        "officer", "get", lambda w: f"/surveys/manage/{w['draft'].pk}/questions/new/?kind=matrix", None
    ),
    "question-errors": (
        "officer", "post", lambda w: f"/surveys/manage/{w['draft'].pk}/questions/new/?kind=single", lambda w: {}
    ),
    "preview": ("officer", "get", lambda w: f"/surveys/manage/{w['draft'].pk}/preview/", None),
    "preview-errors": ("officer", "post", lambda w: f"/surveys/manage/{w['draft'].pk}/preview/", lambda w: {}),
    "publish": ("officer", "get", lambda w: f"/surveys/manage/{w['draft'].pk}/publish/", None),
    "publish-errors": (
        "officer", "post", lambda w: f"/surveys/manage/{w['draft'].pk}/publish/", lambda w: {"action": "publish"}
    ),
    "results": ("officer", "get", lambda w: f"/surveys/manage/{w['live'].pk}/results/?by=ward", None),
    "text-answers": (
        "officer", "get", lambda w: f"/surveys/manage/{w['live'].pk}/questions/{w['text'].pk}/answers/", None
    ),
    "summary": ("officer", "get", lambda w: f"/surveys/manage/{w['live'].pk}/summary/", None),
    "summary-errors": ("officer", "post", lambda w: f"/surveys/manage/{w['live'].pk}/summary/", lambda w: {}),
    "answer": ("southerner", "get", lambda w: f"/surveys/{w['live'].pk}/", None),
    "answer-errors": ("southerner", "post", lambda w: f"/surveys/{w['live'].pk}/", lambda w: {}),
    "answer-again": ("northerner", "get", lambda w: f"/surveys/{w['live'].pk}/", None),
    "thanks": ("northerner", "get", lambda w: f"/surveys/{w['live'].pk}/thanks/", None),
    "published-results": ("officer", "get", lambda w: f"/surveys/{w['live'].pk}/results/", None),
    "poll": ("northerner", "get", lambda w: f"/polls/{w['poll'].pk}/", None),
}  # fmt: skip


@pytest.mark.parametrize("name", PAGES)
def test_survey_page_markup(client, request, world, name):
    who, method, path, data = PAGES[name]
    client.force_login(request.getfixturevalue(who))
    url = path(world)
    response = getattr(client, method)(url, data(world) if data else None)
    assert response.status_code in ((200,) if method == "get" else (400,)), (name, response.status_code)
    html = parse(response.content.decode())

    assert html.h1_count == 1
    assert html.mains[0].get("id") == "main"
    assert html.inline_style_attrs == [] and html.handler_attrs == []
    assert all(s.get("src", "").startswith("/") or s.get("type") == "application/json" for s in html.scripts)
    for field in html.fields:
        if field["tag"] == "input" and field.get("type", "text").lower() in UNLABELLED_INPUT_TYPES:
            continue
        labelled = field["in_label"] or field.get("id") in html.labels_for or field.get("aria-label")
        assert labelled, f"{name}: no label for {field}"
    duplicates = {i for i in html.ids if html.ids.count(i) > 1}
    assert not duplicates, f"{name}: duplicate ids {duplicates}"
    for owner, ref in html.described_by:
        assert ref in html.ids, f"{name}: {owner} is described by #{ref}, which is not on the page"
    for link in html.links:
        if link["href"].startswith("#") and len(link["href"]) > 1:
            assert link["href"][1:] in html.ids, f"{name}: a link to {link['href']} lands nowhere"
    if method == "post":
        assert 'class="error-summary"' in response.content.decode()
        invalid = [f for f in html.fields if f.get("aria-invalid") == "true"]
        assert invalid, f"{name}: no field is marked aria-invalid"
        for field in invalid:
            refs = (field.get("aria-describedby", "") + " " + field["group"]).split()
            assert any(ref.endswith("_error") for ref in refs), f"{name}: {field.get('id')}: its error is not announced"


def test_the_answer_form_posts_what_the_page_shows(client, world, southerner):
    """The names and values the page renders are the ones answers_from_post reads."""
    client.force_login(southerner)
    live = world["live"]
    page = client.get(f"/surveys/{live.pk}/").content.decode()
    for name in form_data(live):
        assert f'name="{name}"' in page, name
    assert client.post(f"/surveys/{live.pk}/", form_data(live)).status_code == 302
