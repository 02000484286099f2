"""Each escalation keeps the time it fell due apart from the time it was carried out.

Rows written before this were stamped when carried out, which is the best known answer
for them.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("escalation", "0003_trigger_key_without_like_index")]

    operations = [
        migrations.AddField(
            model_name="escalation",
            name="due_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunSQL(
            "UPDATE escalation_escalation SET due_at = created_at", reverse_sql=migrations.RunSQL.noop
        ),
        migrations.AlterField(
            model_name="escalation",
            name="due_at",
            field=models.DateTimeField(),
        ),
    ]
