"""Officers and force admins must use MFA; force admins manage their own organisation's officers."""

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core import mail
from rest_framework.authtoken.models import Token

from core.models import AuditEvent
from members.models import Member
from tests.factories import PASSWORD, TOTP_SECRET, OfficerFactory

pytestmark = pytest.mark.django_db


def totp_now(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def log_in(client, email, password=PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_officer_without_mfa_is_taken_to_set_it_up_before_anything_works(client, organisation, resident):
    officer = OfficerFactory(email="new.officer@police.example", organisation=organisation, with_mfa=False)
    token = Token.objects.create(user=officer)
    log_in(client, officer.email)
    assert int(client.session["_auth_user_id"]) == officer.pk

    for page in ["/", "/organisation/members/", "/me/profile/", "/me/preferences/"]:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"] == "/accounts/2fa/totp/activate/", page
    api = client.get("/api/v1/me/")
    assert api.status_code == 403
    assert "two-factor authentication" in api.json()["detail"]
    client.logout()
    by_token = client.get("/api/v1/me/", headers={"Authorization": f"Token {token.key}"})
    assert by_token.status_code == 403
    assert "two-factor authentication" in by_token.json()["detail"]

    # Set it up: the page shows a secret, the officer enters the code from their app.
    log_in(client, officer.email)
    page = client.get("/accounts/2fa/totp/activate/")
    if page.status_code == 302 and "reauthenticate" in page["Location"]:
        client.post(page["Location"], {"password": PASSWORD})
        page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = page.context["form"].secret
    done = client.post("/accounts/2fa/totp/activate/", {"code": totp_now(secret)})
    assert done.status_code == 302

    assert Authenticator.objects.filter(user=officer, type="totp").exists()
    assert Authenticator.objects.filter(user=officer, type="recovery_codes").exists()
    assert client.get("/organisation/members/").status_code == 200
    assert client.get("/api/v1/me/", headers={"Authorization": f"Token {token.key}"}).status_code == 200


def test_officer_with_mfa_logs_in_with_a_code_from_their_app(client, officer):
    response = log_in(client, officer.email)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert "_auth_user_id" not in client.session  # the password alone is not enough
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200 and "_auth_user_id" not in client.session

    client.post("/accounts/2fa/authenticate/", {"code": totp_now(TOTP_SECRET)})

    assert int(client.session["_auth_user_id"]) == officer.pk
    assert client.get("/organisation/members/").status_code == 200


def test_residents_may_turn_mfa_on_but_need_not(client, resident):
    client.force_login(resident)
    assert client.get("/me/preferences/").status_code == 200  # no MFA needed

    page = client.get("/accounts/2fa/totp/activate/")
    if page.status_code == 302 and "reauthenticate" in page["Location"]:
        client.post(page["Location"], {"password": PASSWORD})
        page = client.get("/accounts/2fa/totp/activate/")
    secret = page.context["form"].secret
    client.post("/accounts/2fa/totp/activate/", {"code": totp_now(secret)})

    assert Authenticator.objects.filter(user=resident, type="totp").exists()
    client.logout()
    assert log_in(client, resident.email)["Location"] == "/accounts/2fa/authenticate/"


def test_force_admin_adds_an_officer_who_is_emailed_a_set_password_link(
    client, force_admin, django_capture_on_commit_callbacks
):
    client.force_login(force_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/organisation/officers/new/",
            {
                "email": "PC.Smith@Kent.Police.example",
                "first_name": "Chris",
                "last_name": "Smith",
                "role": "officer",
            },
        )

    assert response.status_code == 302
    officer = Member.objects.get(email="pc.smith@kent.police.example")
    assert (officer.role, officer.organisation_id) == ("officer", force_admin.organisation_id)
    assert not officer.has_usable_password()
    assert AuditEvent.objects.filter(action="members.officer.created", target_id=str(officer.pk)).exists()
    assert len(mail.outbox) == 1
    invitation = mail.outbox[0]
    assert invitation.to == ["pc.smith@kent.police.example"]
    assert "two-factor authentication" in invitation.body
    path = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", invitation.body).group(1)
    page = client.get(path, follow=True)
    assert page.status_code == 200
    new = "officer-chosen-passphrase-9"
    client.post(page.redirect_chain[-1][0], {"password1": new, "password2": new})
    officer.refresh_from_db()
    assert officer.check_password(new)
    client.force_login(force_admin)
    assert "Chris Smith" in client.get("/organisation/officers/").content.decode()


def test_adding_an_officer_with_a_taken_email_is_a_field_error(client, force_admin, resident):
    client.force_login(force_admin)
    response = client.post(
        "/organisation/officers/new/",
        {
            "email": "resident@example.org",
            "first_name": "X",
            "last_name": "Y",
            "role": "officer",
        },
    )
    assert response.status_code == 400
    assert "already exists" in " ".join(response.context["form"].errors["email"])
    assert Member.objects.get(email="resident@example.org").role == "resident"


def test_force_admin_suspends_only_their_own_organisations_officers(client, force_admin, officer, officer_other_org):
    client.force_login(force_admin)
    response = client.post(f"/organisation/officers/{officer.pk}/active/", {"active": "0"})
    assert response.status_code == 302
    assert not Member.objects.get(pk=officer.pk).is_active

    other = client.post(f"/organisation/officers/{officer_other_org.pk}/active/", {"active": "0"})
    assert other.status_code == 404
    assert Member.objects.get(pk=officer_other_org.pk).is_active
    page = client.get("/organisation/officers/").content.decode()
    assert "Lee Elsewhere" not in page and "Jo Officer" in page


def test_officers_and_residents_cannot_manage_officers(client, officer, resident):
    for member in (officer, resident):
        client.force_login(member)
        assert client.get("/organisation/officers/").status_code == 403
        assert (
            client.post(
                "/organisation/officers/new/",
                {
                    "email": "x@example.org",
                    "first_name": "X",
                    "last_name": "Y",
                    "role": "officer",
                },
            ).status_code
            == 403
        )
    assert not Member.objects.filter(email="x@example.org").exists()
