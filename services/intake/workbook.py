"""Spreadsheet front end: a fillable workbook of each form, and reading a filled one back.

The workbook has one row per form field: 栏目 (the label path, as on the paper form), 填写 (what
the enterprise types, in any spelling the JSON form accepts) and 说明 (the unit, the options).
Reading it back builds the same nested form the JSON API takes, so both give one declaration.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill

from contracts.forms import EvidenceAsked, FormDefinition, FormField
from services.intake import normalise as n
from services.intake.forms import FormSpec
from services.intake.normalise import split_labels
from services.intake.packages import XLSX, PackageError, PackageLimits, check_ooxml, count_shared_strings

SHEET = "申报表"
HEADERS = ("栏目", "填写", "说明")
# A '/' between sections; the one in a standard's number (GB/T 19001) follows a letter.
_SECTION = re.compile(r"(?<![A-Za-z])/")
_YEAR_VALUE = re.compile(r"(\d{4})\s*年?\s*[:：]\s*([^;；]+)")

_HELP = {
    "number": "数字",
    "count": "次数",
    "share": "百分比，如 35% 或 0.35",
    "amount": "数量，可带单位（默认 {unit}）",
    "tick": "是 / 否（或 ☑ / □）",
    "level": "等级，如 三级",
    "industry": "国民经济行业分类代码，如 C3841",
    "photo_count": "照片张数，如 照片3张",
    "described": "项目名称，没有填 无",
    "text": "文字",
    "date": "日期，如 2025年10月8日",
    "uscc": "统一社会信用代码",
    "none_or_events": "无 / 有（有则另附事件及日期）",
}


# A filled form is a few hundred rows of three cells; these bounds are far above any real one and keep a
# hostile workbook (a zip bomb, a dimension of 99,999,999 rows, a million shared strings) under a second.
WORKBOOK_LIMITS = PackageLimits(max_members=100, max_member_bytes=5_000_000, max_total_bytes=10_000_000)
MAX_ROWS = 1_000
MAX_COLUMNS = 3
MAX_SHARED_STRINGS = 20_000
MAX_SECONDS = 5.0


class WorkbookError(ValueError):
    """The upload is not a workbook of this form: a stable code and why, as "中文 / English"."""

    def __init__(self, message: str, code: str = "workbook_invalid") -> None:
        super().__init__(message)
        self.code = code
        zh, _, en = message.partition(" / ")
        self.message_zh, self.message_en = zh, en or zh


def help_text(spec: dict[str, Any]) -> str:
    """What to type into a field, in Chinese: its unit or its options."""
    kind = spec["type"]
    if kind in ("checklist", "listed"):
        return "满足的项目，用顿号分隔：" + "、".join(dict.fromkeys(spec["boxes"]))
    if kind == "choice":
        return "选一项：" + "、".join(spec["choices"])
    if kind == "base_final":
        return f"基准年和第三年，如 2021年: 12400; 2024年: 12150（单位 {spec['unit']}）"
    return _HELP.get(kind, "").format(unit=spec.get("unit", ""))


def template(spec: FormSpec) -> bytes:
    """A fillable workbook of the form, with Chinese labels and help."""
    wb = Workbook()
    ws = wb.create_sheet(SHEET, 0)
    wb.remove(wb.worksheets[1])
    ws.append(HEADERS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for name, labels in spec.header.items():
        ws.append((labels[0], None, "必填" if name in ("enterprise_name", "uscc", "district") else ""))
    for path, fspec in spec.fields.items():
        ws.append((path, None, help_text(fspec)))
    ws.column_dimensions["A"].width = 48
    ws.column_dimensions["B"].width = 36
    ws.column_dimensions["C"].width = 60
    for row in ws.iter_rows(min_row=2):
        row[2].alignment = Alignment(wrap_text=True)
    ws.freeze_panes = "B2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _set(form: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split("/")
    node = form
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise WorkbookError(f"栏目“{path}”与“{part}”冲突 / field {path!r} conflicts with {part!r}")
        node = child
    node[parts[-1]] = value


def read_workbook(spec: FormSpec, content: bytes) -> dict[str, Any]:
    """The nested form a filled workbook holds (only the rows that were filled in).

    CPU-bound and bounded (size, parts, rows, cells, shared strings, seconds): call it off the event loop.
    """
    started = time.monotonic()
    try:
        package = check_ooxml(content, XLSX, WORKBOOK_LIMITS)
        strings = count_shared_strings(package)
    except PackageError as exc:
        if exc.code == "not_a_package":
            raise WorkbookError("上传的文件不是 xlsx 工作簿 / the upload is not an .xlsx workbook", exc.code) from None
        raise WorkbookError(f"{exc.message_zh} / {exc.message_en}", exc.code) from None
    if strings > MAX_SHARED_STRINGS:
        raise WorkbookError(
            f"工作簿含 {strings} 个共享字符串，超过上限 {MAX_SHARED_STRINGS} / "
            f"the workbook holds {strings} shared strings; at most {MAX_SHARED_STRINGS} are accepted",
            "workbook_too_large",
        )
    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable workbook is the user's file, not our fault
        raise WorkbookError(f"无法读取工作簿 / cannot read the workbook: {type(exc).__name__}") from None
    try:
        if SHEET not in wb.sheetnames:
            raise WorkbookError(
                f"工作簿中没有“{SHEET}”工作表 / the workbook has no sheet {SHEET!r}", "workbook_sheet_missing"
            )
        sheet = wb[SHEET]
        declared = sheet.max_row  # from the sheet's <dimension>, which read-only openpyxl pads out to
        if declared is not None and declared > MAX_ROWS + 1:
            raise WorkbookError(
                f"工作表声明了 {declared} 行，超过上限 {MAX_ROWS} 行 / "
                f"the sheet declares {declared} rows; at most {MAX_ROWS} are accepted",
                "workbook_too_large",
            )
        # Never more rows than MAX_ROWS + 1, whatever the sheet declares or holds.
        rows = sheet.iter_rows(min_row=2, max_row=MAX_ROWS + 2, max_col=MAX_COLUMNS, values_only=True)
        return _form_of(spec, _read_rows(rows), started)
    finally:
        wb.close()


def _read_rows(rows: Iterator[Any]) -> Iterator[Any]:
    """``rows`` as read-only openpyxl parses them, lazily: a sheet that breaks off or holds what its parser
    refuses (a truncated part, a DOCTYPE with entities) fails here, after load_workbook accepted the package."""
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - the user's sheet, unreadable: their file, not our fault
            raise WorkbookError(
                f"工作表“{SHEET}”内容不完整或格式有误，请用模板重新填写 / "
                f"the sheet {SHEET!r} is cut short or malformed ({type(exc).__name__}): fill in the template again"
            ) from None
        yield row


def _form_of(spec: FormSpec, rows: Iterator[Any], started: float) -> dict[str, Any]:
    form: dict[str, Any] = {}
    for number, row in enumerate(rows, start=2):
        if time.monotonic() - started > MAX_SECONDS:
            raise WorkbookError(
                f"工作簿读取超时 / reading the workbook took over {MAX_SECONDS:g} s", "workbook_too_large"
            )
        if not row or row[0] is None or len(row) < 2 or row[1] is None or str(row[1]).strip() == "":
            continue
        if number > MAX_ROWS + 1:
            raise WorkbookError(
                f"工作簿超过 {MAX_ROWS} 行 / the workbook has more than {MAX_ROWS} rows", "workbook_too_large"
            )
        path = n.nfkc(row[0])
        value: Any = row[1]
        fspec = spec.fields.get(path)
        if fspec is not None and fspec["type"] in ("checklist", "listed") and isinstance(value, str):
            value = split_labels(value, fspec["boxes"])
            if fspec["type"] == "checklist":
                value = [item if item[:1] in "☑■√✓✔□☐" else "☑" + item for item in value]
        elif fspec is not None and fspec["type"] == "base_final" and isinstance(value, str):
            pairs = _YEAR_VALUE.findall(n.nfkc(value))
            value = {f"{year}年": amount.strip() for year, amount in pairs} if pairs else value
        elif hasattr(value, "isoformat"):
            value = value.date().isoformat() if hasattr(value, "date") else value.isoformat()
        _set(form, path, value)
    return form


def definition(spec: FormSpec) -> FormDefinition:
    """The form as a front end draws it: the same rows as the template, with types, units and options."""
    required = ("enterprise_name", "uscc", "district")
    fields = [
        FormField(
            path=labels[0], sections=[], label=labels[0], type="header", required=name in required, inputs=[name],
            help_zh="必填" if name in required else ("日期，如 2025年10月8日" if name == "declared_on" else "文字"),
        )
        for name, labels in spec.header.items()
    ]  # fmt: skip
    for path, fspec in spec.fields.items():
        *sections, label = _SECTION.split(path)
        options = fspec.get("choices") or fspec.get("boxes") or {}
        fields.append(
            FormField(
                path=path,
                sections=sections,
                label=label,
                type=fspec["type"],
                required=False,
                inputs=list(fspec.get("inputs") or ([fspec["input"]] if "input" in fspec else [])),
                unit=fspec.get("unit"),
                help_zh=help_text(fspec),
                options=list(dict.fromkeys(options)),
                ticked=bool(fspec.get("ticked")),
            )
        )
    evidence = [
        EvidenceAsked(item=k, required=bool(v.get("required")), what=v.get("what", ""))
        for k, v in spec.evidence.items()
    ]
    return FormDefinition(scheme=spec.scheme.value, fields=fields, evidence=evidence)
