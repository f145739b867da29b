"""A what-if report as files: an HTML page (with its pictures inline), CSV tables and SVG pictures.

The pictures are drawn as plain SVG here (a histogram of totals before and after, and the level-change
matrix): no plotting library, no asset from anywhere, and Chinese labels render with the reader's fonts.
"""

from __future__ import annotations

import csv
import html
import io
from decimal import Decimal
from pathlib import Path

from contracts.schemes import SCHEME_LABELS, Scheme
from contracts.whatif import Counts, Mover, SchemeSummary, WhatIfReport

LEVELS = ["1", "2", "3", "4", "无等级"]
BEFORE, AFTER = "#9aa5b1", "#2e7d32"
COUNT_COLUMNS = list(Counts.model_fields)
COUNT_ZH = {
    "units": "单位数",
    "refused": "无法评分",
    "level_up": "等级上升",
    "level_down": "等级下降",
    "failed_to_passed": "未通过→通过",
    "passed_to_failed": "通过→未通过",
    "total_up": "总分上升",
    "total_down": "总分下降",
    "unchanged": "不变",
}


def histogram_svg(summary: SchemeSummary, width: int = 760, height: int = 300) -> str:
    """Totals in force (grey) and under the draft (green), side by side per bin."""
    edges = summary.histogram_edges
    bins = list(zip(summary.histogram_before, summary.histogram_after, strict=True))
    used = [i for i, (b, a) in enumerate(bins) if b or a]
    if not used:
        return _svg(width, 60, '<text x="10" y="30" font-size="14">无数据</text>')
    first, last = max(0, used[0] - 1), min(len(bins) - 1, used[-1] + 1)
    shown = bins[first : last + 1]
    top = max(max(b, a) for b, a in shown) or 1
    left, bottom, plot_w, plot_h = 50, height - 40, width - 70, height - 80
    step = plot_w / len(shown)
    parts = [
        f'<text x="{left}" y="20" font-size="15">{html.escape(SCHEME_LABELS[summary.scheme])}：'
        "总分分布（灰：现行版本，绿：草案）</text>",
        f'<line x1="{left}" y1="{bottom}" x2="{left + plot_w}" y2="{bottom}" stroke="#333"/>',
        f'<line x1="{left}" y1="{bottom}" x2="{left}" y2="{bottom - plot_h}" stroke="#333"/>',
    ]
    for k in range(5):
        value = round(top * k / 4)
        y = bottom - plot_h * k / 4
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{value}</text>')
    for i, (b, a) in enumerate(shown):
        x = left + i * step
        for j, (count, colour) in enumerate(((b, BEFORE), (a, AFTER))):
            h = plot_h * count / top
            parts.append(
                f'<rect x="{x + 1 + j * (step - 2) / 2:.1f}" y="{bottom - h:.1f}" width="{(step - 2) / 2:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{edges[first + i]}–{edges[first + i + 1]}：'
                f"{'现行' if j == 0 else '草案'} {count}</title></rect>"
            )
        if i % max(1, len(shown) // 12) == 0:
            parts.append(f'<text x="{x:.1f}" y="{bottom + 16}" font-size="11">{_num(edges[first + i])}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 6}" font-size="12" text-anchor="middle">总分</text>')
    return _svg(width, height, "".join(parts))


def matrix_svg(summary: SchemeSummary, cell: int = 70) -> str:
    """Units by level in force (rows) and under the draft (columns); moves off the diagonal in colour."""
    matrix = summary.level_matrix
    top = max((n for row in matrix.values() for n in row.values()), default=1) or 1
    left, head = 110, 70
    width, height = left + cell * len(LEVELS) + 20, head + cell * len(LEVELS) + 30
    parts = [
        f'<text x="10" y="20" font-size="15">{html.escape(SCHEME_LABELS[summary.scheme])}：'
        "等级变化（行：现行，列：草案）</text>"
    ]
    for j, level in enumerate(LEVELS):
        parts.append(
            f'<text x="{left + j * cell + cell / 2}" y="{head - 10}" font-size="13" text-anchor="middle">'
            f"{_level_zh(level)}</text>"
        )
    for i, row_level in enumerate(LEVELS):
        y = head + i * cell
        parts.append(
            f'<text x="{left - 10}" y="{y + cell / 2 + 5}" font-size="13" text-anchor="end">'
            f"{_level_zh(row_level)}</text>"
        )
        for j, col_level in enumerate(LEVELS):
            n = matrix.get(row_level, {}).get(col_level, 0)
            x = left + j * cell
            # Down (red): a lower level, or none; up (green): a higher one, or one where there was none.
            down = col_level == "无等级" or (row_level != "无等级" and j < i)
            if i == j:
                fill = f"rgba(120,120,120,{0.1 + 0.5 * n / top:.2f})"
            elif down:
                fill = f"rgba(198,40,40,{0.15 + 0.85 * n / top:.2f})" if n else "#fff"
            else:
                fill = f"rgba(46,125,50,{0.15 + 0.85 * n / top:.2f})" if n else "#fff"
            parts.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}" stroke="#ccc"/>')
            parts.append(
                f'<text x="{x + cell / 2}" y="{y + cell / 2 + 5}" font-size="14" text-anchor="middle">{n}</text>'
            )
    return _svg(width, height, "".join(parts))


def _level_zh(level: str) -> str:
    return level if level == "无等级" else f"{level} 级"


def _svg(width: int, height: int, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif">{body}</svg>'
    )


def _num(x: Decimal) -> str:
    return f"{x.normalize():f}"


def _items(m: Mover) -> str:
    return "；".join(f"{i.id}: {_pts(i.before)} → {_pts(i.after)}" for i in m.items)


def _pts(x: Decimal | None) -> str:
    return "—" if x is None else str(x)


def _flag(x: bool | None) -> str:
    return "—" if x is None else ("通过" if x else "未通过")


def movers_csv(report: WhatIfReport) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        [
            "uscc",
            "单位名称",
            "区",
            "scheme",
            "现行总分",
            "草案总分",
            "现行等级",
            "草案等级",
            "现行结论",
            "草案结论",
            "变动的指标",
            "变动的设置",
        ]
    )
    for m in report.movers:
        w.writerow(
            [
                m.uscc,
                m.enterprise_name,
                m.district,
                m.scheme.value,
                m.total_before,
                m.total_after,
                m.level_before or "",
                m.level_after or "",
                _flag(m.passed_before),
                _flag(m.passed_after),
                _items(m),
                "；".join(m.settings),
            ]
        )
    return out.getvalue()


def counts_csv(report: WhatIfReport) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["scheme", "区", *COUNT_COLUMNS])
    for s in report.by_scheme:
        w.writerow([s.scheme.value, "全市", *(getattr(s, c) for c in COUNT_COLUMNS)])
    for d in report.by_district:
        w.writerow([d.scheme.value, d.district, *(getattr(d, c) for c in COUNT_COLUMNS)])
    return out.getvalue()


def page(report: WhatIfReport, moved_rows: int = 500) -> str:
    """The report as one HTML page with its pictures inline; no asset from anywhere."""
    e = html.escape
    drafts = "、".join(f"{SCHEME_LABELS[d.scheme]} {d.edition}（{d.version}）" for d in report.drafts)
    rows = [
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>政策模拟（what-if）</title>",
        "<style>body{font-family:'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;margin:24px;color:#222}"
        "table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}"
        "th{background:#f3f5f7}td.n{text-align:right}.note{color:#555;font-size:13px}</style></head><body>",
        f"<h1>政策模拟：草案 {e(drafts)}</h1>",
        f"<p class='note'>共 {report.units} 家单位的最新申报；草案未覆盖的方案 {report.other_schemes} 家未重新评分。"
        f"用时 {report.elapsed_s} 秒（{report.units_per_s} 家/秒）。本次模拟不发布草案，不修改任何单位的数据。</p>",
    ]
    if report.settings:
        rows.append("<h2>草案调整的设置</h2><table><tr><th>设置</th><th>现行</th><th>草案</th></tr>")
        rows += [f"<tr><td>{e(c.path)}</td><td>{e(c.before)}</td><td>{e(c.after)}</td></tr>" for c in report.settings]
        rows.append("</table>")
    if report.items_changed:
        rows.append(f"<p>草案增加（+）、删除（-）或修改的指标：{e('、'.join(report.items_changed))}</p>")
    header = "".join(f"<th>{COUNT_ZH[c]}</th>" for c in COUNT_COLUMNS)
    rows.append(f"<h2>按方案</h2><table><tr><th>方案</th>{header}</tr>")
    for s in report.by_scheme:
        cells = "".join(f"<td class='n'>{getattr(s, c)}</td>" for c in COUNT_COLUMNS)
        rows.append(f"<tr><td>{e(SCHEME_LABELS[s.scheme])}</td>{cells}</tr>")
    rows.append("</table>")
    for s in report.by_scheme:
        rows.append(histogram_svg(s))
        if s.level_matrix:
            rows.append(matrix_svg(s))
    rows.append(f"<h2>按区</h2><table><tr><th>方案</th><th>区</th>{header}</tr>")
    for d in report.by_district:
        cells = "".join(f"<td class='n'>{getattr(d, c)}</td>" for c in COUNT_COLUMNS)
        rows.append(f"<tr><td>{e(SCHEME_LABELS[d.scheme])}</td><td>{e(d.district)}</td>{cells}</tr>")
    rows.append("</table>")
    listed = f"，此处列出前 {moved_rows} 家，全部见 whatif-units.csv" if report.movers_count > moved_rows else ""
    rows.append(f"<h2>等级或结论变化的单位（{report.movers_count} 家{listed}）</h2>")
    rows.append(
        "<table><tr><th>统一社会信用代码</th><th>单位</th><th>区</th><th>总分</th><th>等级</th><th>结论</th>"
        "<th>变动的指标</th><th>变动的设置</th></tr>"
    )
    for m in report.movers[:moved_rows]:
        level = f"{m.level_before or '—'} → {m.level_after or '—'}" if m.scheme == Scheme.GRADING else ""
        verdict = f"{_flag(m.passed_before)} → {_flag(m.passed_after)}" if m.scheme == Scheme.GREEN_FACTORY else ""
        rows.append(
            f"<tr><td>{e(m.uscc)}</td><td>{e(m.enterprise_name)}</td><td>{e(m.district)}</td>"
            f"<td>{m.total_before} → {m.total_after}</td><td>{level}</td><td>{verdict}</td>"
            f"<td>{e(_items(m))}</td><td>{e('；'.join(m.settings))}</td></tr>"
        )
    rows.append("</table></body></html>")
    return "\n".join(rows)


def write(report: WhatIfReport, folder: Path) -> list[Path]:
    """Every file of the report into ``folder``; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "whatif.html": page(report),
        "whatif-units.csv": movers_csv(report),
        "whatif-counts.csv": counts_csv(report),
        "whatif.json": report.model_dump_json(indent=1),
    }
    for s in report.by_scheme:
        files[f"histogram-{s.scheme.value}.svg"] = histogram_svg(s)
        if s.level_matrix:
            files[f"levels-{s.scheme.value}.svg"] = matrix_svg(s)
    out = []
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8-sig" if name.endswith(".csv") else "utf-8")
        out.append(path)
    return out
