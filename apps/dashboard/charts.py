"""The per-minute chart's geometry, computed here and drawn by the template as inline
SVG: a few dozen numbers need no charting library, and nothing is fetched by the page."""

from dataclasses import dataclass

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28


@dataclass(frozen=True)
class Line:
    name: str
    points: str  # SVG polyline points, "x,y x,y ..."
    total: int


@dataclass(frozen=True)
class Tick:
    at: float  # pixels along the axis
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: float
    top: int
    bottom: float
    lines: list[Line]
    y_ticks: list[Tick]
    x_ticks: list[Tick]


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10^n at or above value, so the axis reads in round numbers."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def minute_chart(series) -> Chart:
    """Lines for `sent` and `failed` of a MinuteSeries (see selectors.py)."""
    count = len(series.minutes)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    peak = _nice_ceiling(max([*series.sent, *series.failed, 1]))

    def x(index: int) -> float:
        return LEFT + (plot_w * index / (count - 1) if count > 1 else 0)

    def y(value: int) -> float:
        return TOP + plot_h - plot_h * value / peak

    def points(values: list[int]) -> str:
        return " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))

    lines = [
        Line("sent", points(series.sent), sum(series.sent)),
        Line("failed", points(series.failed), sum(series.failed)),
    ]
    y_ticks = (
        [Tick(y(value), str(value)) for value in (0, peak // 2, peak)]
        if peak > 1
        else [Tick(y(0), "0"), Tick(y(1), "1")]
    )
    x_ticks = [Tick(x(i), series.minutes[i].strftime("%H:%M")) for i in range(0, count, 15)] + (
        [Tick(x(count - 1), series.minutes[-1].strftime("%H:%M"))] if count else []
    )
    return Chart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM, lines, y_ticks, x_ticks)
