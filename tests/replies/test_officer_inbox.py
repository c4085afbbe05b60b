"""Officers work their organisation's replies from one inbox: filter, open, answer, assign, close."""

import pytest

from core.models import AuditEvent
from groups.services import area_upsert, member_location_set
from replies.models import Thread
from replies.services import reply_create, thread_assign
from tests.factories import MemberFactory, OfficerFactory

pytestmark = pytest.mark.django_db


def square(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def test_the_inbox_shows_only_the_organisations_threads_urgent_first(
    client, officer, officer_other_org, resident, other_resident, other_organisation, send_alert
):
    alert = send_alert(resident, other_resident)
    reply_create(resident=resident, dispatch=alert, body="Calm words about the van")
    reply_create(resident=other_resident, dispatch=alert, body="There was a man with a KNIFE")
    essex_resident = MemberFactory(opt_in=[other_organisation])
    essex_alert = send_alert(essex_resident, org=other_organisation, subject="Essex alert")
    reply_create(resident=essex_resident, dispatch=essex_alert, body="An Essex reply")
    client.force_login(officer)

    page = client.get("/replies/").content.decode()

    assert page.index("There was a man with a KNIFE") < page.index("Calm words about the van")
    assert "An Essex reply" not in page
    assert 'Urgent <span class="tag">1<' in page and 'Unread <span class="tag">2<' in page
    assert "Closed</a>" in page  # closed threads are not counted: years of them would slow every visit
    client.force_login(officer_other_org)
    page = client.get("/replies/").content.decode()
    assert "An Essex reply" in page and "KNIFE" not in page


def test_residents_are_sent_to_their_own_conversations(client, resident):
    client.force_login(resident)
    assert client.get("/replies/")["Location"] == "/replies/mine/"


def test_opening_a_thread_marks_it_read_for_the_whole_organisation(client, officer, second_officer, resident, alert):
    reply_create(resident=resident, dispatch=alert, body="Anyone there?")
    client.force_login(second_officer)
    assert "Anyone there?" in client.get("/replies/?view=unread").content.decode()

    client.force_login(officer)
    thread = Thread.objects.get()
    page = client.get(f"/replies/{thread.pk}/").content.decode()
    assert "Anyone there?" in page and resident.email in page

    client.force_login(second_officer)
    assert "Anyone there?" not in client.get("/replies/?view=unread").content.decode()
    # A new message makes it unread again.
    reply_create(resident=resident, dispatch=alert, body="Hello again?")
    assert "Hello again?" in client.get("/replies/?view=unread").content.decode()


def test_filters_assigned_to_me_by_alert_and_by_area(
    client, officer, second_officer, resident, other_resident, send_alert, organisation
):
    north, _ = area_upsert(code="E05N", name="North Ward", level="ward", geometry=square(0, 51.0, 0.1, 51.1))
    south, _ = area_upsert(code="E05S", name="South Ward", level="ward", geometry=square(0, 50.9, 0.1, 51.0))
    organisation.areas.add(north, south)  # Kent Police's area of responsibility: the area filter's choices
    member_location_set(member=resident, longitude=0.05, latitude=51.05)
    member_location_set(member=other_resident, longitude=0.05, latitude=50.95)
    burglary = send_alert(resident, other_resident, subject="Burglaries")
    scam = send_alert(resident, subject="Phone scam")
    a = reply_create(resident=resident, dispatch=burglary, body="North burglary reply").thread
    reply_create(resident=other_resident, dispatch=burglary, body="South burglary reply")
    reply_create(resident=resident, dispatch=scam, body="North scam reply")
    thread_assign(actor=officer, thread=a, assignee=second_officer)
    client.force_login(second_officer)

    mine = client.get("/replies/?view=mine").content.decode()
    by_alert = client.get(f"/replies/?alert={burglary.pk}").content.decode()
    by_area = client.get(f"/replies/?area={north.pk}").content.decode()
    both = client.get(f"/replies/?alert={burglary.pk}&area={north.pk}").content.decode()

    def shown(page):
        return {text for text in ("North burglary reply", "South burglary reply", "North scam reply") if text in page}

    assert shown(mine) == {"North burglary reply"}
    assert shown(by_alert) == {"North burglary reply", "South burglary reply"}
    assert shown(by_area) == {"North burglary reply", "North scam reply"}
    assert shown(both) == {"North burglary reply"}
    assert ">North Ward (ward)</option>" in by_area and ">South Ward (ward)</option>" in by_area
    assert '<span class="hint">South Ward</span>' in by_alert  # each resident's ward is shown


def test_a_bad_filter_is_a_clear_error(client, officer):
    client.force_login(officer)
    response = client.get("/replies/?area=not-a-number")
    assert response.status_code == 400
    assert 'class="error-summary"' in response.content.decode()


@pytest.mark.parametrize("threads", [5, 50])
def test_the_reply_inbox_runs_a_constant_number_of_queries(
    threads, client, officer, organisation, send_alert, django_assert_max_num_queries
):
    area, _ = area_upsert(code="E05Q", name="Query Ward", level="ward", geometry=square(0, 51.0, 0.1, 51.1))
    organisation.areas.add(area)
    residents = [MemberFactory(opt_in=[organisation]) for _ in range(threads)]
    for person in residents:
        member_location_set(member=person, longitude=0.05, latitude=51.05)
    alert = send_alert(*residents)
    for i, person in enumerate(residents):
        thread = reply_create(resident=person, dispatch=alert, body=f"Reply {i}: gun" if i % 4 == 0 else f"Reply {i}")
        if i % 3 == 0:
            thread_assign(actor=officer, thread=thread.thread, assignee=officer)
    client.force_login(officer)
    client.get("/replies/")  # the session and the MFA check warm up

    # Session, member, MFA; the alert and area choices (checked, then listed); the view
    # counts; the page's count and rows; the organisation's name; the nav's urgent/unread
    # count (base.html). Twelve at 5 threads or 50.
    with django_assert_max_num_queries(12):
        response = client.get(f"/replies/?view=all&alert={alert.pk}&area={area.pk}")

    assert response.status_code == 200
    assert response.content.decode().count('href="/replies/') >= min(threads, 25)


def test_assigning_to_an_officer_of_the_organisation_and_only_them(
    client,
    officer,
    second_officer,
    officer_other_org,
    resident,
    alert,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    thread = reply_create(resident=resident, dispatch=alert, body="Help").thread
    client.force_login(officer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/replies/{thread.pk}/assign/", {"assign-assignee": second_officer.pk})

    assert response.status_code == 302
    thread.refresh_from_db()
    assert thread.assignee == second_officer
    assert [m.to for m in mailoutbox] == [[second_officer.email]]
    assert "A reply has been assigned to you" in mailoutbox[0].subject
    assert AuditEvent.objects.filter(action="replies.thread.assigned", actor=officer).exists()

    refused = client.post(f"/replies/{thread.pk}/assign/", {"assign-assignee": officer_other_org.pk})
    assert refused.status_code == 400 and "Select a valid choice" in refused.content.decode()
    client.post(f"/replies/{thread.pk}/assign/", {"to": "me"})
    thread.refresh_from_db()
    assert thread.assignee == officer
    assert len(mailoutbox) == 1  # taking it yourself sends no email


def test_answering_an_urgent_thread_keeps_it_urgent_until_closed(client, officer, resident, alert):
    thread = reply_create(resident=resident, dispatch=alert, body="I want to kill myself").thread
    client.force_login(officer)

    client.post(f"/replies/{thread.pk}/answer/", {"answer-body": "Please call 999 or Samaritans on 116 123."})
    thread.refresh_from_db()
    assert thread.urgent and thread.status == "open" and thread.awaiting_since is None

    response = client.post(f"/replies/{thread.pk}/close/")

    assert response["Location"] == f"/replies/{thread.pk}/"
    thread.refresh_from_db()
    assert (thread.status, thread.urgent, thread.closed_by) == ("closed", False, officer)
    assert "I want to kill myself" not in client.get("/replies/?view=urgent").content.decode()
    assert "I want to kill myself" in client.get("/replies/?view=closed").content.decode()
    client.post(f"/replies/{thread.pk}/reopen/")
    thread.refresh_from_db()
    assert thread.status == "open"
    actions = list(
        AuditEvent.objects.filter(target_type="replies.thread").order_by("pk").values_list("action", flat=True)
    )
    assert actions == [
        "replies.thread.escalated",
        "replies.message.answered",
        "replies.thread.closed",
        "replies.thread.reopened",
    ]


def test_another_organisations_officer_finds_nothing(client, officer_other_org, resident, alert):
    thread = reply_create(resident=resident, dispatch=alert, body="Kent only").thread
    client.force_login(officer_other_org)

    for method, path, data in [
        ("get", f"/replies/{thread.pk}/", {}),
        ("post", f"/replies/{thread.pk}/answer/", {"answer-body": "Hi"}),
        ("post", f"/replies/{thread.pk}/assign/", {"to": "me"}),
        ("post", f"/replies/{thread.pk}/close/", {}),
    ]:
        assert getattr(client, method)(path, data).status_code == 404, path
    thread.refresh_from_db()
    assert thread.messages.count() == 1 and thread.assignee is None and thread.status == "open"


def test_a_resident_who_withdrew_keeps_their_words_but_not_their_contact_details(
    client, officer, resident, organisation, alert
):
    from members.services import organisation_opt_in_set

    thread = reply_create(resident=resident, dispatch=alert, body="My reply").thread
    organisation_opt_in_set(member=resident, organisation=organisation, opted_in=False, source="settings")
    client.force_login(officer)

    page = client.get(f"/replies/{thread.pk}/").content.decode()

    assert "My reply" in page and resident.get_full_name() in page
    assert resident.email not in page and "no longer share their contact details" in page


def test_force_admins_set_trigger_words_and_the_duty_address(client, force_admin, officer, organisation):
    client.force_login(officer)
    assert client.get("/replies/settings/").status_code == 403

    client.force_login(force_admin)
    page = client.get("/replies/settings/").content.decode()
    assert "kill myself" in page and "standard list" in page

    response = client.post(
        "/replies/settings/",
        {"trigger_words": "Machete\n  acid   attack \nmachete", "duty_email": "duty@kent.police.example"},
    )
    assert response.status_code == 302
    settings_row = organisation.reply_settings
    assert settings_row.trigger_words == ["acid attack", "machete"]
    assert settings_row.duty_email == "duty@kent.police.example"
    assert AuditEvent.objects.filter(
        action="replies.settings.changed", data={"fields": ["trigger_words", "duty_email"]}
    ).exists()

    client.post("/replies/settings/", {"trigger_words": "", "duty_email": ""})
    settings_row.refresh_from_db()
    assert settings_row.trigger_words is None and settings_row.duty_email == ""


def test_an_officer_who_has_left_cannot_be_assigned(client, officer, organisation, resident, alert):
    gone = OfficerFactory(organisation=organisation, is_active=False)
    thread = reply_create(resident=resident, dispatch=alert, body="Hi").thread
    client.force_login(officer)

    assert client.post(f"/replies/{thread.pk}/assign/", {"assign-assignee": gone.pk}).status_code == 400
    assert gone.get_full_name() not in client.get(f"/replies/{thread.pk}/").content.decode()


def test_the_nav_counts_come_from_one_query(officer, resident, alert, django_assert_num_queries, rf):
    from django.template import Context, Template

    reply_create(resident=resident, dispatch=alert, body="There is a gun")
    request = rf.get("/")
    request.user = officer
    template = Template("{% load replies %}{% reply_nav_counts as c %}{{ c.urgent }}/{{ c.unread }}")

    with django_assert_num_queries(2):  # the MFA check, then the counts
        assert template.render(Context({"request": request})) == "1/1"

    Thread.objects.update(unread=False)
    assert (
        Template("{% load replies %}{% reply_nav_counts as c %}{{ c.unread }}").render(Context({"request": request}))
        == "0"
    )
