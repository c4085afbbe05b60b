"""A real SMTP server that says "try later" to some messages and "no such mailbox" to others.

Temporary refusals (4xx) are tried again with a growing delay until they arrive;
permanent ones (5xx) fail the delivery at once, are never offered again, and show as
failed in the alert's reach. The server is aiosmtpd on a loopback port; the pipeline
runs as in development (tasks eagerly, in this process) and the every-minute sweep is
called as beat would call it, with the clock moved on.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Delivery, Dispatch
from notifications.selectors import dispatch_reach
from notifications.services import dispatch_publish, dispatch_sweep

from .test_reliability import Recorder, smtp_mailer, smtp_server

pytestmark = pytest.mark.django_db

RESIDENTS = 15


def answer(address: str, attempt: int) -> str | None:
    """Residents 3, 6, 9, … are refused once ("451"); resident 3 twice. 5, 10 do not exist ("550")."""
    n = int(address.split("@")[0].removeprefix("resident"))
    if n % 5 == 0:
        return "550 5.1.1 No such mailbox here"
    if (n == 3 and attempt <= 2) or (n % 3 == 0 and attempt == 1):
        return "451 4.3.0 Mailbox busy, try again later"
    return None


@pytest.fixture
def residents(wards, place):
    members = [place(0.001 * n, 51.05) for n in range(1, RESIDENTS + 1)]
    for n, member in enumerate(members, start=1):
        member.email = f"resident{n}@example.org"
        member.save(update_fields=["email"])
    return {f"resident{n}@example.org": m for n, m in enumerate(members, start=1)}


def test_temporary_refusals_are_retried_with_backoff_and_permanent_ones_fail_without_retry(
    residents, wards, organisation, officer, settings, django_capture_on_commit_callbacks
):
    recorder = Recorder(answer)
    temporary = {a for a in residents if int(a[8:].split("@")[0]) % 3 == 0} - {"resident15@example.org"}
    permanent = {"resident5@example.org", "resident10@example.org", "resident15@example.org"}
    with smtp_server(recorder) as port:
        settings.MAILERS = smtp_mailer(port)
        with django_capture_on_commit_callbacks(execute=True):
            dispatch = dispatch_publish(
                organisation=organisation,
                source_type="alerts.alert",
                source_id="7",
                subject="Road closed after a collision",
                body_text="The A20 is closed both ways at Harrietsham.",
                audience={"include": [{"area": wards[0].pk}]},
                created_by=officer,
            )
        emails = {d.member.email: d for d in Delivery.objects.filter(dispatch=dispatch, channel="email")}
        first = timezone.now()

        # After the first attempt: sent, waiting to try again, or failed for good.
        assert {a for a, d in emails.items() if d.status == "retry"} == temporary
        assert {a for a, d in emails.items() if d.status == "failed"} == permanent
        assert {a for a, d in emails.items() if d.status == "sent"} == set(residents) - temporary - permanent
        for address in temporary:
            delivery = emails[address]
            assert delivery.attempts == 1 and delivery.error.startswith("451 ")
            # Backoff: the first retry waits DISPATCH_RETRY_BASE_SECONDS (60 s), ±20%.
            assert timedelta(seconds=47) < delivery.next_attempt_at - first < timedelta(seconds=73)
        for address in permanent:
            assert (emails[address].attempts, emails[address].error[:4]) == (1, "550 ")
        reach = dispatch_reach(dispatch_ids=[dispatch.pk])[dispatch.pk]["channels"]["email"]
        assert (reach["delivered"], reach["failed"], reach["pending"]) == (8, 3, 4)

        # Nothing is due yet: a sweep now sends nothing.
        with django_capture_on_commit_callbacks(execute=True):
            assert dispatch_sweep()["released"] == 0

        # Two minutes on, the sweep (as beat runs it) sends the retries.
        with django_capture_on_commit_callbacks(execute=True):
            assert dispatch_sweep(now=first + timedelta(minutes=2))["released"] == len(temporary)
        again = Delivery.objects.get(dispatch=dispatch, member=residents["resident3@example.org"], channel="email")
        # Refused a second time: the wait doubles (120 s, ±20%).
        assert (again.status, again.attempts) == ("retry", 2)
        assert timedelta(seconds=95) < again.next_attempt_at - timezone.now() < timedelta(seconds=145)

        with django_capture_on_commit_callbacks(execute=True):
            dispatch_sweep(now=first + timedelta(minutes=10))

    final = {d.member.email: d for d in Delivery.objects.filter(dispatch=dispatch, channel="email")}
    assert {a for a, d in final.items() if d.status == "sent"} == set(residents) - permanent
    assert {a for a, d in final.items() if d.status == "failed"} == permanent
    # Every temporary refusal arrived in the end, exactly once; permanent ones were offered once.
    delivered = [rcpt for _, rcpt in recorder.accepted]
    assert sorted(delivered) == sorted(set(residents) - permanent)
    assert all(recorder.offered[a] == 1 for a in permanent)
    assert recorder.offered["resident3@example.org"] == 3
    assert all(final[a].attempts == 1 for a in permanent)
    # The alert's reach shows the failures, and the dispatch is finished.
    reach = dispatch_reach(dispatch_ids=[dispatch.pk])[dispatch.pk]["channels"]["email"]
    assert (reach["delivered"], reach["failed"], reach["pending"]) == (12, 3, 0)
    assert Dispatch.objects.get(pk=dispatch.pk).status == Dispatch.Status.DONE
