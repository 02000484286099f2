"""Seed the regimes of issue 16 and the calendars their days are counted on: Vietnam's
consumer protection law of 2023 and Law on Complaints of 2011 (on the Vietnamese office
calendar, seeded by 0005), the FCA's DISP 1.6 (English bank holidays) and the CFPB's
response times (US federal holidays). No category is attached to a regime here: which law
applies is the operator's choice, made in the admin. Everything is editable there."""

from datetime import time

import holidays
from django.db import migrations

YEARS = range(2024, 2031)
VN_OFFICE = "Giờ hành chính Việt Nam"  # seeded by 0005
UK_DAYS = "Ngày làm việc ở Anh (Anh và xứ Wales)"
US_DAYS = "Ngày làm việc liên bang Hoa Kỳ"
CALENDARS = [
    # (name_vi, name_en, time zone, working hours Monday to Friday, the holidays)
    (
        UK_DAYS,
        "UK business days (England and Wales)",
        "Europe/London",
        ((time(9), time(17, 30)),),
        lambda: holidays.UK(subdiv="ENG", years=YEARS),
    ),
    (
        US_DAYS,
        "US federal business days",
        "America/New_York",
        ((time(9), time(17)),),
        lambda: holidays.US(years=YEARS),
    ),
]

# The package names these holidays in English only; their Vietnamese names.
NAMES_VI = {
    "Boxing Day": "Ngày tặng quà (Boxing Day)",
    "Christmas Day": "Lễ Giáng sinh",
    "Columbus Day": "Ngày Columbus",
    "Easter Monday": "Thứ Hai Phục sinh",
    "Good Friday": "Thứ Sáu Tuần Thánh",
    "Independence Day": "Ngày Độc lập Hoa Kỳ",
    "Juneteenth National Independence Day": "Ngày Juneteenth (Ngày Độc lập quốc gia)",
    "Labor Day": "Ngày Lao động Hoa Kỳ",
    "Late Summer Bank Holiday": "Ngày nghỉ ngân hàng cuối hè",
    "Martin Luther King Jr. Day": "Ngày Martin Luther King Jr.",
    "May Day": "Ngày nghỉ ngân hàng đầu tháng Năm",
    "Memorial Day": "Ngày Tưởng niệm",
    "New Year's Day": "Tết Dương lịch",
    "Spring Bank Holiday": "Ngày nghỉ ngân hàng mùa xuân",
    "Thanksgiving Day": "Lễ Tạ ơn",
    "Veterans Day": "Ngày Cựu chiến binh",
    "Washington's Birthday": "Ngày sinh Washington",
}
OBSERVED = " (observed)"


def in_vietnamese(name: str) -> str:
    """A holiday's Vietnamese name; a day off in lieu ("observed") says so."""
    base = name.removesuffix(OBSERVED)
    vietnamese = NAMES_VI.get(base, base)
    return f"{vietnamese} (nghỉ bù)" if name.endswith(OBSERVED) else vietnamese


# code, names, requirement (vi, en), calendar (its Vietnamese name), rolls to a working day,
# deadlines: (kind, days, days if complex, unit, counted from, pausable)
REGIMES = [
    (
        "vn-consumer-2023",
        "Luật Bảo vệ quyền lợi người tiêu dùng 2023 (19/2023/QH15)",
        "Vietnam: Consumer Protection Law 2023 (No. 19/2023/QH15)",
        "Tổ chức, cá nhân kinh doanh phải tiếp nhận yêu cầu của người tiêu dùng và tiến hành thương "
        "lượng trong thời hạn 7 ngày làm việc kể từ ngày nhận được yêu cầu (Điều 56-57).",
        "A business must receive a consumer's request and begin negotiating within 7 working days "
        "of receiving it (Art. 56-57).",
        VN_OFFICE,
        True,
        [("accept", 7, None, "working", "receipt", False)],
    ),
    (
        "vn-complaints-2011",
        "Luật Khiếu nại 2011 (02/2011/QH13)",
        "Vietnam: Law on Complaints 2011 (No. 02/2011/QH13)",
        "Người có thẩm quyền phải thụ lý khiếu nại trong thời hạn 10 ngày làm việc kể từ ngày nhận được và "
        "giải quyết trong thời hạn 30 ngày kể từ ngày thụ lý; vụ việc phức tạp không quá 45 ngày.",
        "The competent body must accept a complaint within 10 working days of receiving it and settle it "
        "within 30 days of accepting it; 45 days at most for a complex case.",
        VN_OFFICE,
        True,
        [
            ("accept", 10, None, "working", "receipt", False),
            ("final_response", 30, 45, "calendar", "acceptance", False),
        ],
    ),
    (
        "fca-disp",
        "FCA DISP 1.6 (Vương quốc Anh): khiếu nại chung",
        "FCA DISP 1.6 (UK): complaints in general",
        "Gửi ngay văn bản xác nhận đã nhận khiếu nại; trả lời cuối cùng trong vòng tám tuần kể từ "
        "khi nhận, kèm quyền đưa vụ việc đến Financial Ombudsman Service trong sáu tháng.",
        "Send a prompt written acknowledgement; a final response within eight weeks of receipt, "
        "telling the complainant of their right to refer it to the Financial Ombudsman Service "
        "within six months.",
        UK_DAYS,
        False,
        [("final_response", 56, None, "calendar", "receipt", False)],
    ),
    (
        "fca-disp-payments",
        "FCA DISP 1.6 (Vương quốc Anh): dịch vụ thanh toán",
        "FCA DISP 1.6 (UK): payment services",
        "Trả lời cuối cùng trong vòng 15 ngày làm việc kể từ khi nhận; khi có lý do ngoài tầm "
        "kiểm soát, gửi thư tạm thời và trả lời cuối cùng không quá 35 ngày làm việc.",
        "A final response within 15 business days of receipt; in exceptional circumstances a "
        "holding reply, and the final response within 35 business days at most.",
        UK_DAYS,
        False,
        [("final_response", 15, 35, "working", "receipt", False)],
    ),
    (
        "cfpb",
        "CFPB (Hoa Kỳ): thời hạn phản hồi khiếu nại",
        "CFPB (US): complaint response times",
        "Doanh nghiệp phản hồi trong vòng 15 ngày; khiếu nại chưa thể đóng trong thời hạn đó được "
        "trả lời cuối cùng trong vòng 60 ngày.",
        "The company responds within 15 days; a complaint it cannot close in that time gets its "
        "final response within 60 days.",
        US_DAYS,
        False,
        [("final_response", 15, 60, "calendar", "receipt", False)],
    ),
]


def seed(apps, schema_editor):
    BusinessCalendar = apps.get_model("escalation", "BusinessCalendar")
    WorkingPeriod = apps.get_model("escalation", "WorkingPeriod")
    Holiday = apps.get_model("escalation", "Holiday")
    Regime = apps.get_model("escalation", "Regime")
    RegimeDeadline = apps.get_model("escalation", "RegimeDeadline")

    for name_vi, name_en, zone, hours, days_off in CALENDARS:
        calendar, created = BusinessCalendar.objects.get_or_create(
            name_vi=name_vi, defaults={"name_en": name_en, "time_zone": zone}
        )
        if created:
            WorkingPeriod.objects.bulk_create(
                WorkingPeriod(calendar=calendar, weekday=day, start=start, end=end)
                for day in range(5)
                for start, end in hours
            )
            Holiday.objects.bulk_create(
                Holiday(calendar=calendar, date=day, name_vi=in_vietnamese(name)[:150], name_en=name[:150])
                for day, name in sorted(days_off().items())
            )
    calendars = {calendar.name_vi: calendar for calendar in BusinessCalendar.objects.all()}
    for code, name_vi, name_en, requirement_vi, requirement_en, calendar, rolls, deadlines in REGIMES:
        if calendar not in calendars:
            continue  # an operator removed the office calendar: this regime is theirs to add
        regime, created = Regime.objects.get_or_create(
            code=code,
            defaults={
                "name_vi": name_vi,
                "name_en": name_en,
                "requirement_vi": requirement_vi,
                "requirement_en": requirement_en,
                "calendar": calendars[calendar],
                "rolls_to_working_day": rolls,
            },
        )
        if created:
            RegimeDeadline.objects.bulk_create(
                RegimeDeadline(
                    regime=regime,
                    kind=kind,
                    days=days,
                    days_if_complex=complex_days,
                    unit=unit,
                    counted_from=counted_from,
                    pausable=pausable,
                )
                for kind, days, complex_days, unit, counted_from, pausable in deadlines
            )


class Migration(migrations.Migration):
    dependencies = [("escalation", "0007_regimes")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
