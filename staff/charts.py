"""The geometry of the dashboard's charts.

Charts are inline SVG drawn by the templates from these numbers: no JavaScript, no inline
style (the CSP forbids both); colours come from CSS classes in static/css/dashboard.css.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext_lazy as _

from staff.dashboard import Dashboard

WIDTH, HEIGHT = 640, 260
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 48, 12, 12, 40


@dataclass(frozen=True)
class Tick:
    position: float
    label: object  # a number or a date, formatted by the template (localized)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: float
    label: object


@dataclass(frozen=True)
class Series:
    name: str
    css: str
    segments: list[str]  # SVG polyline "points", one per run of weeks with a value
    points: list[Point]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: object
    series: str
    css: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    series: list[Series] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    x_dates: bool = True  # x labels are weeks (dates); else text such as level names
    y_percent: bool = False

    @property
    def y_label_x(self) -> float:
        return self.left - 6

    @property
    def x_label_y(self) -> float:
        return self.bottom + 18


def _r(value: float) -> float:
    return round(value, 1)


def _axis(value: int) -> tuple[int, int]:
    """(step, intervals): the lowest axis of four or five equal whole 'round' steps (1, 2,
    2.5 or 5 x 10^k) that reaches `value`, so it reads evenly (0, 2, 4, 6, 8, 10)."""
    magnitude = 1
    while True:
        for step in dict.fromkeys((magnitude, 2 * magnitude, 5 * magnitude // 2, 5 * magnitude)):
            for intervals in (4, 5):
                if step * intervals >= value:
                    return step, intervals
        magnitude *= 10


def _frame(y_max: float, y_ticks: list[float]) -> tuple[float, float, float, float, list[Tick]]:
    left, top = MARGIN_LEFT, MARGIN_TOP
    right, bottom = WIDTH - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM
    ticks = [Tick(_r(bottom - (bottom - top) * v / y_max), v) for v in y_ticks]
    return left, top, right, bottom, ticks


def _x_ticks(weeks: list[date], centre) -> list[Tick]:
    # At most ~7 labels so they never overlap; the table below has every week.
    every = max(1, -(-len(weeks) // 7))
    return [Tick(_r(centre(i)), week) for i, week in enumerate(weeks) if (len(weeks) - 1 - i) % every == 0]


def share_chart(weeks: list[date], lines: list[tuple[str, list[float | None]]]) -> Chart:
    """A line chart of percentages (0-100) per week, one line per (name, values); a week
    without a value (nothing decided) breaks the line instead of pretending zero."""
    left, top, right, bottom, y_ticks = _frame(100, [0, 25, 50, 75, 100])
    step = (right - left) / max(len(weeks) - 1, 1)

    def x_of(i: int) -> float:
        return left + step * i if len(weeks) > 1 else (left + right) / 2

    series = []
    for index, (name, values) in enumerate(lines):
        points, segments, run = [], [], []
        for i, value in enumerate(values):
            if value is None:
                if run:
                    segments.append(" ".join(run))
                run = []
                continue
            x, y = _r(x_of(i)), _r(bottom - (bottom - top) * value / 100)
            points.append(Point(x, y, value, weeks[i]))
            run.append(f"{x},{y}")
        if run:
            segments.append(" ".join(run))
        series.append(Series(name=name, css=f"series-{index % 8}", segments=segments, points=points))
    return Chart(
        WIDTH, HEIGHT, left, top, right, bottom, y_ticks, _x_ticks(weeks, x_of), series=series, y_percent=True
    )


def grouped_bar_chart(labels: list, groups: list[tuple[str, list[int]]]) -> Chart:
    """Vertical bars: for each label (a week, a level) one bar per (name, values) group."""
    step, intervals = _axis(max((v for _name, values in groups for v in values), default=0))
    peak = step * intervals
    left, top, right, bottom, y_ticks = _frame(peak, [step * k for k in range(intervals + 1)])
    slot = (right - left) / max(len(labels), 1)
    bar_width = slot * 0.8 / max(len(groups), 1)
    bars = []
    for i, label in enumerate(labels):
        for g, (name, values) in enumerate(groups):
            height = (bottom - top) * values[i] / peak
            bars.append(
                Bar(
                    x=_r(left + slot * i + slot * 0.1 + bar_width * g),
                    y=_r(bottom - height),
                    width=_r(bar_width),
                    height=_r(height),
                    value=values[i],
                    label=label,
                    series=name,
                    css=f"series-{g % 8}",
                )
            )
    x_ticks = _x_ticks(labels, lambda i: left + slot * (i + 0.5))
    x_dates = all(isinstance(label, date) for label in labels)
    return Chart(WIDTH, HEIGHT, left, top, right, bottom, y_ticks, x_ticks, bars=bars, x_dates=x_dates)


@dataclass(frozen=True)
class Legend:
    name: str
    css: str


def charts_for(figures: Dashboard) -> dict[str, Chart | list[Legend]]:
    """The four charts of the dashboard, with the legend of the category lines."""
    first_response = [
        (row.name, [week.first_response.percent for week in row.weeks]) for row in figures.categories
    ]
    resolution = [(row.name, [week.resolution.percent for week in row.weeks]) for row in figures.categories]
    breaches = [
        (str(_("First response")), [week.first_response for week in figures.breaches]),
        (str(_("Resolution")), [week.resolution for week in figures.breaches]),
    ]
    return {
        "first_response": share_chart(figures.weeks, first_response),
        "resolution": share_chart(figures.weeks, resolution),
        "breaches": grouped_bar_chart(figures.weeks, breaches),
        "levels": grouped_bar_chart(
            [level.name for level in figures.levels], [(str(_("Open")), [lv.open for lv in figures.levels])]
        ),
        "legend": [Legend(row.name, f"series-{i % 8}") for i, row in enumerate(figures.categories)],
        "breach_legend": [Legend(name, f"series-{i}") for i, (name, _values) in enumerate(breaches)],
    }
