"""Seed the categories and subcategories of DESIGN.md (editable afterwards in admin)."""

from django.db import migrations

CATEGORIES = [
    (
        "account",
        "Tài khoản",
        "Account",
        [
            ("cannot-log-in", "Không đăng nhập được", "Cannot log in", "simple"),
            ("password-recovery", "Khôi phục mật khẩu", "Password recovery", "simple"),
            ("personal-details", "Thay đổi thông tin cá nhân", "Changing personal details", "simple"),
            ("locked-suspended", "Tài khoản bị khoá hoặc đình chỉ", "Locked or suspended account", "complex"),
        ],
    ),
    (
        "technical",
        "Lỗi kỹ thuật",
        "Technical fault",
        [
            ("app", "Ứng dụng", "App", "simple"),
            ("website", "Trang web", "Website", "simple"),
            ("payments", "Thanh toán hoặc giao dịch thất bại", "Payments or transactions failing", "complex"),
        ],
    ),
    (
        "customer-service",
        "Chăm sóc khách hàng",
        "Customer service",
        [
            ("no-response", "Không phản hồi", "No response", "simple"),
            ("slow-response", "Phản hồi chậm", "Slow response", "simple"),
            ("unprofessional", "Thái độ thiếu chuyên nghiệp", "Unprofessional conduct", "complex"),
        ],
    ),
    (
        "quality",
        "Chất lượng sản phẩm hoặc dịch vụ",
        "Product or service quality",
        [
            ("not-received", "Không nhận được hàng", "Not received", "complex"),
            ("not-as-described", "Không đúng như mô tả", "Not as described", "complex"),
            ("billing-refund", "Hoá đơn hoặc hoàn tiền", "Billing or refund", "complex"),
        ],
    ),
]


def seed(apps, schema_editor):
    Category = apps.get_model("complaints", "Category")
    Subcategory = apps.get_model("complaints", "Subcategory")
    for position, (slug, name_vi, name_en, subs) in enumerate(CATEGORIES):
        category, _ = Category.objects.get_or_create(
            slug=slug, defaults={"name_vi": name_vi, "name_en": name_en, "position": position}
        )
        for sub_position, (sub_slug, sub_vi, sub_en, complexity) in enumerate(subs):
            Subcategory.objects.get_or_create(
                category=category,
                slug=sub_slug,
                defaults={
                    "name_vi": sub_vi,
                    "name_en": sub_en,
                    "position": sub_position,
                    "default_complexity": complexity,
                },
            )


class Migration(migrations.Migration):
    dependencies = [("complaints", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
