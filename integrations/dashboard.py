"""What the integrations app shows on the Dashboard (registered in IntegrationsConfig.ready).

The sections share one context, computed once per request: the integrations with their keys,
the connection health, the provisioning counts and a chart of activity per day drawn here as
SVG geometry, so the page needs no chart library, no CDN and no inline script or style.
"""

from dataclasses import dataclass
from datetime import date

from django.http import HttpRequest
from django.utils import timezone

from .models import Integration
from .selectors.dashboard import ActivityDay, provisioning_summary_get
from .selectors.health import connection_health_get
from .selectors.keys import integration_overview_list


@dataclass(frozen=True)
class ChartBar:
    """One day of the chart: a bar of changes with the failed requests stacked on top."""

    day: date
    changes: int
    failures: int
    x: float
    width: float
    changes_y: float
    changes_height: float
    failures_y: float
    failures_height: float
    show_label: bool

    @property
    def label_x(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class ChartGridLine:
    value: int
    y: float


@dataclass(frozen=True)
class ActivityChart:
    """Geometry of the per-day bar chart, in the units of the SVG viewBox."""

    width: int
    height: int
    plot_left: int
    plot_bottom: int
    bars: list[ChartBar]
    grid: list[ChartGridLine]

    @property
    def is_empty(self) -> bool:
        return not any(bar.changes or bar.failures for bar in self.bars)

    @property
    def total_changes(self) -> int:
        return sum(bar.changes for bar in self.bars)

    @property
    def total_failures(self) -> int:
        return sum(bar.failures for bar in self.bars)


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 x 10^n at or above `value` (at least 4), for round gridlines."""
    value = max(value, 4)
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= value:
                return factor * step
        step *= 10


def activity_chart_build(
    days: list[ActivityDay], *, width: int = 880, height: int = 170
) -> ActivityChart:
    """Lay out one bar per day (oldest left), scaled to the busiest day."""
    plot_left, plot_top, plot_bottom = 36, 8, height - 22
    plot_height = plot_bottom - plot_top
    top = _nice_ceiling(max((d.changes + d.failures for d in days), default=0))
    slot = (width - plot_left) / max(len(days), 1)
    bar_width = round(slot * 0.64, 2)
    bars = []
    for index, day in enumerate(days):
        changes_height = round(plot_height * day.changes / top, 2)
        failures_height = round(plot_height * day.failures / top, 2)
        changes_y = round(plot_bottom - changes_height, 2)
        bars.append(
            ChartBar(
                day=day.day,
                changes=day.changes,
                failures=day.failures,
                x=round(plot_left + index * slot + (slot - bar_width) / 2, 2),
                width=bar_width,
                changes_y=changes_y,
                changes_height=changes_height,
                failures_y=round(changes_y - failures_height, 2),
                failures_height=failures_height,
                # Every other day from the newest, so today is always labelled.
                show_label=(len(days) - 1 - index) % 2 == 0,
            )
        )
    grid = [
        ChartGridLine(value=value, y=round(plot_bottom - plot_height * value / top, 2))
        for value in (0, top // 2, top)
    ]
    return ActivityChart(
        width=width,
        height=height,
        plot_left=plot_left,
        plot_bottom=plot_bottom,
        bars=bars,
        grid=grid,
    )


def dashboard_context(request: HttpRequest) -> dict:
    company = request.user.company
    now = timezone.now()
    overviews = integration_overview_list(company=company, now=now)
    # The activity log is the company's; it is shown with its Microsoft Entra ID integration.
    entra = next(
        (o for o in overviews if o.integration.provider == Integration.Provider.ENTRA_ID), None
    )
    summary = provisioning_summary_get(company=company, now=now)
    return {
        "overviews": overviews,
        "entra": entra,
        # The Dashboard's card is compact: it does not say which key Entra uses.
        "health": connection_health_get(
            company=company, overview=entra, now=now, with_key_usage=False
        )
        if entra
        else None,
        "summary": summary,
        "chart": activity_chart_build(summary.days),
    }
