"""Business calendars and holidays get their names in Vietnamese and English, and the
Vietnamese office calendar is seeded here: weekly office hours and the public holidays
(Tết included) of the maintained `holidays` package, named in both languages. A calendar
seeded earlier (in Vietnamese only) keeps its rows and gets the English names."""

from datetime import time

import holidays
from django.db import migrations, models

OFFICE_HOURS = ((time(8), time(12)), (time(13, 30), time(17, 30)))
CALENDAR = ("Giờ hành chính Việt Nam", "Vietnamese office hours")
YEARS = range(2024, 2031)


def seed(apps, schema_editor):
    BusinessCalendar = apps.get_model("escalation", "BusinessCalendar")
    WorkingPeriod = apps.get_model("escalation", "WorkingPeriod")
    Holiday = apps.get_model("escalation", "Holiday")

    name_vi, name_en = CALENDAR
    calendar, created = BusinessCalendar.objects.get_or_create(
        name_vi=name_vi, defaults={"name_en": name_en, "time_zone": "Asia/Ho_Chi_Minh"}
    )
    if created:
        WorkingPeriod.objects.bulk_create(
            WorkingPeriod(calendar=calendar, weekday=day, start=start, end=end)
            for day in range(5)
            for start, end in OFFICE_HOURS
        )
    elif not calendar.name_en:
        calendar.name_en = name_en
        calendar.save(update_fields=["name_en"])

    in_vietnamese = holidays.VN(years=YEARS, language="vi")
    in_english = holidays.VN(years=YEARS, language="en_US")
    kept = {holiday.date: holiday for holiday in Holiday.objects.filter(calendar=calendar)}
    for day, name in sorted(in_vietnamese.items()):
        holiday = kept.get(day)
        if holiday is None:
            Holiday.objects.create(
                calendar=calendar, date=day, name_vi=name[:150], name_en=in_english[day][:150]
            )
        elif not holiday.name_en:
            holiday.name_en = in_english[day][:150]
            holiday.save(update_fields=["name_en"])


class Migration(migrations.Migration):
    dependencies = [("escalation", "0004_escalation_due_at")]

    operations = [
        migrations.RenameField("businesscalendar", "name", "name_vi"),
        migrations.AlterField(
            "businesscalendar",
            "name_vi",
            models.CharField(max_length=100, unique=True, verbose_name="name (Vietnamese)"),
        ),
        migrations.AddField(
            "businesscalendar",
            "name_en",
            models.CharField(default="", max_length=100, verbose_name="name (English)"),
            preserve_default=False,
        ),
        migrations.RenameField("holiday", "name", "name_vi"),
        migrations.AlterField(
            "holiday", "name_vi", models.CharField(max_length=150, verbose_name="name (Vietnamese)")
        ),
        migrations.AddField(
            "holiday",
            "name_en",
            models.CharField(default="", max_length=150, verbose_name="name (English)"),
            preserve_default=False,
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
