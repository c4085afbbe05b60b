"""A resident chooses what they hear about and how, logged in or from the link in any message."""

import datetime as dt
import re

import pytest
from django.core import mail

from members.links import preferences_link_token, preferences_link_url
from members.models import Interest, Member
from members.tasks import send_preferences_confirmation

pytestmark = pytest.mark.django_db


def form_data(**overrides):
    data = {
        "channel_inbox": "on",
        "channel_email": "on",
        "frequency": "immediate",
        "quiet_hours_start": "",
        "quiet_hours_end": "",
        "sms_lowest_priority": "2",
        "interests": [Interest.BURGLARY, Interest.FRAUD_SCAMS],
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_every_interest_named_in_the_brief_can_be_chosen():
    labels = set(Interest.labels)
    for wanted in [
        "Burglary",
        "Vehicle crime",
        "Fraud and scams",
        "Anti-social behaviour",
        "Violence and weapons",
        "Drugs",
        "Road safety",
        "Rural crime",
        "Missing persons",
        "Community events",
        "Police news",
    ]:
        assert wanted in labels


def test_resident_sets_channels_interests_frequency_quiet_hours_and_sms_threshold(client, resident):
    resident.phone = "+447400123456"
    resident.save()
    prefs = resident.preferences
    assert (prefs.channel_sms, prefs.frequency, prefs.quiet_hours_start) == (False, "immediate", None)
    assert resident.interests.count() == len(Interest.values)
    client.force_login(resident)

    response = client.post(
        "/me/preferences/",
        form_data(
            channel_email=None,
            channel_sms="on",
            channel_push="on",
            frequency="daily_digest",
            quiet_hours_start="22:00",
            quiet_hours_end="07:00",
            sms_lowest_priority="1",
        ),
    )

    assert response.status_code == 302
    prefs.refresh_from_db()
    assert prefs.channels == ["inbox", "sms", "push"]
    assert prefs.frequency == "daily_digest"
    assert (prefs.quiet_hours_start, prefs.quiet_hours_end) == (dt.time(22), dt.time(7))
    assert prefs.sms_lowest_priority == 1
    assert sorted(resident.interests.values_list("interest", flat=True)) == ["burglary", "fraud_scams"]
    page = client.get("/me/preferences/").content.decode()
    assert re.search(r'<input[^>]*value="burglary"[^>]*checked', page)
    assert not re.search(r'<input[^>]*value="drugs"[^>]*checked', page)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"quiet_hours_start": "22:00"}, "quiet_hours_end", "Give both a start and an end"),
        ({"channel_sms": "on"}, "channel_sms", "Add a mobile phone number"),
        ({"sms_lowest_priority": "9"}, "sms_lowest_priority", "less than or equal to 5"),
        ({"interests": ["burglary", "knitting"]}, "interests", "Select a valid choice"),
        ({"frequency": "hourly"}, "frequency", "Select a valid choice"),
    ],
)
def test_bad_preferences_get_a_field_error_and_change_nothing(client, resident, overrides, field, message):
    client.force_login(resident)
    before = Member.objects.get(pk=resident.pk).preferences.updated_at

    response = client.post("/me/preferences/", form_data(**overrides))

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert Member.objects.get(pk=resident.pk).preferences.updated_at == before
    assert resident.interests.count() == len(Interest.values)


def test_signed_link_changes_settings_without_login_and_confirms_by_email(
    client, resident, django_capture_on_commit_callbacks
):
    path = preferences_link_url(member=resident).removeprefix("http://127.0.0.1:8000")
    assert path.startswith("/p/")

    page = client.get(path)
    assert page.status_code == 200
    assert "Alex" in page.content.decode()
    assert "_auth_user_id" not in client.session  # nobody was logged in

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path, form_data(channel_email=None, interests=[Interest.MISSING_PERSONS]))

    assert response.status_code == 302
    resident.preferences.refresh_from_db()
    assert resident.preferences.channel_email is False
    assert list(resident.interests.values_list("interest", flat=True)) == ["missing_persons"]
    assert len(mail.outbox) == 1
    confirmation = mail.outbox[0]
    assert confirmation.to == ["resident@example.org"]
    assert "Email" in confirmation.body and "What you hear about" in confirmation.body
    assert "/p/" in confirmation.body  # the confirmation carries the link too
    assert confirmation.extra_headers["List-Unsubscribe"].startswith("<http")


def test_signed_link_stop_all_leaves_only_the_inbox(client, resident, django_capture_on_commit_callbacks):
    resident.preferences.channel_push = True
    resident.preferences.save()
    path = "/p/" + preferences_link_token(member=resident) + "/"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path, {"stop_all": "1"})

    assert response.status_code == 302
    resident.preferences.refresh_from_db()
    assert resident.preferences.channels == ["inbox"]
    assert len(mail.outbox) == 1


def test_tampered_expired_or_stale_links_do_not_work(client, resident, other_resident, settings):
    token = preferences_link_token(member=resident)
    # Tampered: swap in another member's id under the same signature.
    forged = token.replace(token.split(":")[0], preferences_link_token(member=other_resident).split(":")[0])
    assert client.get(f"/p/{forged}/").status_code == 404
    assert client.get("/p/not-a-token/").status_code == 404
    # Stale: the account's email changed since the link was sent.
    resident.email = "moved@example.org"
    resident.save()
    assert client.get(f"/p/{token}/").status_code == 404
    # Expired.
    settings.PREFERENCES_LINK_MAX_AGE = dt.timedelta(seconds=-1)
    fresh = preferences_link_token(member=resident)
    assert client.get(f"/p/{fresh}/").status_code == 404


def test_every_email_a_member_gets_carries_the_settings_link(client, resident):
    # An allauth message (password reset) ...
    client.post("/accounts/password/reset/", {"email": "resident@example.org"})
    # ... and one of ours.
    send_preferences_confirmation(member_id=resident.pk, changed=["channel_email"])

    assert len(mail.outbox) == 2
    for message in mail.outbox:
        links = re.findall(r"https?://\S+/p/[^/\s]+/", message.body)
        assert links, message.body
        token = links[0].rsplit("/p/", 1)[1].rstrip("/")
        assert client.get(f"/p/{token}/").status_code == 200


def test_preferences_need_login(client):
    response = client.get("/me/preferences/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_list_unsubscribe_header_stays_a_readable_url_in_account_emails(resident):
    send_preferences_confirmation(member_id=resident.pk, changed=["channel_email"])

    raw = mail.outbox[0].message().as_bytes().decode()
    header = next(line for line in raw.splitlines() if line.startswith("List-Unsubscribe:"))
    assert "=?utf-8?" not in header
    assert re.fullmatch(r"List-Unsubscribe: <https?://\S+/p/[^/\s]+/>", header)


def test_one_click_unsubscribe_from_a_mail_client_turns_email_off_without_a_session(resident):
    from django.test import Client

    mail_client = Client(enforce_csrf_checks=True)  # a mail provider: no cookie, no CSRF token
    path = "/p/" + preferences_link_token(member=resident) + "/"

    response = mail_client.post(path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 200
    resident.preferences.refresh_from_db()
    assert resident.preferences.channels == ["inbox"]
    assert mail.outbox == []  # no email to say email is off
    # Any other POST to the link still needs the form's CSRF token.
    forged = mail_client.post(path, {"stop_all": "1"})
    assert forged.status_code == 403
    assert (
        Client(enforce_csrf_checks=True)
        .post("/p/forged-token/", "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
        .status_code
        == 404
    )
