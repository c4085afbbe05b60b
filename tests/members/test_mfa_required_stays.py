"""Officers cannot turn off the two-factor authentication their role requires."""

import time

import pytest
from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.mfa.models import Authenticator

from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def _reauthenticated(client, member):
    """Logged in, with the password just confirmed (what allauth asks before MFA changes)."""
    client.force_login(member)
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time(), "email": member.email, "reauthenticated": True}
    ]
    session["account_authentication_methods_user"] = str(member.pk)
    session.save()


def test_an_officer_cannot_deactivate_totp(client, officer):
    _reauthenticated(client, officer)
    response = client.post("/accounts/2fa/totp/deactivate/")
    assert response.status_code == 200
    assert "cannot be turned off" in response.content.decode()
    assert Authenticator.objects.filter(user=officer, type="totp").exists()


def test_a_resident_can_deactivate_totp(client, organisation):
    from allauth.mfa.totp.internal.auth import TOTP

    resident = MemberFactory(email="careful@example.org", opt_in=[organisation])
    TOTP.activate(resident, "JBSWY3DPEHPK3PXPRESIDENT")
    _reauthenticated(client, resident)
    response = client.post("/accounts/2fa/totp/deactivate/")
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=resident, type="totp").exists()
