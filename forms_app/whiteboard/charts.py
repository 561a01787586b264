"""The day's completion as a small SVG line chart, drawn on the server.

No charting service and no script: the template writes the polylines computed here as
inline SVG, with a text description for screen readers.
"""

from dataclasses import dataclass

from django.utils import timezone

WIDTH, HEIGHT = 600, 180
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 10, 28
BUCKETS = 24


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    total: int
    points: str  # "x,y x,y ..." for <polyline points>


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    series: list[Series]
    y_max: int
    x_labels: list[tuple[float, str]]
    y_labels: list[tuple[float, str]]
    baseline: float
    left: int
    right: float

    @property
    def description(self) -> str:
        return ", ".join(f"{s.label}: {s.total}" for s in self.series)


def _cumulative(times, start, step, buckets):
    counts = [0] * (buckets + 1)
    for when in times:
        if when is None:
            continue
        # Before the window (a link issued yesterday for today's appointment) counts
        # from the start; nothing can be after "now", the chart's right edge.
        index = max(0, min(buckets, int((when - start) / step) + 1))
        counts[index] += 1
    total, out = 0, []
    for count in counts:
        total += count
        out.append(total)
    return out


def completion_chart(board) -> Chart:
    """Forms issued, started and submitted so far, cumulative over the board's window."""
    start, end = board.start, board.end
    step = (end - start) / BUCKETS
    rows = board.rows
    raw = [
        ("issued", "Issued", [row.issued_at for row in rows]),
        ("started", "Started", [row.started_at for row in rows]),
        ("submitted", "Submitted", [row.submitted_at for row in rows]),
    ]
    cumulative = [(key, label, _cumulative(times, start, step, BUCKETS))
                  for key, label, times in raw]
    y_max = max(1, max(values[-1] for _, _, values in cumulative))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    # Lines stop at "now" when the window is today: the future has no data yet.
    last_bucket = BUCKETS
    if start <= board.now < end:
        last_bucket = min(BUCKETS, int((board.now - start) / step) + 1)

    def x(i):
        return round(LEFT + plot_w * i / BUCKETS, 1)

    def y(v):
        return round(TOP + plot_h * (1 - v / y_max), 1)

    series = [
        Series(key=key, label=label, total=values[last_bucket],
               points=" ".join(f"{x(i)},{y(values[i])}" for i in range(last_bucket + 1)))
        for key, label, values in cumulative
    ]
    x_labels = []
    for i in (0, BUCKETS // 4, BUCKETS // 2, 3 * BUCKETS // 4, BUCKETS):
        when = timezone.localtime(start + step * i)
        fmt = "%H:%M" if (end - start).days <= 1 else "%d %b"
        label = when.strftime(fmt) if i < BUCKETS or fmt != "%H:%M" else "24:00"
        x_labels.append((x(i), label))
    y_labels = [(y(0), "0"), (y(y_max), str(y_max))]
    return Chart(width=WIDTH, height=HEIGHT, series=series, y_max=y_max,
                 x_labels=x_labels, y_labels=y_labels, baseline=y(0), left=LEFT,
                 right=WIDTH - RIGHT)
