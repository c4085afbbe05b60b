from datetime import timedelta

import pytest
from django.utils import timezone

from members.models import Member
from members.tasks import purge_unverified_accounts

pytestmark = pytest.mark.django_db


def test_purge_deletes_only_old_never_verified_signups(resident, settings):
    settings.UNVERIFIED_ACCOUNT_DAYS = 7
    old = Member.objects.create_user("old@example.org", "x" * 12, first_name="O", last_name="U")
    Member.objects.create_user("new@example.org", "x" * 12, first_name="N", last_name="U")
    Member.objects.filter(pk__in=[old.pk, resident.pk]).update(date_joined=timezone.now() - timedelta(days=8))

    assert purge_unverified_accounts() == 1

    assert set(Member.objects.values_list("email", flat=True)) == {"resident@example.org", "new@example.org"}
    assert purge_unverified_accounts() == 0
