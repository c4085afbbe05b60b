"""A coordinator messages their own group through the same pipeline, and nobody else."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from alerts.models import GroupMessage
from alerts.services import group_message_send
from core.models import AuditEvent
from groups.models import CommunityGroup, Membership
from notifications.models import Delivery
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def members(watch, organisation, other_organisation, place):
    """In the scheme: a resident opted in to Kent Police, one who opted in to Essex only, and
    one who asked to join but is not in yet. Outside it: a neighbour in the same ward."""
    group, _ = watch
    inside = place(0.05, 51.05)
    essex_only = place(0.05, 51.06, opt_in=[other_organisation])
    waiting = place(0.05, 51.07)
    neighbour = place(0.05, 51.08)
    Membership.objects.create(group=group, member=inside)
    Membership.objects.create(group=group, member=essex_only)
    Membership.objects.create(group=group, member=waiting, status="pending")
    return {"inside": inside, "essex_only": essex_only, "waiting": waiting, "neighbour": neighbour}


def inboxes(message: GroupMessage) -> set[int]:
    return set(Delivery.objects.filter(dispatch=message.dispatch, channel="inbox").values_list("member_id", flat=True))


def test_a_coordinator_reaches_the_groups_members_who_opted_in_and_nobody_else(committed, watch, members):
    group, coordinator = watch

    message = committed(
        group_message_send, actor=coordinator, group=group, subject="Meeting on Tuesday", body="7pm at the hall."
    )

    assert inboxes(message) == {members["inside"].pk, coordinator.pk}
    dispatch = message.dispatch
    assert (dispatch.organisation_id, dispatch.source_type) == (group.organisation_id, "alerts.groupmessage")
    assert dispatch.audience == {"include": [{"group": group.pk}], "exclude": [], "interest_only": False}
    assert dispatch.subject == "Elm Road Watch: Meeting on Tuesday"
    assert "From Kim, coordinator of Elm Road Watch." in dispatch.body_text
    assert AuditEvent.objects.filter(action="alerts.group_message.sent", target_id=str(message.pk)).exists()


def test_nobody_but_the_groups_coordinators_may_message_it(watch, members, officer, organisation):
    group, _ = watch
    other_coordinator = MemberFactory(opt_in=[organisation])
    other_group = CommunityGroup.objects.create(
        name="Ash Lane Watch", slug="ash-lane-watch", kind="interest", organisation=organisation
    )
    Membership.objects.create(group=other_group, member=other_coordinator, role="coordinator")
    for someone in (members["inside"], officer, other_coordinator):
        with pytest.raises(PermissionDenied):
            group_message_send(actor=someone, group=group, subject="Hi", body="Hello")
    assert not GroupMessage.objects.exists()


def test_a_group_gets_at_most_the_daily_number_of_messages(committed, watch, members, settings):
    settings.ALERT_GROUP_MESSAGES_PER_DAY = 2
    group, coordinator = watch
    for i in range(2):
        committed(group_message_send, actor=coordinator, group=group, subject=f"News {i}", body="Hello")
    with pytest.raises(ValidationError, match="the most allowed"):
        group_message_send(actor=coordinator, group=group, subject="News 3", body="Hello")
    assert GroupMessage.objects.count() == 2


def test_an_empty_message_is_refused_by_field(watch):
    group, coordinator = watch
    with pytest.raises(ValidationError) as caught:
        group_message_send(actor=coordinator, group=group, subject=" ", body="")
    assert set(caught.value.message_dict) == {"subject", "body"}


# --- the page


def test_the_coordinator_sends_from_the_page_and_sees_what_was_sent(
    client, watch, members, django_capture_on_commit_callbacks
):
    _, coordinator = watch
    client.force_login(coordinator)
    assert "Elm Road Watch" in client.get("/alerts/groups/").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/alerts/groups/elm-road-watch/messages/",
            # Anything that tries to aim elsewhere is ignored: a group message goes to its group.
            {"subject": "Bins", "body": "Bins go out on Wednesday.", "areas": "1", "audience": '{"include": []}'},
        )

    assert response.status_code == 302
    message = GroupMessage.objects.get()
    assert inboxes(message) == {members["inside"].pk, coordinator.pk}
    page = client.get("/alerts/groups/elm-road-watch/messages/").content.decode()
    assert "Bins" in page and "1 sent so far" in page


def test_the_page_refuses_everyone_else(client, watch, members, officer, officer_other_org):
    client.force_login(members["inside"])
    assert client.get("/alerts/groups/elm-road-watch/messages/").status_code == 403
    assert client.post("/alerts/groups/elm-road-watch/messages/", {"subject": "x", "body": "y"}).status_code == 403
    assert client.get("/alerts/groups/").status_code == 403
    client.force_login(officer)
    assert client.get("/alerts/groups/elm-road-watch/messages/").status_code == 403
    client.force_login(officer_other_org)
    assert client.get("/alerts/groups/elm-road-watch/messages/").status_code == 404
    client.logout()
    assert client.get("/alerts/groups/elm-road-watch/messages/").status_code == 302
    assert not GroupMessage.objects.exists()


def test_a_blank_message_comes_back_with_its_errors(client, watch):
    _, coordinator = watch
    client.force_login(coordinator)
    response = client.post("/alerts/groups/elm-road-watch/messages/", {"subject": "", "body": ""})
    assert response.status_code == 400
    assert 'class="error-summary"' in response.content.decode()
