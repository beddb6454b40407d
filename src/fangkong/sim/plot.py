"""A line chart as an SVG document, written directly (no plotting library): the daily curves of
`fangkong compare`. The y axis is logarithmic (log10 of 1 + the value): a policy that keeps the
outbreak to a handful of cases and one that lets it infect most of the city are both readable.
"""

from __future__ import annotations

import math
from html import escape

__all__ = ["svg_lines"]

_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")
_W, _H = 720, 400
_LEFT, _RIGHT, _TOP, _BOTTOM = 70, 190, 40, 50


def _y(value: float, top: float) -> float:
    height = _H - _TOP - _BOTTOM
    return _H - _BOTTOM - height * math.log10(1 + max(value, 0.0)) / top


def svg_lines(title: str, x_label: str, y_label: str, series: dict[str, list[float]]) -> str:
    """An SVG chart of `series` (name -> one value per day, all of one length)."""
    days = max((len(v) for v in series.values()), default=1)
    top = max(
        1.0, math.ceil(math.log10(1 + max((max(v, default=0) for v in series.values()), default=0)))
    )
    width = _W - _LEFT - _RIGHT

    def x(i: int) -> float:
        return _LEFT + width * i / max(days - 1, 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}"'
        f' font-family="sans-serif" font-size="12">',
        f'<rect width="{_W}" height="{_H}" fill="white"/>',
        f'<text x="{_W / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>',
        f'<line x1="{_LEFT}" y1="{_H - _BOTTOM}" x2="{_LEFT + width}" y2="{_H - _BOTTOM}"'
        ' stroke="black"/>',
        f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_H - _BOTTOM}" stroke="black"/>',
        f'<text x="{_LEFT + width / 2}" y="{_H - 12}" text-anchor="middle">'
        f"{escape(x_label)}</text>",
        f'<text x="16" y="{_H / 2}" text-anchor="middle" transform="rotate(-90 16 {_H / 2})">'
        f"{escape(y_label)}</text>",
    ]
    for power in range(int(top) + 1):
        value = 10**power
        y = _y(value - 1, top)
        parts.append(
            f'<line x1="{_LEFT - 4}" y1="{y:.1f}" x2="{_LEFT + width}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        label = f"{value - 1:,}" if power == 0 else f"{value:,}"
        parts.append(f'<text x="{_LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    for i in range(0, days, max(1, days // 10)):
        parts.append(
            f'<text x="{x(i):.1f}" y="{_H - _BOTTOM + 18}" text-anchor="middle">{i}</text>'
        )
    for k, (name, values) in enumerate(series.items()):
        colour = _COLOURS[k % len(_COLOURS)]
        points = " ".join(f"{x(i):.1f},{_y(v, top):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'
        )
        ly = _TOP + 20 * k + 10
        parts.append(
            f'<line x1="{_W - _RIGHT + 15}" y1="{ly}" x2="{_W - _RIGHT + 35}" y2="{ly}"'
            f' stroke="{colour}" stroke-width="2"/>'
        )
        parts.append(f'<text x="{_W - _RIGHT + 40}" y="{ly + 4}">{escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
