"""The alert pages through the test client: compose, count, publish, follow up, read."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert
from alerts.services import alert_image_add, alert_publish, alert_update_send
from notifications.models import Delivery

from .conftest import png_bytes, square, upload

pytestmark = pytest.mark.django_db

MESSAGE = {
    "kind": "appeal",
    "category": "missing_persons",
    "priority": "1",
    "title": "Missing: John, 82",
    "body_markdown": "John was last seen on **Elm Road** at 3pm.",
    "links": "",
}


def published(committed, officer, alert):
    committed(alert_publish, actor=officer, alert=alert)
    alert.refresh_from_db()
    return alert


# --- composing


def test_the_compose_page_offers_the_map_and_the_accessible_alternatives(client, officer, kent):
    client.force_login(officer)
    page = client.get("/alerts/manage/new/").content.decode()

    assert "data-alerts-map" in page and "leaflet.draw.js" in page and "js/alerts.js" in page
    assert "North Ward (ward, 0 living there)" in page  # area checkboxes
    assert 'name="corners"' in page and 'name="circle_metres"' in page  # typed shapes
    assert 'hx-post="/alerts/manage/audience/"' in page
    assert "Check the audience" in page


def test_saving_a_draft_joins_every_way_of_targeting_into_one_audience(client, officer, kent):
    client.force_login(officer)
    drawn = [
        {"polygon": square(0.11, 50.91, 0.19, 50.99), "exclude": False},
        {"radius": {"lon": 0.05, "lat": 51.05, "metres": 250}, "exclude": True},
    ]
    response = client.post(
        "/alerts/manage/new/",
        {
            **MESSAGE,
            "areas": [kent["north"].pk],
            "exclude_areas": [kent["south"].pk],
            "shapes": json.dumps(drawn),
            "circle_lat": "51.02",
            "circle_lon": "0.02",
            "circle_metres": "400",
            "interest_only": "on",
            "action": "save",
        },
    )

    alert = Alert.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/alerts/manage/{alert.pk}/"
    assert alert.status == "draft" and alert.author == officer
    assert alert.audience == {
        "include": [
            {"area": kent["north"].pk},
            {"polygon": square(0.11, 50.91, 0.19, 50.99)},
            {"radius": {"lon": 0.02, "lat": 51.02, "metres": 400.0}},
        ],
        "exclude": [{"area": kent["south"].pk}, {"radius": {"lon": 0.05, "lat": 51.05, "metres": 250.0}}],
        "interest_only": True,
    }


def test_a_form_with_mistakes_comes_back_with_them_and_keeps_what_was_typed(client, officer, kent):
    client.force_login(officer)
    response = client.post(
        "/alerts/manage/new/",
        {**MESSAGE, "kind": "event", "title": "", "circle_lat": "51.0", "action": "save"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert 'class="error-summary"' in page
    assert "Give the alert a title." in page or "This field is required." in page
    assert "A circle needs its centre" in page
    assert "John was last seen on **Elm Road** at 3pm." in page  # nothing typed is lost
    assert not Alert.objects.exists()


def test_an_event_without_a_place_is_refused_by_the_page(client, officer, kent):
    client.force_login(officer)
    starts = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        "/alerts/manage/new/",
        {**MESSAGE, "kind": "event", "event_starts_at": starts, "areas": [kent["north"].pk], "action": "save"},
    )
    assert response.status_code == 400
    assert "Say where the event is." in response.content.decode()


def test_targeting_outside_the_organisation_is_refused_on_the_form(client, officer, kent, essex):
    client.force_login(officer)
    response = client.post(
        "/alerts/manage/new/",
        {**MESSAGE, "circle_lat": "51.6", "circle_lon": "1.1", "circle_metres": "500", "action": "save"},
    )
    assert response.status_code == 400
    assert "reaches outside your organisation" in response.content.decode()
    assert not Alert.objects.exists()


def test_check_the_audience_without_javascript_shows_the_counts(client, officer, kent, place):
    place(0.05, 51.05, phone="+447700900001", channel_sms=True, sms_lowest_priority=2)
    place(0.06, 51.06)
    client.force_login(officer)

    # Only the targeting counts when checking: an unwritten message is no error yet.
    response = client.post("/alerts/manage/new/", {"priority": "1", "areas": [kent["north"].pk], "action": "check"})

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="audience-members">2<' in page
    assert 'id="audience-sms">1<' in page
    assert not Alert.objects.exists()


def test_the_live_count_follows_the_targeting_per_channel(client, officer, kent, place):
    place(0.05, 51.05)
    place(0.06, 51.06, channel_email=False)
    place(0.05, 50.95)
    client.force_login(officer)

    def count(**data):
        response = client.post("/alerts/manage/audience/", {"priority": "3", **data}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        return response.content.decode()

    north = count(areas=[kent["north"].pk])
    assert 'id="audience-members">2<' in north and 'id="audience-email">1<' in north
    both = count(areas=[kent["north"].pk, kent["south"].pk])
    assert 'id="audience-members">3<' in both
    minus = count(
        areas=[kent["force"].pk], shapes=json.dumps([{"polygon": square(0, 50.9, 0.1, 51.0), "exclude": True}])
    )
    assert 'id="audience-members">2<' in minus
    assert "choose at least one area" in count()
    outside = count(circle_lat="51.6", circle_lon="1.1", circle_metres="500")
    assert "This audience cannot be used" in outside and "outside your organisation" in outside


def test_the_live_count_warns_when_nobody_would_receive_it(client, officer, kent):
    client.force_login(officer)
    response = client.post("/alerts/manage/audience/", {"areas": [kent["north"].pk]})
    assert "Nobody would receive this" in response.content.decode()


# --- publishing from the page


def test_publishing_from_the_page_sends_it(client, officer, draft, north_resident, django_capture_on_commit_callbacks):
    alert = draft()
    client.force_login(officer)
    detail = client.get(f"/alerts/manage/{alert.pk}/").content.decode()
    assert "Before you publish" in detail and 'id="audience-members">1<' in detail
    assert "Nobody in this audience has had a message" in detail

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/alerts/manage/{alert.pk}/publish/")

    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == "published"
    assert Delivery.objects.filter(dispatch=alert.dispatch, member=north_resident, channel="inbox").exists()


def test_publishing_to_nobody_is_refused_on_the_page(client, officer, draft, kent):
    alert = draft()
    client.force_login(officer)
    response = client.post(f"/alerts/manage/{alert.pk}/publish/")
    assert response.status_code == 400
    assert "Nobody would receive this" in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == "draft"


def test_the_flood_warning_counts_last_weeks_messages(client, committed, officer, draft, north_resident):
    published(committed, officer, draft(title="First"))
    second = draft(title="Second")
    client.force_login(officer)
    page = client.get(f"/alerts/manage/{second.pk}/").content.decode()
    assert "In the last 7 days, 1 message from Kent Police reached people in this audience" in page


def test_scheduling_and_cancelling_from_the_page(client, officer, draft, north_resident):
    alert = draft()
    client.force_login(officer)
    when = timezone.localtime() + timedelta(days=1)
    response = client.post(f"/alerts/manage/{alert.pk}/schedule/", {"send_at": when.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == "scheduled"

    client.post(f"/alerts/manage/{alert.pk}/unschedule/")
    alert.refresh_from_db()
    assert alert.status == "draft"

    past = client.post(f"/alerts/manage/{alert.pk}/schedule/", {"send_at": "2020-01-01T09:00"})
    assert past.status_code == 400
    assert "Choose a time in the future" in past.content.decode()


def test_an_update_and_a_withdrawal_from_the_page(client, committed, officer, draft, north_resident):
    alert = published(committed, officer, draft())
    client.force_login(officer)

    client.post(f"/alerts/manage/{alert.pk}/update/", {"kind": "cancellation", "body": "John is home safe."})
    update = alert.updates.get()
    assert update.kind == "cancellation"
    assert "John is home safe." in client.get(f"/alerts/manage/{alert.pk}/").content.decode()

    refused = client.post(f"/alerts/manage/{alert.pk}/withdraw/", {"notify": "on"})
    assert refused.status_code == 400
    assert "Say why" in refused.content.decode()
    client.post(f"/alerts/manage/{alert.pk}/withdraw/", {"reason": "Posted twice."})
    alert.refresh_from_db()
    assert alert.status == "withdrawn"


def test_a_bad_picture_is_refused_with_a_clear_error(client, officer, draft, settings):
    settings.ALERT_IMAGE_MAX_BYTES = 1024 * 1024
    alert = draft()
    client.force_login(officer)

    wrong = client.post(
        f"/alerts/manage/{alert.pk}/images/", {"file": upload("x.png", b"GIF? no, text."), "alt_text": "Text"}
    )
    assert wrong.status_code == 400
    assert "The picture must be a JPEG, PNG, WebP or GIF image" in wrong.content.decode()

    big = client.post(
        f"/alerts/manage/{alert.pk}/images/",
        {"file": upload("big.png", png_bytes(padding=2 * 1024 * 1024)), "alt_text": "Big"},
    )
    assert big.status_code == 400
    assert "The picture is 2.0 MB; the most is 1 MB" in big.content.decode()

    good = client.post(
        f"/alerts/manage/{alert.pk}/images/", {"file": upload("p.png", png_bytes()), "alt_text": "A car"}
    )
    assert good.status_code == 302
    assert alert.images.get().alt_text == "A car"


# --- the officers' list


def test_the_list_runs_a_constant_number_of_queries_however_many_rows(
    client, committed, officer, draft, north_resident, django_assert_max_num_queries
):
    client.force_login(officer)

    def make(n):
        for i in range(n):
            alert = draft(title=f"Alert {i}")
            if i % 2:
                published(committed, officer, alert)
                committed(alert_update_send, actor=officer, alert=alert, kind="update", body="More")

    make(2)
    with django_assert_max_num_queries(12) as few:
        response = client.get("/alerts/manage/")
    assert response.status_code == 200
    make(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/alerts/manage/")
    page = response.content.decode()
    assert page.count('href="/alerts/manage/') >= 22


def test_the_list_shows_reach_and_filters(client, committed, officer, draft, north_resident, officer_other_org):
    published(committed, officer, draft(title="Sent one"))
    draft(title="Still a draft")
    client.force_login(officer)

    everything = client.get("/alerts/manage/").content.decode()
    assert "Sent one" in everything and "Still a draft" in everything
    drafts = client.get("/alerts/manage/?status=draft").content.decode()
    assert "Still a draft" in drafts and "Sent one" not in drafts
    row = re.search(r"Sent one.*?</tr>", everything, re.S).group(0)
    assert re.findall(r'<td class="num">(\d+|–)</td>', row)[:4] == ["1", "2", "0", "0"]  # 1 reached, 2 delivered

    client.force_login(officer_other_org)
    assert "Sent one" not in client.get("/alerts/manage/").content.decode()


# --- what residents and visitors see


def test_who_may_read_an_alert(client, committed, officer, draft, north_resident, south_resident, officer_other_org):
    private = published(committed, officer, draft(title="For North Ward only"))
    public = published(committed, officer, draft(title="For everyone", is_public=True))
    unsent = draft(title="Not yet", is_public=True)

    assert client.get(f"/alerts/{public.pk}/").status_code == 200
    assert client.get(f"/alerts/{private.pk}/")["Location"].startswith("/accounts/login/")
    assert client.get(f"/alerts/{unsent.pk}/")["Location"].startswith("/accounts/login/")
    assert "For everyone" in client.get("/alerts/").content.decode()
    assert "For North Ward only" not in client.get("/alerts/").content.decode()

    client.force_login(north_resident)
    page = client.get(f"/alerts/{private.pk}/").content.decode()
    assert "For North Ward only" in page and "Reply privately or rate this alert in your inbox" in page
    assert client.get(f"/alerts/{unsent.pk}/").status_code == 404

    client.force_login(south_resident)
    assert client.get(f"/alerts/{private.pk}/").status_code == 404
    client.force_login(officer_other_org)
    assert client.get(f"/alerts/{private.pk}/").status_code == 404
    assert client.get(f"/alerts/manage/{private.pk}/").status_code == 404
    client.force_login(officer)
    assert "Manage this alert" in client.get(f"/alerts/{private.pk}/").content.decode()


def test_a_picture_is_served_only_to_those_who_may_see_the_alert(
    client, committed, officer, draft, north_resident, south_resident
):
    alert = draft()
    image = alert_image_add(actor=officer, alert=alert, upload=upload("c.png", png_bytes()), alt_text="The car")
    published(committed, officer, alert)
    url = f"/alerts/{alert.pk}/images/{image.pk}/"

    client.force_login(north_resident)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content == png_bytes()
    client.force_login(south_resident)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_a_script_in_the_body_never_reaches_the_page(client, committed, officer, draft, north_resident):
    alert = published(
        committed, officer, draft(body_markdown='<script>alert("x")</script><img src=x onerror=alert(1)> Hello')
    )
    client.force_login(north_resident)
    for path in (f"/alerts/{alert.pk}/", f"/inbox/{Delivery.objects.get(channel='inbox').pk}/"):
        page = client.get(path).content.decode()
        assert '<script>alert("x")' not in page
        assert "<img src=x onerror" not in page and 'onerror="alert' not in page
        assert "Hello" in page


def test_the_residents_message_page_shows_the_alerts_details(client, committed, officer, draft, north_resident):
    starts = timezone.now() + timedelta(days=3)
    alert = draft(
        kind="event", priority=5, title="Street surgery", event_starts_at=starts, event_place="Village hall",
        links=[{"title": "Our page", "url": "https://kent.police.uk/surgery"}],
    )  # fmt: skip
    alert_image_add(actor=officer, alert=alert, upload=upload("p.png", png_bytes()), alt_text="The hall")
    published(committed, officer, alert)
    delivery = Delivery.objects.get(member=north_resident, channel="inbox")
    client.force_login(north_resident)

    page = client.get(f"/inbox/{delivery.pk}/").content.decode()

    assert 'class="priority priority-5"' in page and "Priority 5 (least urgent)" in page
    assert "<dt>Where</dt><dd>Village hall</dd>" in page
    assert f'src="/alerts/{alert.pk}/images/' in page and 'alt="The hall"' in page
    assert 'href="https://kent.police.uk/surgery"' in page
    assert "css/alerts.css" in page  # hides the copy of the details kept in the text for email


def test_an_update_in_the_inbox_says_what_it_is_about(client, committed, officer, draft, north_resident):
    alert = published(committed, officer, draft())
    committed(alert_update_send, actor=officer, alert=alert, kind="update", body="A man was arrested.")
    update_delivery = Delivery.objects.get(
        member=north_resident, channel="inbox", dispatch=alert.updates.get().dispatch
    )
    client.force_login(north_resident)
    page = client.get(f"/inbox/{update_delivery.pk}/").content.decode()
    assert "Update about our message" in page and "A man was arrested." in page
    assert f"/alerts/{alert.pk}/#update-" in page


def test_the_preview_shows_the_app_email_and_text_message(client, officer, draft):
    alert = draft()
    client.force_login(officer)
    page = client.get(f"/alerts/manage/{alert.pk}/preview/").content.decode()
    assert "Urgent: Burglaries on Elm Road" not in page  # priority 2 is "High priority"
    assert "High priority: Burglaries on Elm Road" in page
    assert "Kent Police: Burglaries on Elm Road" in page  # the text message
    assert f"/alerts/{alert.pk}/" in page
