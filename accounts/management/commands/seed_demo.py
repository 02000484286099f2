"""Create the demo accounts (and later the demo data) for local runs. Safe to run twice."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Role, User

DEMO_USERS: tuple[tuple[str, str, str | None, dict[str, bool]], ...] = (
    ("complainant", "Nguyễn Thị Lan", None, {}),
    ("agent", "Trần Văn Minh", Role.AGENT, {}),
    ("lead", "Lê Thu Hà", Role.TEAM_LEAD, {}),
    ("manager", "Phạm Quốc Bảo", Role.MANAGER, {}),
    ("admin", "Admin", None, {"is_staff": True, "is_superuser": True}),
)


class Command(BaseCommand):
    help = "Create the demo accounts (password 'demo'); only allowed while DEBUG is on."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("Demo data is only for DEBUG runs; set DEBUG=true.")
        with transaction.atomic():
            for username, name, role, flags in DEMO_USERS:
                user, created = User.objects.get_or_create(
                    username=username,
                    defaults={
                        "email": f"{username}@demo.invalid",
                        "first_name": name,
                        "is_demo": True,
                        **flags,
                    },
                )
                if created:
                    user.set_password(settings.DEMO_PASSWORD)
                    user.save(update_fields=["password"])
                if role:
                    user.groups.add(Group.objects.get(name=role))
                self.stdout.write(f"{'created' if created else 'kept'} {username}")
