"""Vietnamese: 01/12/2026 and 16:52 ngày 01/12/2026 (Django's own spell the month out, with a capital N)."""

DATE_FORMAT = "d/m/Y"
DATETIME_FORMAT = r"H:i \n\g\à\y d/m/Y"
SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
# The day and month under a chart's axis, where the year would crowd the ticks.
MONTH_DAY_FORMAT = "d/m"
