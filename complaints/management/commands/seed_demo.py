"""Create the demo accounts and a few demo complaints for local runs. Safe to run twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from complaints import services
from complaints.models import Subcategory

DEMO_USERS: tuple[tuple[str, str, str | None, dict[str, bool]], ...] = (
    ("complainant", "Nguyễn Thị Lan", None, {}),
    ("agent", "Trần Văn Minh", Role.AGENT, {}),
    ("lead", "Lê Thu Hà", Role.TEAM_LEAD, {}),
    ("manager", "Phạm Quốc Bảo", Role.MANAGER, {}),
    ("admin", "Admin", None, {"is_staff": True, "is_superuser": True}),
)


class Command(BaseCommand):
    help = "Create the demo accounts (password 'demo') and demo complaints; only allowed while DEBUG is on."

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
            self.seed_complaints()

    def seed_complaints(self) -> None:
        """Three complaints of the demo complainant, in three states of their lifecycle."""
        complainant = User.objects.get(username="complainant")
        agent = User.objects.get(username="agent")
        if complainant.complaints.exists():
            self.stdout.write("kept the demo complaints")
            return
        now = timezone.now()
        for days_ago, slug, subject, steps in DEMO_COMPLAINTS:
            complaint, _ = services.submit_complaint(
                data={
                    "subcategory": Subcategory.objects.get(slug=slug),
                    "provider_name": "ShopNhanh",
                    "subject": subject,
                    "description": "Mô tả chi tiết sự việc cho dữ liệu demo.",
                    "desired_outcome": "Được xử lý dứt điểm.",
                    "occurred_at": now - timedelta(days=days_ago + 1),
                    "contact_name": complainant.first_name,
                    "contact_email": complainant.email,
                    "language": "vi",
                },
                contacts=[],
                by=complainant,
                now=now - timedelta(days=days_ago),
            )
            for status, note in steps:
                complaint = services.transition_complaint(
                    complaint=complaint,
                    to_status=status,
                    by=agent,
                    now=now - timedelta(days=days_ago),
                    note=note,
                )
        self.stdout.write(f"created {len(DEMO_COMPLAINTS)} demo complaints")


DEMO_COMPLAINTS = (
    (0, "cannot-log-in", "Không đăng nhập được sau khi đổi số điện thoại", ()),
    (
        3,
        "not-received",
        "Đơn hàng đã thanh toán nhưng không được giao",
        (
            ("open", ""),
            ("awaiting_complainant", "Vui lòng cho biết mã đơn hàng."),
        ),
    ),
    (
        6,
        "billing-refund",
        "Bị trừ tiền hai lần cho cùng một đơn hàng",
        (
            ("open", ""),
            ("resolved", "Chúng tôi đã hoàn lại khoản thanh toán trùng."),
        ),
    ),
)
