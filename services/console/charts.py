"""Pictures drawn on the server as SVG: a unit's timeline, a score by category, the bureau's dashboard.

Pure functions from rows to markup. Every picture has a title and a description for screen
readers, and the page beside it shows the same figures as a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from markupsafe import Markup, escape

# Colours chosen for 4.5:1 contrast against white where they carry text.
INK, MUTED, LINE = "#1a1a1a", "#4a4a4a", "#8a8a8a"
GREEN, AMBER, RED, BLUE = "#1b6e3a", "#8a5a00", "#b3261e", "#1f4e8c"
LEVEL_COLOURS = {1: "#b3261e", 2: "#8a5a00", 3: "#1f4e8c", 4: "#1b6e3a", 5: "#0b3d20"}


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg(width: int, height: int, title: str, desc: str, body: list[str], ident: str) -> Markup:
    # Every piece of text in ``body`` was escaped where it was made; numbers are ours.
    return Markup(  # noqa: S704
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


@dataclass(frozen=True)
class Mark:
    """One point on a timeline: a step taken, or a deadline ahead or missed."""

    day: date
    kind: str  # "step" | "deadline" | "today"
    title: str
    detail: str = ""


def timeline(marks: Sequence[Mark], today: date, ident: str = "timeline") -> Markup:
    """A vertical timeline, oldest at the top: steps as dots, deadlines as diamonds (red once missed), today."""
    ordered = sorted([*marks, Mark(today, "today", "今天")], key=lambda m: (m.day, m.kind != "step"))
    row, top, width = 52, 16, 560
    height = top * 2 + row * len(ordered)
    x = 104
    body = [f'<line x1="{x}" y1="{top}" x2="{x}" y2="{height - top}" stroke="{LINE}" stroke-width="2"/>']
    for i, m in enumerate(ordered):
        y = top + row * i + row // 2
        body.append(
            f'<text x="{x - 14}" y="{y + 5}" text-anchor="end" font-size="13" fill="{MUTED}">{m.day.isoformat()}</text>'
        )
        if m.kind == "step":
            body.append(f'<circle cx="{x}" cy="{y}" r="7" fill="{GREEN}"/>')
            colour = INK
        elif m.kind == "deadline":
            colour = RED if m.day < today else AMBER
            body.append(f'<rect x="{x - 6}" y="{y - 6}" width="12" height="12" fill="{colour}" '
                        f'transform="rotate(45 {x} {y})"/>')  # fmt: skip
        else:
            colour = BLUE
            body.append(f'<line x1="{x - 12}" y1="{y}" x2="{width - 8}" y2="{y}" stroke="{BLUE}" '
                        f'stroke-dasharray="4 4"/>')  # fmt: skip
        body.append(
            f'<text x="{x + 16}" y="{y - 3}" font-size="14" font-weight="bold" fill="{colour}">'
            f"{escape(_short(m.title, 26))}</text>"
        )
        if m.detail:
            body.append(
                f'<text x="{x + 16}" y="{y + 15}" font-size="12" fill="{MUTED}">{escape(_short(m.detail, 34))}</text>'
            )
    steps = sum(m.kind == "step" for m in marks)
    deadlines = sum(m.kind == "deadline" for m in marks)
    return _svg(
        width, height, "单位时间线", f"{steps} 个步骤，{deadlines} 个期限，今天 {today.isoformat()}", body, ident
    )


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    maximum: Decimal
    note: str = ""


def bars(rows: Sequence[Bar], title: str, ident: str = "score") -> Markup:
    """Horizontal bars, each against its own maximum (the pale track), value written at the end."""
    row, width, label_w, track_w = 30, 560, 170, 280
    height = row * len(rows) + 12
    body = []
    for i, b in enumerate(rows):
        y = 6 + row * i
        share = float(b.value / b.maximum) if b.maximum > 0 else 0.0
        share = min(max(share, 0.0), 1.0)
        colour = GREEN if share >= 0.6 else (AMBER if share >= 0.3 else RED)
        body += [
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" font-size="13" fill="{INK}">'
            f"{escape(_short(b.label, 14))}</text>",
            f'<rect x="{label_w}" y="{y + 4}" width="{track_w}" height="18" fill="#e6e6e6"/>',
            f'<rect x="{label_w}" y="{y + 4}" width="{track_w * share:.1f}" height="18" fill="{colour}"/>',
            f'<text x="{label_w + track_w + 8}" y="{y + 17}" font-size="13" fill="{INK}">'
            f"{escape(_num(b.value))}/{escape(_num(b.maximum))}{escape(_short(b.note, 4))}</text>",
        ]
    desc = "；".join(f"{b.label} {_num(b.value)}/{_num(b.maximum)}" for b in rows)
    return _svg(width, height, title, desc, body, ident)


def _num(value: Decimal) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def stacked(
    groups: Sequence[tuple[str, dict[int, int]]], keys: Sequence[int], key_label: dict[int, str], title: str, ident: str
) -> Markup:
    """One horizontal bar per group, split into its keys' counts (e.g. units per level per district), with a legend."""
    row, width, label_w = 28, 560, 90
    most = max((sum(c.values()) for _, c in groups), default=0) or 1
    track_w = width - label_w - 50
    body = []
    for i, k in enumerate(keys):
        lx = label_w + i * 86
        body += [
            f'<rect x="{lx}" y="4" width="14" height="14" fill="{LEVEL_COLOURS.get(k, MUTED)}"/>',
            f'<text x="{lx + 18}" y="16" font-size="12" fill="{INK}">{escape(key_label[k])}</text>',
        ]
    for i, (name, counts) in enumerate(groups):
        y = 28 + row * i
        body.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="13" fill="{INK}">{escape(name)}</text>'
        )
        x = float(label_w)
        for k in keys:
            n = counts.get(k, 0)
            if not n:
                continue
            w = track_w * n / most
            body.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="18" fill="{LEVEL_COLOURS.get(k, MUTED)}"/>'
            )
            if w >= 18:
                body.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + 16}" text-anchor="middle" font-size="12" '
                    f'fill="#ffffff">{n}</text>'
                )
            x += w
        body.append(f'<text x="{x + 6:.1f}" y="{y + 16}" font-size="12" fill="{MUTED}">{sum(counts.values())}</text>')
    height = 28 + row * max(len(groups), 1) + 6
    desc = (
        "；".join(f"{name}：" + "，".join(f"{key_label[k]} {c.get(k, 0)}" for k in keys) for name, c in groups)
        or "暂无数据"
    )
    return _svg(width, height, title, desc, body, ident)


def columns(rows: Sequence[tuple[str, int, bool]], title: str, ident: str) -> Markup:
    """Columns with their counts (e.g. tasks due per day this week); a flagged column is drawn red."""
    width, height, base = 560, 170, 140
    most = max((n for _, n, _ in rows), default=0) or 1
    step = width / max(len(rows), 1)
    body = [f'<line x1="0" y1="{base}" x2="{width}" y2="{base}" stroke="{LINE}"/>']
    for i, (label, n, flagged) in enumerate(rows):
        h = 110 * n / most
        x = i * step + step * 0.2
        colour = RED if flagged else BLUE
        body += [
            f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{step * 0.6:.1f}" height="{h:.1f}" fill="{colour}"/>',
            f'<text x="{x + step * 0.3:.1f}" y="{base - h - 5:.1f}" text-anchor="middle" font-size="13" '
            f'fill="{INK}">{n}</text>',
            f'<text x="{x + step * 0.3:.1f}" y="{base + 18}" text-anchor="middle" font-size="12" '
            f'fill="{INK}">{escape(label)}</text>',
        ]
    desc = "；".join(f"{label} {n}" for label, n, _ in rows)
    return _svg(width, height, title, desc, body, ident)
