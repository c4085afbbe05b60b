"""The replies pages, with conversations on them, keep the promises every page keeps
(tests/core/test_pages_accessibility.py): one h1, labelled fields, errors summarised and
tied to their fields, no inline script or style, unique ids."""

import pytest

from notifications.models import Delivery
from replies.services import rating_set, reply_create, thread_answer
from tests.core import test_pages_accessibility as a11y

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(resident, officer, force_admin, alert):
    thread = reply_create(resident=resident, dispatch=alert, body="I saw a van <b>near</b> the park\nat 2am").thread
    thread_answer(officer=officer, thread=thread, body="Thank you, which road?")
    rating_set(resident=resident, dispatch=alert, score=4)
    delivery = Delivery.objects.get(member=resident, dispatch=alert, channel="inbox")
    return {
        "resident": resident,
        "officer": officer,
        "force_admin": force_admin,
        "thread": thread,
        "alert": alert,
        "delivery": delivery,
    }


def pages(w):
    t, a = w["thread"].pk, w["alert"].pk
    return [
        ("resident", "get", f"/inbox/{w['delivery'].pk}/", None, 200),
        ("resident", "get", "/replies/mine/", None, 200),
        ("resident", "get", f"/replies/mine/{t}/", None, 200),
        ("resident", "post", f"/replies/message/{a}/reply/", {"reply-body": ""}, 400),
        ("resident", "post", f"/replies/message/{a}/rate/", {}, 400),
        ("officer", "get", "/replies/", None, 200),
        ("officer", "get", "/replies/?area=nonsense", None, 400),
        ("officer", "get", f"/replies/{t}/", None, 200),
        ("officer", "post", f"/replies/{t}/answer/", {"answer-body": ""}, 400),
        ("officer", "post", f"/replies/{t}/assign/", {"assign-assignee": "0"}, 400),
        ("force_admin", "get", "/replies/settings/", None, 200),
        ("force_admin", "post", "/replies/settings/", {"duty_email": "nope"}, 400),
    ]


def test_every_replies_page_keeps_the_accessibility_and_csp_promises(client, world):
    for who, method, path, data, status in pages(world):
        client.force_login(world[who])
        response = getattr(client, method)(path, data or {})
        assert response.status_code == status, (path, response.status_code)
        page = (None, response, a11y.parse(response.content.decode()))
        where = f"{method.upper()} {path} as {who}"
        for check in (
            a11y.test_csp_header_forbids_inline_script_and_style,
            a11y.test_no_inline_script_or_style_and_every_asset_is_ours,
            a11y.test_title_landmarks_heading_and_skip_link,
            a11y.test_every_field_has_a_label,
            a11y.test_ids_are_unique_and_every_reference_to_one_lands,
        ):
            try:
                check(page)
            except AssertionError as exc:
                raise AssertionError(f"{where}: {check.__name__}: {exc}") from exc
        if status == 400:
            body = response.content.decode()
            assert 'class="error-summary"' in body, where
            assert "<title>Error: " in body, where
            invalid = [f for f in page[2].fields if f.get("aria-invalid") == "true"]
            assert invalid or "?area=" in path, where  # a bad filter in the URL has no box to mark
            for field in invalid:
                refs = (field.get("aria-describedby", "") + " " + field["group"]).split()
                assert any(ref.endswith("_error") for ref in refs), where


def test_the_conversation_reads_in_order_with_line_breaks_kept(client, world):
    client.force_login(world["resident"])
    page = client.get(f"/inbox/{world['delivery'].pk}/").content.decode()

    assert page.index("I saw a van near the park<br>at 2am") < page.index("Thank you, which road?")
    assert '<time datetime="' in page
