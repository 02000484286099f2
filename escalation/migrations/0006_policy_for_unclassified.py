"""The "not yet classified" category (complaints 0012) gets SLA policies like every other,
so a complaint opened by e-mail runs its first-response clock from receipt."""

from datetime import timedelta

from django.db import migrations

TARGETS = {
    "simple": (timedelta(hours=24), timedelta(days=3)),
    "complex": (timedelta(hours=24), timedelta(days=10)),
}


def seed(apps, schema_editor):
    Category = apps.get_model("complaints", "Category")
    SlaPolicy = apps.get_model("escalation", "SlaPolicy")
    for category in Category.objects.filter(slug="unclassified"):
        for complexity, (first_response, resolution) in TARGETS.items():
            SlaPolicy.objects.get_or_create(
                category=category,
                complexity=complexity,
                defaults={"first_response_target": first_response, "resolution_target": resolution},
            )


class Migration(migrations.Migration):
    dependencies = [
        ("escalation", "0005_calendar_and_holiday_names_in_both_languages"),
        ("complaints", "0012_incomplete_complaints"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
