"""Seed the causes of issue 16 from the categories of 0002 (editable afterwards in the admin),
and mark as acknowledged when filed the complaints whose regime asked for an acknowledgement
before letters existed (the notice of receipt acknowledged them then)."""

from django.db import migrations
from django.db.models import F

CAUSES = [
    # (category slug or None for every category, code, name_vi, name_en)
    ("account", "credentials", "Thông tin đăng nhập (mật khẩu, mã xác thực)", "Credentials (password, code)"),
    ("account", "recovery-flow", "Quy trình khôi phục tài khoản", "Account recovery flow"),
    ("account", "locked-by-provider", "Bị nhà cung cấp khoá tài khoản", "Locked by the provider"),
    ("account", "fraud", "Gian lận hoặc chiếm đoạt tài khoản", "Fraud or account takeover"),
    ("technical", "technical-fault", "Lỗi kỹ thuật của nhà cung cấp", "Technical fault"),
    ("customer-service", "service-conduct", "Thái độ phục vụ", "Service conduct"),
    ("customer-service", "slowness", "Xử lý chậm trễ", "Slowness"),
    ("quality", "product-quality", "Chất lượng sản phẩm hoặc dịch vụ", "Product or service quality"),
    ("quality", "not-received", "Không nhận được hàng hoặc dịch vụ", "Not received"),
    (None, "other", "Nguyên nhân khác", "Other cause"),
]


def seed(apps, schema_editor):
    Category = apps.get_model("complaints", "Category")
    Cause = apps.get_model("complaints", "Cause")
    categories = {category.slug: category for category in Category.objects.all()}
    for position, (category, code, name_vi, name_en) in enumerate(CAUSES):
        if category is not None and category not in categories:
            continue  # an operator removed it: nothing to attach the cause to
        Cause.objects.get_or_create(
            slug=code,
            defaults={
                "category": categories.get(category),
                "name_vi": name_vi,
                "name_en": name_en,
                "position": position,
            },
        )
    Complaint = apps.get_model("complaints", "Complaint")
    Complaint.objects.filter(acknowledge_due_at__isnull=False, acknowledged_at__isnull=True).update(
        acknowledged_at=F("submitted_at")
    )


class Migration(migrations.Migration):
    dependencies = [("complaints", "0024_causes_outcome_remedy_acknowledgement")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
