"""Edges found in review: who is told they manage an alert, caching of withdrawn alerts'
pictures, ids too large for any row."""

import pytest
from django.urls import reverse

from alerts.services import alert_image_add, alert_publish, alert_withdraw

from .conftest import png_bytes, upload

pytestmark = pytest.mark.django_db


def test_another_forces_officer_reads_a_public_alert_as_anyone_would(
    client_for, draft, officer, officer_other_org, north_resident, committed
):
    alert = draft(is_public=True)
    committed(alert_publish, actor=officer, alert=alert)
    page = reverse("alerts:view", kwargs={"pk": alert.pk})

    assert "Manage this alert" in client_for(officer).get(page).content.decode()
    theirs = client_for(officer_other_org).get(page)
    assert theirs.status_code == 200
    assert "Manage this alert" not in theirs.content.decode()


def test_a_withdrawn_public_alerts_pictures_leave_shared_caches(client_for, draft, officer, north_resident, committed):
    alert = draft(is_public=True)
    image = alert_image_add(actor=officer, alert=alert, upload=upload("a.png", png_bytes()), alt_text="A van")
    committed(alert_publish, actor=officer, alert=alert)
    url = reverse("alerts:image", kwargs={"pk": alert.pk, "image_pk": image.pk})
    assert client_for(north_resident).get(url)["Cache-Control"].startswith("public")

    committed(alert_withdraw, actor=officer, alert=alert, reason="Sent by mistake")

    assert client_for(north_resident).get(url)["Cache-Control"].startswith("private")


def test_an_id_too_large_for_any_row_is_a_clear_error_not_a_crash(client_for, officer, kent):
    client = client_for(officer)
    api = client.post(
        "/api/v1/alerts/audience-preview/",
        {"audience": {"include": [{"area": 10**30}]}, "category": "burglary", "priority": 3},
        content_type="application/json",
    )
    assert api.status_code == 400

    page = client.post(reverse("alerts:audience"), {"areas": [str(10**30)], "category": "burglary", "priority": "3"})
    assert page.status_code in (200, 400)
    assert "valid choice" in page.content.decode()
