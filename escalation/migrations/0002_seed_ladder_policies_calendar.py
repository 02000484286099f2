"""Seed the defaults of DESIGN.md: the ladder and an SLA policy per category and complexity.
All of it is editable in admin. (The office calendar is seeded by 0004, with its names in
both languages.)"""

from datetime import timedelta

from django.db import migrations

TARGETS = {
    "simple": (timedelta(hours=24), timedelta(days=3)),
    "complex": (timedelta(hours=24), timedelta(days=10)),
}
LADDER = [
    (0, "Tuyến đầu", "Frontline", "Agents", timedelta(hours=24), False),
    (1, "Trưởng nhóm", "Team lead", "Team leads", timedelta(hours=48), False),
    (2, "Quản lý", "Manager", "Managers", None, True),
]


def seed(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Category = apps.get_model("complaints", "Category")
    SlaPolicy = apps.get_model("escalation", "SlaPolicy")
    EscalationLevel = apps.get_model("escalation", "EscalationLevel")

    for category in Category.objects.all():
        for complexity, (first_response, resolution) in TARGETS.items():
            SlaPolicy.objects.get_or_create(
                category=category,
                complexity=complexity,
                defaults={"first_response_target": first_response, "resolution_target": resolution},
            )
    for rank, name_vi, name_en, group, climb_after, manager_facing in LADDER:
        EscalationLevel.objects.get_or_create(
            rank=rank,
            defaults={
                "name_vi": name_vi,
                "name_en": name_en,
                "group": Group.objects.get_or_create(name=group)[0],
                "climb_after": climb_after,
                "is_manager_facing": manager_facing,
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("escalation", "0001_initial"),
        ("complaints", "0002_seed_categories"),
        ("accounts", "0002_staff_groups"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
