"""Inline SVG charts for report.html: no script, no fonts, no fetches; readable in print.

Each chart is an ``<svg role="img">`` with a ``<title>`` and an ``aria-label`` that states the
numbers in words, and every bar carries its value as text, so nothing is told by colour alone.
The same numbers are in the tables next to the charts. Labels are escaped here (they are
check IDs and fixed words today, but a chart must never trust its input).
"""
from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

BAR_H = 18          # px per bar row
LABEL_W = 190       # px for the label column of horizontal bars
CHART_W = 560


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    t = escape(title)
    return Markup(f'<svg class="chart" role="img" aria-label="{t}" viewBox="0 0 {width} {height}" '
                  f'width="{width}" height="{height}">'
                  f"<title>{t}</title>{''.join(body)}</svg>")


def stacked_bar(parts: Sequence[tuple[str, int, str]], title: str) -> Markup:
    """One horizontal 100% bar split into parts (label, count, css class), with a legend that
    gives each count and share in text."""
    total = sum(n for _, n, _ in parts) or 1
    body, x = [], 0.0
    for label, n, cls in parts:
        w = CHART_W * n / total
        if w > 0:
            body.append(f'<rect class="{cls}" x="{x:.1f}" y="0" width="{w:.1f}" height="26">'
                        f"<title>{escape(label)}: {n}</title></rect>")
        x += w
    lx = 0
    for label, n, cls in parts:
        text = f"{label}: {n} ({100 * n / total:.0f}%)"
        body.append(f'<rect class="{cls}" x="{lx}" y="36" width="12" height="12"/>'
                    f'<text x="{lx + 16}" y="47">{escape(text)}</text>')
        lx += 16 + 7 * len(text) + 18
    words = ", ".join(f"{label} {n}" for label, n, _ in parts)
    return _svg(max(CHART_W, lx), 56, f"{title}: {words}", body)


def horizontal_bars(rows: Sequence[tuple[str, Sequence[tuple[int, str, str]]]], title: str,
                    scale: int | None = None) -> Markup:
    """One row per label; each row a stack of (count, css class, what) segments, its total
    written after the bar. ``scale`` is the count that fills the width (default: the largest)."""
    top = scale or max((sum(n for n, _, _ in segs) for _, segs in rows), default=0) or 1
    width = CHART_W - LABEL_W - 60
    body = []
    for i, (label, segs) in enumerate(rows):
        y = i * (BAR_H + 4)
        body.append(f'<text class="lbl" x="{LABEL_W - 6}" y="{y + 13}" text-anchor="end">'
                    f"{escape(label)}</text>")
        x = float(LABEL_W)
        for n, cls, what in segs:
            w = width * n / top
            if w > 0:
                body.append(f'<rect class="{cls}" x="{x:.1f}" y="{y}" width="{w:.1f}" '
                            f'height="{BAR_H}"><title>{escape(label)}: {n} {escape(what)}</title></rect>')
            x += w
        text = " + ".join(f"{n} {what}" for n, _, what in segs if n)
        body.append(f'<text x="{x + 4:.1f}" y="{y + 13}">{escape(text)}</text>')
    words = "; ".join(f"{label}: " + ", ".join(f"{n} {what}" for n, _, what in segs)
                      for label, segs in rows)
    return _svg(CHART_W + 160, max(len(rows) * (BAR_H + 4), BAR_H), f"{title}. {words}", body)


def histogram(buckets: Sequence[tuple[str, int]], title: str) -> Markup:
    """Vertical bars (label, count), count written above each bar."""
    top = max((n for _, n in buckets), default=0) or 1
    col, plot_h = CHART_W // max(len(buckets), 1), 110
    body = []
    for i, (label, n) in enumerate(buckets):
        h = plot_h * n / top
        x = i * col
        body.append(f'<rect class="c-bar" x="{x + 4}" y="{plot_h - h + 16:.1f}" width="{col - 8}" '
                    f'height="{h:.1f}"><title>score {escape(label)}: {n} domains</title></rect>'
                    f'<text x="{x + col / 2:.1f}" y="{plot_h - h + 12:.1f}" text-anchor="middle">{n}</text>'
                    f'<text class="lbl" x="{x + col / 2:.1f}" y="{plot_h + 32}" '
                    f'text-anchor="middle">{escape(label)}</text>')
    words = ", ".join(f"{label}: {n}" for label, n in buckets)
    return _svg(CHART_W, plot_h + 38, f"{title}: {words}", body)


# The page's stylesheet colours the bars and sizes the text; WeasyPrint draws inline SVG with
# the SVG's own <style> only, so the paper copy of a chart carries report.html's styles.
_PAPER_STYLE = ("<style>.c-pass{fill:#1a7f37}.c-fail{fill:#b00020}.c-error{fill:#c77c1e}"
                ".c-bar{fill:#4a6fa5}.lbl{fill:#1f2328}text{font:12px sans-serif}</style>")


def for_paper(chart: Markup) -> Markup:
    """The chart with its styles inside it (report.pdf)."""
    return Markup(str(chart).replace("</title>", "</title>" + _PAPER_STYLE, 1))
