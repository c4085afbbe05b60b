"""The pages of one alert (and a coordinator's pages) keep the same markup promises as every
page in tests/core/test_pages_accessibility.py: one h1, labelled fields, unique ids, errors
tied to fields, no inline script or style, assets only from our own origin."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.services import alert_image_add, alert_publish, alert_update_send
from notifications.models import Delivery
from tests.core import test_pages_accessibility as checks

from .conftest import png_bytes, square, upload

pytestmark = pytest.mark.django_db

CHECKS = [
    checks.test_csp_header_forbids_inline_script_and_style,
    checks.test_no_inline_script_or_style_and_every_asset_is_ours,
    checks.test_title_landmarks_heading_and_skip_link,
    checks.test_every_field_has_a_label,
    checks.test_images_have_text_alternatives,
    checks.test_ids_are_unique_and_every_reference_to_one_lands,
]


def assert_well_formed(response, *, status=200):
    assert response.status_code == status, response.status_code
    html = checks.parse(response.content.decode())
    for check in CHECKS:
        check((None, response, html))
    return html


@pytest.fixture
def alerts(committed, draft, officer, north_resident, watch):
    starts = timezone.now() + timedelta(days=2)
    sent = draft(
        kind="event", title="Street surgery", event_starts_at=starts, event_place="Village hall",
        links=[{"title": "More", "url": "https://kent.police.uk/"}], is_public=True,
    )  # fmt: skip
    alert_image_add(actor=officer, alert=sent, upload=upload("p.png", png_bytes()), alt_text="The hall")
    committed(alert_publish, actor=officer, alert=sent)
    committed(alert_update_send, actor=officer, alert=sent, kind="update", body="Moved to 7pm.")
    committed(alert_update_send, actor=officer, alert=sent, kind="cancellation", body="Called off.")
    unsent = draft(
        audience={"include": [{"polygon": square(0.01, 51.01, 0.05, 51.05)}],
                  "exclude": [{"radius": {"lon": 0.03, "lat": 51.03, "metres": 200}}]},
    )  # fmt: skip
    alert_image_add(actor=officer, alert=unsent, upload=upload("p.png", png_bytes()), alt_text="A door")
    return sent, unsent


def test_an_officers_pages_of_one_alert(client, officer, alerts):
    sent, unsent = alerts
    client.force_login(officer)
    for path in (
        f"/alerts/manage/{sent.pk}/",
        f"/alerts/manage/{unsent.pk}/",
        f"/alerts/manage/{unsent.pk}/edit/",
        f"/alerts/manage/{unsent.pk}/preview/",
        f"/alerts/manage/{sent.pk}/preview/",
        f"/alerts/{sent.pk}/",
        "/alerts/manage/",
    ):
        assert_well_formed(client.get(path))


def test_an_officers_pages_with_errors_tie_them_to_their_fields(client, officer, alerts):
    sent, unsent = alerts
    client.force_login(officer)
    for path, data in (
        (f"/alerts/manage/{unsent.pk}/schedule/", {"send_at": "yesterday"}),
        (f"/alerts/manage/{unsent.pk}/images/", {"alt_text": ""}),
        (f"/alerts/manage/{sent.pk}/update/", {"kind": "update", "body": ""}),
        (f"/alerts/manage/{unsent.pk}/edit/", {"title": "", "corners": "51.0, 0.0", "action": "save"}),
    ):
        response = client.post(path, data)
        html = assert_well_formed(response, status=400)
        assert 'class="error-summary"' in response.content.decode(), path
        invalid = [f for f in html.fields if f.get("aria-invalid") == "true"]
        assert invalid, path
        for field in invalid:
            refs = (field.get("aria-describedby", "") + " " + field["group"]).split()
            assert any(ref.endswith("_error") for ref in refs), (path, field)


def test_a_residents_pages(client, alerts, north_resident):
    sent, _ = alerts
    client.force_login(north_resident)
    assert_well_formed(client.get(f"/alerts/{sent.pk}/"))
    for delivery in Delivery.objects.filter(member=north_resident, channel="inbox"):
        assert_well_formed(client.get(f"/inbox/{delivery.pk}/"))
    client.logout()
    assert_well_formed(client.get(f"/alerts/{sent.pk}/"))
    assert_well_formed(client.get("/alerts/"))


def test_a_coordinators_pages(client, watch):
    group, coordinator = watch
    client.force_login(coordinator)
    assert_well_formed(client.get("/alerts/groups/"))
    assert_well_formed(client.get(f"/alerts/groups/{group.slug}/messages/"))
    assert_well_formed(client.post(f"/alerts/groups/{group.slug}/messages/", {"subject": ""}), status=400)
