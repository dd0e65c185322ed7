"""An agency's scores batch by batch, drawn on the server as inline SVG (no script, nothing
loaded from elsewhere): one column per published batch at the batch's average score, a dot
per report, and the grade thresholds (setting REVIEW_GRADE_THRESHOLDS) as dashed lines."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

from ...settings import setting

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 40, 12, 12, 48  # margins: axis labels left, batch labels below
BAR = "#4a7ab5"
DOT = "#1f3b5c"
GRID = "#b8c4d2"


@dataclass(frozen=True)
class Point:
    label: str            # the batch, short: "2016年第1期 安全评价"
    scores: tuple[Decimal, ...]

    @property
    def average(self) -> Decimal:
        return (sum(self.scores) / len(self.scores)).quantize(Decimal("0.1"))


def _y(score) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - float(score) / 100)


def score_chart(points: list[Point], title: str) -> Markup:
    """The chart, or an empty Markup when there is nothing to draw."""
    points = [p for p in points if p.scores]
    if not points:
        return Markup("")
    plot_w = WIDTH - LEFT - RIGHT
    step = plot_w / len(points)
    bar_w = min(48.0, step * 0.6)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="chart-title">',
        f'<title id="chart-title">{escape(title)}</title>',
    ]
    for grade, threshold in setting("REVIEW_GRADE_THRESHOLDS"):
        y = _y(threshold)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
                     f'stroke="{GRID}" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#555">{escape(grade)} {int(threshold)}</text>')
    base = _y(0)
    parts.append(f'<line x1="{LEFT}" y1="{base:.1f}" x2="{WIDTH - RIGHT}" y2="{base:.1f}" '
                 'stroke="#777"/>')
    for i, p in enumerate(points):
        cx = LEFT + step * (i + 0.5)
        top = _y(p.average)
        parts.append(f'<rect x="{cx - bar_w / 2:.1f}" y="{top:.1f}" width="{bar_w:.1f}" '
                     f'height="{base - top:.1f}" fill="{BAR}" fill-opacity="0.35">'
                     f'<title>{escape(p.label)}：平均 {p.average} 分</title></rect>')
        for s in p.scores:
            parts.append(f'<circle cx="{cx:.1f}" cy="{_y(s):.1f}" r="3.5" fill="{DOT}">'
                         f'<title>{escape(p.label)}：{s} 分</title></circle>')
        parts.append(f'<text x="{cx:.1f}" y="{top - 5:.1f}" text-anchor="middle" '
                     f'font-size="12" fill="#222">{p.average}</text>')
        for line, words in enumerate(_wrap(p.label)):
            parts.append(f'<text x="{cx:.1f}" y="{base + 16 + 14 * line:.1f}" '
                         f'text-anchor="middle" font-size="11" fill="#333">{escape(words)}'
                         '</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _wrap(label: str) -> list[str]:
    """A batch label on two lines under its column: the period, then the category."""
    head, _, tail = label.partition(" ")
    return [head, tail] if tail else [head]
