"""Create the Privacy officers group (accounts.models.Role.PRIVACY_OFFICER)."""

from django.db import migrations

NAME = "Privacy officers"


def create_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=NAME)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_staff_groups")]

    operations = [migrations.RunPython(create_group, remove_group)]
