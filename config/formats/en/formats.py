"""English: 1 Dec 2026 and 1 Dec 2026, 16:52 (day first and a 24-hour clock, like the Vietnamese)."""

DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
# The day and month under a chart's axis, where the year would crowd the ticks.
MONTH_DAY_FORMAT = "j M"
