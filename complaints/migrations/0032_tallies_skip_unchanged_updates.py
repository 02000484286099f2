from django.conf import settings
from django.db import migrations

from complaints import report_tallies, tallies


def install(apps, schema_editor):
    """The dashboard's and the report's triggers again, each UPDATE that changes none of the
    columns they count from returning before counting; every complaint counted afresh, as
    `manage.py rebuild_tallies` does (PostgreSQL only)."""
    if tallies.kept(schema_editor.connection):
        for statement in [
            *tallies.install_statements(time_zone=settings.TIME_ZONE),
            *report_tallies.install_statements(time_zone=settings.TIME_ZONE),
        ]:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0031_wave_alerts"),
    ]

    operations = [
        # Backwards, the triggers stay as they are: returning early changes no count.
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
