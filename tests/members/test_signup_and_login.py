"""A resident signs up, verifies their email, logs in by email and resets a forgotten password."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from members.models import ConsentRecord, Member, OrganisationOptIn

pytestmark = pytest.mark.django_db

STRONG = "a-long-and-unusual-passphrase-42"


def signup_data(**overrides):
    data = {
        "email": "new.resident@example.org",
        "password1": STRONG,
        "password2": STRONG,
        "first_name": "Morgan",
        "last_name": "Newcomer",
        "address_line1": "12 Week Street",
        "address_line2": "",
        "town": "Maidstone",
        "postcode": " me14  1xx ",
        "phone": "07400 123456",
        "accept_terms": "on",
    }
    data.update(overrides)
    return data


def link_in(message, pattern=r"https?://testserver(/\S+)"):
    match = re.search(pattern, message.body)
    assert match, f"no link in: {message.body}"
    return match.group(1)


def test_signup_verify_then_login_by_email(client, organisation):
    assert not Member.objects.filter(email="new.resident@example.org").exists()

    response = client.post("/accounts/signup/", signup_data(organisations=[organisation.pk]))

    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    member = Member.objects.get(email="new.resident@example.org")
    assert (member.first_name, member.postcode, member.town) == ("Morgan", "ME14 1XX", "Maidstone")
    assert member.phone.as_e164 == "+447400123456"
    assert OrganisationOptIn.objects.filter(member=member, organisation=organisation).exists()
    consent = ConsentRecord.objects.get(member=member, organisation=None)
    assert consent.given and consent.consent_text.version == 1 and consent.source == "signup"
    # Not verified yet: not logged in, and logging in is refused until they verify.
    assert "_auth_user_id" not in client.session
    login = client.post("/accounts/login/", {"login": "new.resident@example.org", "password": STRONG})
    assert login.status_code == 302 and login["Location"] == "/accounts/confirm-email/"
    assert "_auth_user_id" not in client.session
    assert client.get("/me/preferences/").status_code == 302

    confirm_path = link_in(mail.outbox[-1], r"https?://testserver(/accounts/confirm-email/\S+)")
    assert client.get(confirm_path).status_code == 200
    assert client.post(confirm_path).status_code == 302
    assert EmailAddress.objects.get(user=member).verified

    response = client.post("/accounts/login/", {"login": "NEW.Resident@example.org", "password": STRONG})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == member.pk
    assert client.get("/me/preferences/").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"postcode": "not a postcode"}, "postcode", "Enter a real UK postcode"),
        ({"phone": "12345"}, "phone", "Enter a valid phone number"),
        ({"password1": "password", "password2": "password"}, "password1", "too common"),
        ({"accept_terms": ""}, "accept_terms", "You must agree to the privacy notice"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"first_name": ""}, "first_name", "This field is required"),
    ],
)
def test_signup_bad_input_gets_field_error_and_creates_nothing(client, overrides, field, message):
    response = client.post("/accounts/signup/", signup_data(**overrides))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert message in response.content.decode()
    assert not Member.objects.exists()
    assert mail.outbox == []


def test_signup_with_a_taken_email_answers_the_same_and_tells_the_owner(client, resident):
    fresh = client.post("/accounts/signup/", signup_data(email="someone.new@example.org"))
    mail.outbox.clear()
    client.cookies.clear()

    taken = client.post("/accounts/signup/", signup_data(email="resident@example.org"))

    assert (taken.status_code, taken["Location"]) == (fresh.status_code, fresh["Location"])
    assert Member.objects.filter(email="resident@example.org").count() == 1
    resident.refresh_from_db()
    assert resident.first_name == "Alex"  # nothing of the owner's account changed
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["resident@example.org"]
    assert "already exists" in mail.outbox[0].body


def test_password_reset_answers_the_same_for_unknown_email_and_resets_known(client, resident):
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.org"})
    known = client.post("/accounts/password/reset/", {"email": "resident@example.org"})

    assert unknown.status_code == known.status_code == 302
    assert unknown["Location"] == known["Location"] == "/accounts/password/reset/done/"
    reset = next(m for m in mail.outbox if m.to == ["resident@example.org"])
    path = link_in(reset, r"https?://testserver(/accounts/password/reset/key/\S+)")
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    new = "another-long-passphrase-77"
    done = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else path, {"password1": new, "password2": new}
    )
    assert done.status_code == 302
    resident.refresh_from_db()
    assert resident.check_password(new)


def test_signup_is_rate_limited(client):
    statuses = [
        client.post("/accounts/signup/", signup_data(email=f"bulk{i}@example.org")).status_code for i in range(12)
    ]
    assert statuses[:10] == [302] * 10
    assert statuses[10:] == [429, 429]
    assert Member.objects.count() == 10


def test_failed_logins_are_rate_limited(client, resident):
    pages = [client.post("/accounts/login/", {"login": "resident@example.org", "password": "wrong"}) for _ in range(6)]
    assert all(p.status_code == 200 for p in pages)  # the form again, with an error
    assert "Too many failed login attempts" not in pages[0].content.decode()
    assert "Too many failed login attempts" in pages[-1].content.decode()
    # Even the right password is refused while the limit holds.
    right = client.post(
        "/accounts/login/", {"login": "resident@example.org", "password": "correct-horse-battery-staple"}
    )
    assert "Too many failed login attempts" in right.content.decode()
    assert "_auth_user_id" not in client.session


def test_password_reset_is_rate_limited(client, resident):
    statuses = [
        client.post("/accounts/password/reset/", {"email": "resident@example.org"}).status_code for _ in range(5)
    ]
    assert statuses[:3] == [302, 302, 302]
    assert 429 in statuses[3:]
