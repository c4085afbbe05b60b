"""What needs the real PostgreSQL: two officers pressing Publish at once, and the flood
count's query plan on the indexes it was written for."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from alerts.models import Alert
from alerts.selectors import audience_recent_messages
from alerts.services import alert_publish
from notifications.models import Dispatch
from tests.factories import OfficerFactory

pytestmark = pytest.mark.services


# Real commits, so that each thread's transaction sees the other's lock; serialized_rollback
# brings back what the migrations made (consent texts) for the tests after this one.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_officers_publishing_the_same_draft_at_once_send_it_once(draft, officer, north_resident):
    alert = draft()
    colleague = OfficerFactory(organisation=officer.organisation)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def press_publish(actor):
        try:
            barrier.wait()
            alert_publish(actor=actor, alert=Alert.objects.get(pk=alert.pk))
            outcomes.append("published")
        except ValidationError as exc:
            outcomes.append(" ".join(exc.messages))
        except Exception as exc:  # shown in the assertion below, not lost in the thread
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=press_publish, args=(who,)) for who in (officer, colleague)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["This alert is published, not a draft.", "published"]
    assert Dispatch.objects.filter(source_type="alerts.alert", source_id=str(alert.pk)).count() == 1


@pytest.mark.django_db
def test_the_flood_count_reads_deliveries_through_their_indexes(organisation, kent, north_resident):
    spec = {"include": [{"area": kent["north"].pk}]}
    statements: list[str] = []

    def remember(execute, sql, params, many, context):
        statements.append(connection.ops.compose_sql(sql, params) if params else sql)
        return execute(sql, params, many, context)

    Dispatch.objects.create(organisation=organisation, source_type="t", source_id="1", subject="s", body_text="b")
    with connection.execute_wrapper(remember):
        audience_recent_messages(organisation=organisation, spec=spec)
    plans = []
    with connection.cursor() as cursor:
        # Tiny tables make sequential scans cheapest; forbid them to see which indexes serve the query.
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql in statements:
            cursor.execute(f"EXPLAIN {sql}")
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    everything = "\n".join(plans)
    # With sequential scans forbidden, one still appears only where no index can serve.
    assert "Seq Scan" not in everything, everything
    assert "Index Scan using notif_delivery_inbox_idx" in everything, everything
