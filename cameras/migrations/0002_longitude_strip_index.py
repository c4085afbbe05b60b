"""The camera search's index leads with the strip of longitude (cameras.models.LONGITUDE_STRIP).

Built without stopping searches or registrations on a big table: on PostgreSQL the new
indexes are created CONCURRENTLY (no lock on writes) before the old ones are dropped
CONCURRENTLY, outside a transaction, so searches keep an index throughout. SQLite (the
development default) builds and drops them the plain way.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models
from django.db.models import F
from django.db.models.functions import Cast, Floor


class _OnPostgreSQLConcurrently:
    """Concurrently on PostgreSQL; elsewhere as the plain operation does it."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return self.plain.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return self.plain.database_backwards(self, app_label, schema_editor, from_state, to_state)


class AddIndex(_OnPostgreSQLConcurrently, AddIndexConcurrently):
    plain = migrations.AddIndex


class RemoveIndex(_OnPostgreSQLConcurrently, RemoveIndexConcurrently):
    plain = migrations.RemoveIndex


def strip_index(name: str, condition: models.Q) -> models.Index:
    strip = Cast(Floor(F("longitude") * 100), models.IntegerField())
    return models.Index(strip, F("latitude"), F("longitude"), name=name, condition=condition)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("cameras", "0001_initial"),
    ]

    operations = [
        AddIndex(model_name="camera", index=strip_index("cameras_fixed_strip_idx", ~models.Q(kind="dashcam"))),
        AddIndex(model_name="camera", index=strip_index("cameras_dashcam_strip_idx", models.Q(kind="dashcam"))),
        RemoveIndex(model_name="camera", name="cameras_fixed_location_idx"),
        RemoveIndex(model_name="camera", name="cameras_dashcam_location_idx"),
    ]
