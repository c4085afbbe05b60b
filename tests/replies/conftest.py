"""The replies tests' town: Kent Police sends an alert to residents, who answer and rate it."""

from __future__ import annotations

import pytest

from notifications.models import Delivery, Dispatch
from tests.factories import MemberFactory


@pytest.fixture
def send_alert(organisation, officer):
    """`send_alert(*residents, subject=…, organisation=…)`: a sent Kent Police alert with an
    inbox copy for each resident (what fan-out leaves behind, written directly)."""
    counter = iter(range(1, 10_000))

    def send(
        *residents,
        subject: str = "Burglaries on Elm Road",
        org=None,
        source_type: str = "alerts.alert",
        channel: str = "inbox",
    ) -> Dispatch:
        dispatch = Dispatch.objects.create(
            organisation=org or organisation,
            source_type=source_type,
            source_id=str(next(counter)),
            subject=subject,
            body_text="Three homes were broken into last night.",
            audience={"include": []},
            status=Dispatch.Status.DONE,
            created_by=officer,
        )
        Delivery.objects.bulk_create(
            [Delivery(dispatch=dispatch, member=r, channel=channel, status="sent") for r in residents]
        )
        return dispatch

    return send


@pytest.fixture
def alert(send_alert, resident, other_resident):
    return send_alert(resident, other_resident)


@pytest.fixture
def second_officer(organisation):
    from tests.factories import OfficerFactory

    return OfficerFactory(
        email="second@kent.police.example", organisation=organisation, first_name="Chris", last_name="Second"
    )


@pytest.fixture
def make_residents(organisation):
    def make(n: int):
        return [MemberFactory(opt_in=[organisation]) for _ in range(n)]

    return make
