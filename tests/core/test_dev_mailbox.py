"""With DEBUG on, the emails written to var/mail are readable in the app; otherwise the page is gone."""

import pytest
from django.core.mail import EmailMessage
from django.core.mail.backends.filebased import EmailBackend

pytestmark = pytest.mark.django_db


def test_dev_mailbox_shows_written_emails_only_in_debug(client, settings, tmp_path):
    EmailBackend(file_path=str(tmp_path)).send_messages(
        [
            EmailMessage(
                "Confirm your email",
                "Go to http://127.0.0.1:8000/accounts/confirm-email/abc/",
                to=["someone@example.org"],
            ),
        ]
    )
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(tmp_path)},
        }
    }

    settings.DEV_MAILBOX = False
    assert client.get("/dev/mail/").status_code == 404

    settings.DEV_MAILBOX = True
    listing = client.get("/dev/mail/").content.decode()
    assert "Confirm your email" in listing and "someone@example.org" in listing
    name = next(tmp_path.glob("*.log")).name
    message = client.get(f"/dev/mail/{name}/0/").content.decode()
    assert "/accounts/confirm-email/abc/" in message
    assert client.get("/dev/mail/../0/").status_code == 404
    assert client.get(f"/dev/mail/{name}/5/").status_code == 404
