"""Create the demo accounts and a few demo complaints for local runs. Safe to run twice."""

from __future__ import annotations

import base64
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts import second_factor
from accounts.models import Role, User
from complaints import services
from complaints.models import CannedReply, Category, Cause, Currency, Outcome, Remedy, Status, Subcategory
from escalation.models import Regime
from escalation.policies import forget_policies
from escalation.sweep import sweep

DEMO_USERS: tuple[tuple[str, str, str | None, dict[str, bool]], ...] = (
    ("complainant", "Nguyễn Thị Lan", None, {}),
    ("agent", "Trần Văn Minh", Role.AGENT, {}),
    ("lead", "Lê Thu Hà", Role.TEAM_LEAD, {}),
    ("manager", "Phạm Quốc Bảo", Role.MANAGER, {}),
    ("admin", "Admin", None, {"is_staff": True, "is_superuser": True}),
)


class Command(BaseCommand):
    help = (
        "Create the demo accounts (password 'demo'; staff with the README's authenticator secret) and "
        "demo complaints; only allowed while DEBUG is on."
    )

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
                self.enrol_staff(user)
            self.seed_canned_replies()
            self.seed_complaints()

    def enrol_staff(self, user: User) -> None:
        """Staff sign in with a second factor: the demo staff share one authenticator secret,
        the README's, so the demo works with any authenticator app."""
        if not user.holds_staff_role or second_factor.authenticator(user) is not None:
            return
        key = base64.b32decode(settings.DEMO_TOTP_SECRET).hex()
        second_factor.enrol_authenticator(user=user, key=key)
        self.stdout.write(f"set up {user.username}'s authenticator (secret {settings.DEMO_TOTP_SECRET})")

    def seed_canned_replies(self) -> None:
        for position, (title_vi, title_en, body_vi, body_en) in enumerate(CANNED_REPLIES):
            reply, _created = CannedReply.objects.get_or_create(
                title_en=title_en,
                defaults={"title_vi": title_vi, "body_vi": body_vi, "body_en": body_en, "ordering": position},
            )
            # Seeded before titles had a Vietnamese form: give the kept reply its Vietnamese title.
            if not reply.title_vi:
                reply.title_vi = title_vi
                reply.save(update_fields=["title_vi"])

    def seed_complaints(self) -> None:
        """Three complaints of the demo complainant, in three states of their lifecycle (the
        new one assigned to the demo agent and linked to an open incident), and a guest's
        complaint left unanswered past its first-response deadline, which the sweep escalates to
        the managers."""
        complainant = User.objects.get(username="complainant")
        agent = User.objects.get(username="agent")
        if complainant.complaints.exists():
            self.stdout.write("kept the demo complaints")
            return
        # Goods paid for and not delivered: the demo's operator files them under Vietnam's
        # consumer protection law, so their case pages show its deadline beside the service ones.
        Category.objects.filter(slug="quality", regime__isnull=True).update(
            regime=Regime.objects.filter(code="vn-consumer-2023").first()
        )
        forget_policies()
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
                if status == Status.RESOLVED:  # the double charge, refunded: its final response
                    complaint = services.resolve_complaint(
                        complaint=complaint,
                        summary=note,
                        by=agent,
                        now=now - timedelta(days=days_ago),
                        version=complaint.version,
                        **demo_refund(),
                    )
                    continue
                complaint = services.transition_complaint(
                    complaint=complaint,
                    to_status=status,
                    by=agent,
                    now=now - timedelta(days=days_ago),
                    note=note,
                )
        newest = complainant.complaints.order_by("-submitted_at").first()
        services.assign_complaint(complaint=newest, assignee=agent, by=agent, now=now, version=newest.version)
        self.seed_incident(newest, now=now)
        services.submit_complaint(
            data={
                "subcategory": Subcategory.objects.get(slug="app"),
                "provider_name": "Ví điện tử MoMoney",
                "subject": "Ứng dụng bị treo khi chuyển tiền",
                "description": (
                    "Ứng dụng treo ở bước xác nhận, tiền đã bị trừ nhưng người nhận chưa nhận được."
                ),
                "desired_outcome": "Hoàn tất giao dịch hoặc hoàn tiền.",
                "occurred_at": now - timedelta(days=6),
                "contact_name": "Võ Thanh Tùng",
                "contact_email": "tung@demo.invalid",
                "language": "vi",
            },
            contacts=[],
            by=None,
            now=now - timedelta(days=5),
        )
        # As beat would have: the missed first response sends it to the team lead, and two
        # days there without progress to the managers.
        sweep(now=now - timedelta(days=3))
        sweep(now=now)
        self.stdout.write(f"created {len(DEMO_COMPLAINTS) + 1} demo complaints")

    def seed_incident(self, complaint: Any, *, now: Any) -> None:
        """An open incident, ShopNhanh's log-in down since this morning, declared by the demo team
        lead with one piece of news, and the demo complainant's log-in complaint linked to it: the
        filing form shows it to whoever files about ShopNhanh's accounts."""
        lead = User.objects.get(username="lead")
        started = now - timedelta(hours=3)
        incident = services.declare_incident(
            title_vi="ShopNhanh: không đăng nhập được",
            title_en="ShopNhanh: log-in fails",
            note_vi=(
                "Nhiều người không đăng nhập hay lấy lại mật khẩu ShopNhanh được. Chúng tôi đã báo ShopNhanh."
            ),
            note_en=(
                "Many people cannot sign in to ShopNhanh or recover their password. We have told ShopNhanh."
            ),
            category=complaint.category,
            provider_name="ShopNhanh",
            started_at=started,
            by=lead,
            now=started + timedelta(minutes=40),
        )
        services.link_complaint(complaint=complaint, incident=incident, by=lead, now=now)
        services.update_incident(
            incident=incident,
            text_vi="ShopNhanh xác nhận lỗi ở máy chủ đăng nhập và đang khắc phục.",
            text_en="ShopNhanh confirms a fault in its log-in servers and is fixing it.",
            by=lead,
            now=now,
        )


CANNED_REPLIES = (
    (
        "Đã tiếp nhận, đang kiểm tra",
        "Acknowledged, investigating",
        "Chúng tôi đã nhận được khiếu nại của bạn và đang kiểm tra với nhà cung cấp dịch vụ. "
        "Chúng tôi sẽ cập nhật cho bạn sớm nhất có thể.",
        "We have received your complaint and are checking with the service provider. "
        "We will update you as soon as we can.",
    ),
    (
        "Cần mã đơn hàng hoặc mã giao dịch",
        "Need the order or transaction number",
        "Để kiểm tra, vui lòng cho chúng tôi biết mã đơn hàng hoặc mã giao dịch, "
        "và ảnh chụp màn hình nếu có.",
        "To look into this, please send us the order or transaction number, "
        "and a screenshot if you have one.",
    ),
    (
        "Đã xác nhận hoàn tiền",
        "Refund confirmed",
        "Nhà cung cấp đã xác nhận hoàn tiền. Khoản tiền sẽ về tài khoản của bạn trong 5 đến 7 ngày làm việc.",
        "The provider has confirmed the refund. "
        "The money will reach your account within 5 to 7 working days.",
    ),
)


def demo_refund() -> dict[str, Any]:
    """What the agent found on the double charge: the product's billing at fault, upheld, refunded."""
    return {
        "cause": Cause.objects.filter(slug__in=("product-quality", "other")).order_by("-slug").first(),
        "outcome": Outcome.UPHELD,
        "remedy": Remedy.REFUND,
        "remedy_amount": Decimal("250000"),
        "remedy_currency": Currency.VND,
    }


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
