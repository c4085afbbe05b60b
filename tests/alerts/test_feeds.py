"""The public feeds (alerts/feeds.py) through their real URLs: Atom, the CAP index and CAP 1.2
messages, for the whole site and per area; what they never show; how they cache.

CAP messages are validated against the OASIS CAP 1.2 schema (cap-v1.2.xsd beside this
file, as published by OASIS) with lxml, and their content is checked with ElementTree.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from alerts.models import Alert
from alerts.services import (
    alert_create,
    alert_image_add,
    alert_publish,
    alert_schedule,
    alert_update_send,
    alert_withdraw,
)
from groups.services import area_upsert

from .conftest import png_bytes, square, upload

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
CAP_SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).with_name("cap-v1.2.xsd"))))
CAP_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$")


# --- the town: Kent's force area with North and South Ward side by side (tests/alerts/conftest.py)


@pytest.fixture
def town(kent, north_resident, south_resident):
    return kent


@pytest.fixture
def publish(officer, town):
    """`publish(**fields)`: a published alert from Kent Police, public and to North Ward unless told."""

    def make(**fields) -> Alert:
        values = {
            "kind": "alert",
            "category": "burglary",
            "priority": 2,
            "title": "Burglaries on Elm Road",
            "body_markdown": "Three homes were broken into last night.\n\n**Lock your doors.** See [advice](https://kent.police.uk/advice).",
            "audience": {"include": [{"area": town["north"].pk}]},
            "is_public": True,
        } | fields
        alert = alert_create(actor=officer, **values)
        alert_publish(actor=officer, alert=alert)
        alert.refresh_from_db()
        return alert

    return make


def xml(content: bytes) -> ET.Element:
    return ET.fromstring(content)  # noqa: S314 - our own output, the thing under test


@pytest.fixture
def write(officer, town):
    """`write(title, **fields)`: a Kent Police draft, public and to North Ward unless told."""

    def make(title: str, **fields) -> Alert:
        values = {"kind": "alert", "category": "burglary", "priority": 3, "body_markdown": "Lock your doors.",
                  "is_public": True, "audience": {"include": [{"area": town["north"].pk}]}}  # fmt: skip
        return alert_create(actor=officer, title=title, **(values | fields))

    return make


def atom_entries(response) -> list[ET.Element]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    root = xml(response.content)
    assert root.tag == f"{ATOM}feed"
    return root.findall(f"{ATOM}entry")


def titles(response) -> list[str]:
    return [e.findtext(f"{ATOM}title") for e in atom_entries(response)]


def cap(response) -> ET.Element:
    """A CAP message: served as application/cap+xml, valid against the OASIS CAP 1.2 schema."""
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/cap+xml; charset=utf-8"
    document = etree.fromstring(response.content)
    assert CAP_SCHEMA.validate(document), CAP_SCHEMA.error_log
    return xml(response.content)


def cap_url(alert: Alert) -> str:
    return reverse("feeds:cap-alert", kwargs={"pk": alert.pk})


def area_feed(area, name: str = "feeds:area-alerts") -> str:
    return reverse(name, kwargs={"code": area.code})


# --- what the Atom feed shows, and never shows


def test_the_site_feed_shows_public_alerts_that_are_out_newest_first(client, publish, write, officer):
    first = publish(title="Burglaries on Elm Road")
    second = publish(title="Missing person: Sam", category="missing_persons", priority=1)
    publish(title="Not public", is_public=False)
    write("A draft")
    later = write("Scheduled")
    alert_schedule(actor=officer, alert=later, send_at=timezone.now() + timedelta(hours=2))
    withdrawn = publish(title="Withdrawn one")
    alert_withdraw(actor=officer, alert=withdrawn, reason="Sent in error")

    response = client.get("/feeds/alerts.atom")

    assert titles(response) == ["Missing person: Sam", "Burglaries on Elm Road"]
    root = xml(response.content)
    assert root.findtext(f"{ATOM}title") == "My Community Voice: public alerts"
    entry = atom_entries(response)[1]
    assert entry.find(f"{ATOM}link").get("href").endswith(f"/alerts/{first.pk}/")
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "Kent Police"
    assert entry.findtext(f"{ATOM}id").startswith("tag:")
    summary = entry.findtext(f"{ATOM}summary")
    assert "<strong>Lock your doors.</strong>" in summary
    assert [c.get("term") for c in entry.findall(f"{ATOM}category")] == ["Alert", "Burglary", "Priority 2 (urgent)"]
    assert atom_entries(response)[0].find(f"{ATOM}link").get("href").endswith(f"/alerts/{second.pk}/")


def test_the_feed_links_and_ids_use_the_site_address(client, publish, settings):
    settings.SITE_URL = "https://alerts.example.gov.uk"
    alert = publish()

    root = xml(client.get("/feeds/alerts.atom").content)

    assert root.find(f"{ATOM}link[@rel='self']").get("href") == "https://alerts.example.gov.uk/feeds/alerts.atom"
    entry = root.find(f"{ATOM}entry")
    assert entry.find(f"{ATOM}link").get("href") == f"https://alerts.example.gov.uk/alerts/{alert.pk}/"
    assert entry.findtext(f"{ATOM}id").startswith("tag:alerts.example.gov.uk,")


def test_what_an_officer_typed_cannot_break_the_feed(client, publish):
    publish(title='<script>alert("x")</script> & more', body_markdown="<img src=x onerror=alert(1)> hello")

    entry = atom_entries(client.get("/feeds/alerts.atom"))[0]

    assert entry.findtext(f"{ATOM}title") == '<script>alert("x")</script> & more'  # text, escaped in the XML
    assert "<img" not in entry.findtext(f"{ATOM}summary")  # raw HTML in Markdown is shown as text
    assert "&lt;img" in entry.findtext(f"{ATOM}summary")


def test_updates_follow_the_alert_in_its_entry(client, publish, officer):
    alert = publish()
    alert_update_send(actor=officer, alert=alert, kind="update", body="A man was arrested <today>.")

    summary = atom_entries(client.get("/feeds/alerts.atom"))[0].findtext(f"{ATOM}summary")

    assert "A man was arrested &lt;today&gt;." in summary
    assert "<h2>Update," in summary


def test_pictures_are_enclosures(client, officer, write):
    alert = write("Stolen van", kind="appeal", category="vehicle_crime")
    image = alert_image_add(actor=officer, alert=alert, upload=upload("van.png", png_bytes()), alt_text="A white van")
    alert_publish(actor=officer, alert=alert)

    entry = atom_entries(client.get("/feeds/alerts.atom"))[0]

    enclosure = entry.find(f"{ATOM}link[@rel='enclosure']")
    assert enclosure.get("type") == "image/png"
    assert enclosure.get("length") == str(image.size)
    path = enclosure.get("href").removeprefix("http://127.0.0.1:8000")
    assert client.get(path).status_code == 200  # a public alert's picture is public


# --- per area


def test_an_area_feed_holds_the_alerts_that_reach_it(client, publish, town, place):
    place(0.09, 51.005)  # someone for the circle on the boundary to reach
    publish(title="North only")
    publish(title="South only", audience={"include": [{"area": town["south"].pk}]})
    publish(title="Whole force", audience={"include": [{"area": town["force"].pk}]})
    publish(title="Force but not South", audience={"include": [{"area": town["force"].pk}],
                                                  "exclude": [{"area": town["south"].pk}]})  # fmt: skip
    publish(title="Drawn in North", audience={"include": [{"polygon": square(0.04, 51.04, 0.06, 51.06)}]})
    publish(
        title="Circle on the boundary", audience={"include": [{"radius": {"lon": 0.09, "lat": 51.0, "metres": 2000}}]}
    )

    north = titles(client.get(area_feed(town["north"])))
    south = titles(client.get(area_feed(town["south"])))
    force = titles(client.get(area_feed(town["force"])))

    assert north == ["Circle on the boundary", "Drawn in North", "Force but not South", "Whole force", "North only"]
    # Neighbours share a boundary, not alerts.
    assert south == ["Circle on the boundary", "Whole force", "South only"]
    assert force == ["Circle on the boundary", "Drawn in North", "Force but not South", "Whole force", "South only",
                     "North only"]  # fmt: skip


def test_a_group_alert_is_in_the_feed_of_the_groups_area_only_if_it_has_one(client, publish, town, watch, organisation):
    from groups.models import CommunityGroup, Membership

    group, _coordinator = watch  # Elm Road Watch covers North Ward
    publish(title="To the watch", audience={"include": [{"group": group.pk}]})
    anywhere = CommunityGroup.objects.create(name="Kent Horse Watch", slug="horse", kind="interest",
                                             organisation=organisation)  # fmt: skip
    Membership.objects.create(group=anywhere, member=_coordinator)
    publish(title="To horse riders", audience={"include": [{"group": anywhere.pk}]})

    assert titles(client.get(area_feed(town["north"]))) == ["To the watch"]
    assert titles(client.get(area_feed(town["south"]))) == []
    assert titles(client.get("/feeds/alerts.atom")) == ["To horse riders", "To the watch"]


def test_another_forces_alerts_stay_out_of_this_areas_feed(client, publish, town, essex, officer_other_org):
    from tests.factories import MemberFactory

    publish(title="Kent alert")
    from groups.services import member_location_set

    essex_resident = MemberFactory(opt_in=[officer_other_org.organisation])
    member_location_set(member=essex_resident, longitude=1.1, latitude=51.6)
    alert = alert_create(actor=officer_other_org, kind="alert", category="drugs", priority=3, title="Essex alert",
                         body_markdown="In Essex", is_public=True,
                         audience={"include": [{"area": essex["force"].pk}]})  # fmt: skip
    alert_publish(actor=officer_other_org, alert=alert)

    assert titles(client.get(area_feed(town["force"]))) == ["Kent alert"]
    assert titles(client.get(area_feed(essex["force"]))) == ["Essex alert"]
    assert titles(client.get("/feeds/alerts.atom")) == ["Essex alert", "Kent alert"]


def test_custom_and_unknown_areas_have_no_feed(client, town, organisation):
    hotspot, _ = area_upsert(code="custom-kent-hotspot", name="Drugs hotspot", level="custom",
                             geometry=square(0.01, 51.01, 0.02, 51.02), organisation=organisation)  # fmt: skip
    for name in ("feeds:area-alerts", "feeds:area-cap-index"):
        assert client.get(area_feed(hotspot, name)).status_code == 404
        assert client.get(reverse(name, kwargs={"code": "E05NOSUCH"})).status_code == 404


# --- the CAP index and CAP messages


def test_the_cap_index_links_each_alert_and_update_to_its_cap_message(client, publish, officer):
    alert = publish(title="Burglaries on Elm Road")
    publish(title="Fun day", kind="event", category="community_events", priority=5,
            event_starts_at=timezone.now() + timedelta(days=3), event_place="Village hall")  # fmt: skip
    publish(title="New PCSO", kind="news", category="police_news", priority=5)
    update = alert_update_send(actor=officer, alert=alert, kind="update", body="Two men arrested.")

    response = client.get("/feeds/cap.atom")

    entries = atom_entries(response)
    # News and events are not warnings: Atom only.
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["Update: Burglaries on Elm Road", "Burglaries on Elm Road"]
    links = [e.find(f"{ATOM}link[@rel='alternate']") for e in entries]
    assert {link.get("type") for link in links} == {"application/cap+xml"}
    paths = [link.get("href").removeprefix("http://127.0.0.1:8000") for link in links]
    assert paths == [f"/feeds/cap/alerts/{alert.pk}/updates/{update.pk}.xml", f"/feeds/cap/alerts/{alert.pk}.xml"]
    for path in paths:
        cap(client.get(path))  # each one a valid CAP message
    assert entries[1].find(f"{ATOM}link[@rel='related']").get("href").endswith(f"/alerts/{alert.pk}/")
    assert titles(client.get("/feeds/alerts.atom")) == ["New PCSO", "Fun day", "Burglaries on Elm Road"]


def test_an_alert_as_a_cap_message(client, publish, town, settings):
    settings.SITE_URL = "https://mcv.example.org"
    alert = publish(
        title="Burglaries on Elm Road",
        audience={
            "include": [{"area": town["north"].pk}, {"radius": {"lon": 0.05123, "lat": 51.05123, "metres": 500}}]
        },
    )

    message = cap(client.get(cap_url(alert)))

    assert message.findtext(f"{CAP}identifier") == f"mcv-kent-police-alert-{alert.pk}"
    assert message.findtext(f"{CAP}sender") == "kent-police@mcv.example.org"
    sent = message.findtext(f"{CAP}sent")
    assert CAP_TIME.match(sent) and not sent.endswith("+00:00")  # UTC is "-00:00" in CAP
    assert (message.findtext(f"{CAP}status"), message.findtext(f"{CAP}msgType"), message.findtext(f"{CAP}scope")) == (
        "Actual", "Alert", "Public",
    )  # fmt: skip
    assert message.find(f"{CAP}references") is None
    info = message.find(f"{CAP}info")
    assert info.findtext(f"{CAP}language") == "en-GB"
    assert info.findtext(f"{CAP}category") == "Security"
    assert info.findtext(f"{CAP}event") == "Burglary"
    assert [info.findtext(f"{CAP}{k}") for k in ("urgency", "severity", "certainty")] == ["Expected", "Moderate",
                                                                                          "Observed"]  # fmt: skip
    assert info.findtext(f"{CAP}senderName") == "Kent Police"
    assert info.findtext(f"{CAP}headline") == "Burglaries on Elm Road"
    assert info.findtext(f"{CAP}description") == (
        "Three homes were broken into last night.\n\nLock your doors. See advice (https://kent.police.uk/advice)."
    )
    assert info.findtext(f"{CAP}web") == f"https://mcv.example.org/alerts/{alert.pk}/"
    ward, circle = info.findall(f"{CAP}area")
    assert ward.findtext(f"{CAP}areaDesc") == "North Ward"
    pairs = ward.findtext(f"{CAP}polygon").split(" ")
    assert pairs[0] == pairs[-1] and len(pairs) == 5  # a closed ring
    assert {tuple(map(float, p.split(","))) for p in pairs} == {(51.0, 0.0), (51.0, 0.1), (51.1, 0.1), (51.1, 0.0)}
    assert ward.find(f"{CAP}geocode") is None  # E05TEST01 is no real ONS code
    # The centre to about 100 m, the radius widened to still cover the drawn circle.
    assert circle.findtext(f"{CAP}circle") == "51.051,0.051 0.6"
    assert circle.findtext(f"{CAP}areaDesc") == "Within 0.5 km of a point drawn by Kent Police"


@pytest.mark.parametrize(
    ("priority", "expected"),
    [
        (1, ["Immediate", "Severe", "Observed"]),
        (2, ["Expected", "Moderate", "Observed"]),
        (3, ["Future", "Minor", "Observed"]),
        (4, ["Future", "Minor", "Likely"]),
        (5, ["Unknown", "Minor", "Unknown"]),
    ],
)
def test_priority_maps_to_urgency_severity_and_certainty(client, publish, priority, expected):
    info = cap(client.get(cap_url(publish(priority=priority)))).find(f"{CAP}info")
    assert [info.findtext(f"{CAP}{k}") for k in ("urgency", "severity", "certainty")] == expected


@pytest.mark.parametrize(
    ("category", "kind", "cap_category", "event"),
    [
        ("missing_persons", "appeal", "Rescue", "Missing persons (appeal for information)"),
        ("road_safety", "alert", "Transport", "Road safety"),
        ("fraud_scams", "alert", "Security", "Fraud and scams"),
        ("community_events", "alert", "Other", "Community events"),
    ],
)
def test_categories_map_to_cap_categories(client, publish, category, kind, cap_category, event):
    info = cap(client.get(cap_url(publish(category=category, kind=kind)))).find(f"{CAP}info")
    assert (info.findtext(f"{CAP}category"), info.findtext(f"{CAP}event")) == (cap_category, event)
    assert info.find(f"{CAP}eventCode/{CAP}value").text == category


def test_a_named_area_carries_its_ons_code_and_a_multipolygon_each_part(client, officer, organisation, place, write):
    two_parts = {"type": "MultiPolygon", "coordinates": [square(0, 50.0, 0.1, 50.1)["coordinates"],
                                                         square(0.2, 50.0, 0.3, 50.1)["coordinates"]]}  # fmt: skip
    ward, _ = area_upsert(code="E05005004", name="Bridge", level="ward", geometry=two_parts)
    organisation.areas.add(ward)
    place(0.05, 50.05)
    alert = write("Bridge burglaries", audience={"include": [{"area": ward.pk}]})
    alert_publish(actor=officer, alert=alert)

    area = cap(client.get(cap_url(alert))).find(f"{CAP}info/{CAP}area")

    assert area.findtext(f"{CAP}areaDesc") == "Bridge"
    assert len(area.findall(f"{CAP}polygon")) == 2
    assert area.findtext(f"{CAP}geocode/{CAP}valueName") == "GSS"
    assert area.findtext(f"{CAP}geocode/{CAP}value") == "E05005004"


def test_a_drawn_shape_is_not_named_and_pictures_are_resources(client, officer, town):
    alert = alert_create(actor=officer, kind="appeal", category="vehicle_crime", priority=3, title="Stolen van",
                         body_markdown="Seen it?", is_public=True,
                         audience={"include": [{"polygon": square(0.04, 51.04, 0.06, 51.06)}]})  # fmt: skip
    image = alert_image_add(actor=officer, alert=alert, upload=upload("van.png", png_bytes()), alt_text="A white van")
    alert_publish(actor=officer, alert=alert)

    info = cap(client.get(cap_url(alert))).find(f"{CAP}info")

    assert info.findtext(f"{CAP}area/{CAP}areaDesc") == "An area drawn by Kent Police"
    resource = info.find(f"{CAP}resource")
    assert resource.findtext(f"{CAP}resourceDesc") == "A white van"
    assert resource.findtext(f"{CAP}mimeType") == "image/png"
    assert resource.findtext(f"{CAP}size") == str(image.size)
    assert resource.findtext(f"{CAP}uri").endswith(f"/alerts/{alert.pk}/images/{image.pk}/")


def test_updates_and_cancellations_reference_what_came_before(client, publish, officer):
    alert = publish()
    first = alert_update_send(actor=officer, alert=alert, kind="update", body="Two men arrested.")
    last = alert_update_send(actor=officer, alert=alert, kind="cancellation", body="All stolen goods recovered.")
    original = cap(client.get(cap_url(alert)))
    update = cap(client.get(reverse("feeds:cap-update", kwargs={"pk": alert.pk, "update_pk": first.pk})))

    cancel = cap(client.get(reverse("feeds:cap-update", kwargs={"pk": alert.pk, "update_pk": last.pk})))

    def ref(message):
        return ",".join(message.findtext(f"{CAP}{k}") for k in ("sender", "identifier", "sent"))

    assert update.findtext(f"{CAP}msgType") == "Update"
    assert update.findtext(f"{CAP}identifier") == f"mcv-kent-police-alert-{alert.pk}-update-{first.pk}"
    assert update.findtext(f"{CAP}references") == ref(original)
    assert update.findtext(f"{CAP}info/{CAP}description") == "Two men arrested."
    assert update.findtext(f"{CAP}info/{CAP}headline") == "Update: Burglaries on Elm Road"
    assert cancel.findtext(f"{CAP}msgType") == "Cancel"
    assert cancel.findtext(f"{CAP}references") == f"{ref(original)} {ref(update)}"
    assert cancel.findtext(f"{CAP}info/{CAP}responseType") == "AllClear"
    assert cancel.findtext(f"{CAP}info/{CAP}urgency") == "Past"
    assert {m.findtext(f"{CAP}incidents") for m in (original, update, cancel)} == {
        original.findtext(f"{CAP}identifier")
    }


def test_a_withdrawn_alert_leaves_the_feeds_and_its_cap_index_entry_becomes_a_cancel(client, publish, officer, town):
    alert = publish()
    update = alert_update_send(actor=officer, alert=alert, kind="update", body="Two men arrested.")
    original = cap(client.get(cap_url(alert)))
    update_url = reverse("feeds:cap-update", kwargs={"pk": alert.pk, "update_pk": update.pk})
    update_message = cap(client.get(update_url))
    withdrawn_url = reverse("feeds:cap-withdrawn", kwargs={"pk": alert.pk})
    assert client.get(withdrawn_url).status_code == 404  # not withdrawn yet

    alert_withdraw(actor=officer, alert=alert, reason="The wrong street was named", notify=True)

    assert titles(client.get("/feeds/alerts.atom")) == []
    assert titles(client.get(area_feed(town["north"]))) == []
    assert client.get(cap_url(alert)).status_code == 404
    assert client.get(update_url).status_code == 404
    (entry,) = atom_entries(client.get("/feeds/cap.atom"))
    assert entry.findtext(f"{ATOM}title") == "Withdrawn by Kent Police"
    assert entry.find(f"{ATOM}link[@rel='alternate']").get("href").endswith(withdrawn_url)
    assert entry.find(f"{ATOM}link[@rel='related']") is None  # its page is gone too
    (north_entry,) = atom_entries(client.get(area_feed(town["north"], "feeds:area-cap-index")))
    assert north_entry.findtext(f"{ATOM}id") == entry.findtext(f"{ATOM}id")
    response = client.get(withdrawn_url)
    cancel = cap(response)
    assert cancel.findtext(f"{CAP}msgType") == "Cancel"
    assert cancel.findtext(f"{CAP}identifier") == f"mcv-kent-police-alert-{alert.pk}-withdrawn"
    assert cancel.findtext(f"{CAP}references").split(" ") == [
        ",".join(m.findtext(f"{CAP}{k}") for k in ("sender", "identifier", "sent")) for m in (original, update_message)
    ]
    assert cancel.find(f"{CAP}info") is None
    # Nothing of what was withdrawn, nor why (the reason went to the recipients only).
    body = response.content.decode()
    assert "Burglaries" not in body and "wrong street" not in body


def test_cap_messages_exist_only_for_public_alerts_and_appeals_that_are_out(client, publish, write, officer):
    private = publish(is_public=False)
    news = publish(kind="news", category="police_news")
    draft = write("Draft")
    for alert in (private, news, draft):
        assert client.get(cap_url(alert)).status_code == 404
    assert client.get(reverse("feeds:cap-alert", kwargs={"pk": 999_999})).status_code == 404
    public = publish()
    other_alerts_update = alert_update_send(actor=officer, alert=publish(), kind="update", body="News")
    wrong = reverse("feeds:cap-update", kwargs={"pk": public.pk, "update_pk": other_alerts_update.pk})
    assert client.get(wrong).status_code == 404


def test_a_scheduled_alert_joins_the_feeds_when_its_time_comes(client, officer, write):
    alert = write("Scheduled")
    alert_schedule(actor=officer, alert=alert, send_at=timezone.now() + timedelta(minutes=30))
    assert titles(client.get("/feeds/alerts.atom")) == []
    assert client.get(cap_url(alert)).status_code == 404

    # Its time has come; the minute's release has not marked it published yet.
    Alert.objects.filter(pk=alert.pk).update(scheduled_for=timezone.now() - timedelta(seconds=5))

    assert titles(client.get("/feeds/alerts.atom")) == ["Scheduled"]
    assert cap(client.get(cap_url(alert))).findtext(f"{CAP}msgType") == "Alert"


# --- caching and headers


def test_feeds_are_public_cacheable_and_answer_304_until_something_changes(client, publish, officer):
    alert = publish()
    first = client.get("/feeds/alerts.atom")
    assert first.status_code == 200
    assert first["Cache-Control"] == "public, max-age=60"
    assert first["Access-Control-Allow-Origin"] == "*"
    etag, modified = first["ETag"], first["Last-Modified"]
    assert etag and modified

    assert client.get("/feeds/alerts.atom", HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get("/feeds/alerts.atom", HTTP_IF_MODIFIED_SINCE=modified).status_code == 304

    alert_update_send(actor=officer, alert=alert, kind="update", body="Two men arrested.")

    again = client.get("/feeds/alerts.atom", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 200
    assert again["ETag"] != etag
    assert "Two men arrested." in again.content.decode()


def test_a_withdrawal_changes_the_etag_at_once_even_with_the_body_cached(client, publish, officer):
    alert = publish()
    etag = client.get("/feeds/alerts.atom")["ETag"]

    alert_withdraw(actor=officer, alert=alert)

    response = client.get("/feeds/alerts.atom", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert titles(response) == []


@pytest.mark.parametrize(
    "path",
    ["/feeds/alerts.atom", "/feeds/cap.atom", "/feeds/areas/E05TEST01/alerts.atom", "/feeds/areas/E05TEST01/cap.atom"],
)
def test_feeds_answer_get_and_head_only(client, town, path):
    assert client.head(path).status_code == 200
    assert client.post(path).status_code == 405


def test_cap_messages_have_etags_too(client, publish):
    alert = publish()
    response = client.get(cap_url(alert))
    assert client.get(cap_url(alert), HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    assert response["Cache-Control"] == "public, max-age=60"


@pytest.mark.parametrize("path", ["/feeds/alerts.atom", "/feeds/cap.atom", "/feeds/areas/E05TEST01/cap.atom"])
def test_a_feed_is_a_constant_number_of_queries(client, publish, officer, path, django_assert_max_num_queries):
    def build(n):
        for i in range(n):
            alert = publish(title=f"Alert {i}")
            alert_update_send(actor=officer, alert=alert, kind="update", body="More")

    build(2)
    with django_assert_max_num_queries(11) as few:
        assert client.get(path).status_code == 200
    build(12)
    from django.core.cache import cache

    cache.clear()
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(path)
    assert len(atom_entries(response)) >= 14
