"""Extended statistics for the results aggregate (PostgreSQL only).

Without them PostgreSQL multiplies the distinct counts of question, option, value, ward
and district and expects some 120,000 groups where there are about 3,000, and so picks
a single-process sorted plan; with them it runs the grouping in parallel like a plain
aggregate over the same rows (bench/survey_results.py, docs/performance.md).
"""

from django.db import migrations

STATISTICS = "surveys_answer_groups_stat"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} (ndistinct) "
            "ON question_id, option_id, value, ward_id, district_id FROM surveys_answer"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
