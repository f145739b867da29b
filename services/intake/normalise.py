"""Normalising what enterprises type into Chinese government forms: one small function per rule.

Every function takes the raw value as typed and returns the clean value, or raises
NormaliseError with a stable code and messages in Chinese and English. None of them guess:
anything they cannot read exactly is refused, naming why.

Rules (documented here because users meet them):
- Text is NFKC-normalised first, so full-width digits and signs (４２％, １２,４００) read as ASCII.
- A percentage written with % or ％, or as 百分之N, is N/100. In a field that is a share, a bare
  number from 0 to 1 is already a fraction (0.63 = 63 %); a bare number above 1 is refused as
  ambiguous (write 8.5% for 8.5 percent).
- Amounts carry their unit or take the field's; they are converted to the field's unit:
  元/万元/亿元 → 万元, kg/t/吨 → t, kgce/tce/吨标准煤 → tce, m³/立方米 → m³, 公顷/亩/平方米 → m².
- Ticks: ☑ ■ √ ✓ ✔ 是 有 符合 已… mean yes; □ ☐ 否 无 不符合 未… mean no.
- Dates: 2025年3月1日, 2025-03-01, 2025/3/1, 2025.3.1.
- A number may be written with an exponent (1e308, 2.5E3 吨): it is read as that number, then held to
  the input's limits like any other; one beyond 10^±400 is refused as out of range.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import cn2an

from contracts.identifiers import check_uscc


@dataclass
class NormaliseError(ValueError):
    """A value that cannot be read: a stable code and why, in Chinese and English."""

    code: str
    message_zh: str
    message_en: str

    def __str__(self) -> str:
        return self.message_en


def nfkc(raw: object) -> str:
    """Unicode NFKC, trimmed: full-width digits, letters and punctuation become ASCII."""
    return unicodedata.normalize("NFKC", str(raw)).strip()


_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?([eE][+-]?\d+)?$")
MAX_MAGNITUDE = 400
"""A number typed with an exponent beyond 10^±400 is refused as unreadable, before it is ever expanded into
digits (1e999999999 would be a billion of them); the inputs' limits refuse anything near it anyway."""


def number(raw: object) -> Decimal:
    """A plain number: 12,400 / １２,４００ / 3.5 / 七 (Chinese numerals via cn2an)."""
    if isinstance(raw, bool):
        raise NormaliseError("not_a_number", "应为数字，而不是是/否", "expected a number, not yes/no")
    if isinstance(raw, int | float | Decimal):
        value = Decimal(str(raw))
    else:
        text = nfkc(raw).replace(" ", "")
        if _NUMBER.match(text):
            value = Decimal(text.replace(",", ""))
        else:
            try:
                value = Decimal(str(cn2an.cn2an(text, "smart")))
            except (ValueError, KeyError, InvalidOperation):
                raise NormaliseError("not_a_number", f"“{raw}”不是数字", f"{raw!r} is not a number") from None
    if not value.is_finite():
        raise NormaliseError("not_a_number", f"“{raw}”不是有限数字", f"{raw!r} is not a finite number")
    if value and abs(value.adjusted()) > MAX_MAGNITUDE:
        raise NormaliseError(
            "number_out_of_range",
            f"“{raw}”的数量级超出可读范围（10 的 ±{MAX_MAGNITUDE} 次方以内）",
            f"{raw!r} is out of the range read (magnitude within 10^±{MAX_MAGNITUDE})",
        )
    return value


_PERCENT = re.compile(r"^(.*?)\s*[%％]$")


def share(raw: object) -> Decimal:
    """A share as a fraction 0–1: 42% / ４２％ / 0.63 / 百分之六十 / 97.0%."""
    text = nfkc(raw) if not isinstance(raw, int | float | Decimal) else str(raw)
    if text.startswith("百分之"):
        value = number(text.removeprefix("百分之")) / 100
    elif m := _PERCENT.match(text):
        value = number(m.group(1)) / 100
    else:
        value = number(raw)
        if value > 1:
            raise NormaliseError(
                "share_ambiguous",
                f"“{raw}”含义不明：比例请写成百分数（如 {value}%）或 0–1 之间的小数",
                f"{raw!r} is ambiguous: write a share as a percentage ({value}%) or a fraction from 0 to 1",
            )
    if value < 0:
        raise NormaliseError("share_negative", f"比例“{raw}”不能为负", f"share {raw!r} cannot be negative")
    return value


# Unit → (dimension, factor to the dimension's base unit).
_UNITS: dict[str, tuple[str, Decimal]] = {
    "元": ("money", Decimal("0.0001")), "万元": ("money", Decimal(1)), "亿元": ("money", Decimal(10000)),
    "亿": ("money", Decimal(10000)), "万": ("money", Decimal(1)),
    "kg": ("mass", Decimal("0.001")), "千克": ("mass", Decimal("0.001")), "公斤": ("mass", Decimal("0.001")),
    "t": ("mass", Decimal(1)), "吨": ("mass", Decimal(1)), "万吨": ("mass", Decimal(10000)),
    "kgce": ("energy", Decimal("0.001")), "千克标准煤": ("energy", Decimal("0.001")),
    "tce": ("energy", Decimal(1)), "吨标准煤": ("energy", Decimal(1)), "万吨标准煤": ("energy", Decimal(10000)),
    "m³": ("volume", Decimal(1)), "m3": ("volume", Decimal(1)), "立方米": ("volume", Decimal(1)),
    "方": ("volume", Decimal(1)), "吨水": ("volume", Decimal(1)), "万立方米": ("volume", Decimal(10000)),
    "m²": ("area", Decimal(1)), "m2": ("area", Decimal(1)), "平方米": ("area", Decimal(1)),
    "公顷": ("area", Decimal(10000)), "hm²": ("area", Decimal(10000)), "hm2": ("area", Decimal(10000)),
    "亩": ("area", Decimal("666.6666666666666666666666667")),
    "tco2": ("carbon", Decimal(1)), "tco2e": ("carbon", Decimal(1)), "吨二氧化碳": ("carbon", Decimal(1)),
    "吨二氧化碳当量": ("carbon", Decimal(1)),
}  # fmt: skip
# The number, then its unit; an exponent (1e308, 2.5E3) belongs to the number, never to the unit.
_AMOUNT = re.compile(r"^([0-9.,+-]+(?:[eE][+-]?\d+)?)\s*(.*)$")


def amount(raw: object, unit: str) -> Decimal:
    """An amount in ``unit`` (a key of the unit table): 3.2亿元 → 32000 (万元), 3,600kg → 3.6 (t)."""
    dimension, to_base = _UNITS[unit]
    if isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
        return number(raw)
    text = nfkc(raw).replace(" ", "")
    m = _AMOUNT.match(text)
    if not m:
        return number(raw)
    value = number(m.group(1))
    written = m.group(2).lower()
    if not written:
        return value
    if written not in _UNITS:
        raise NormaliseError("unit_unknown", f"不认识的单位“{m.group(2)}”", f"unknown unit {m.group(2)!r}")
    their_dimension, factor = _UNITS[written]
    if their_dimension != dimension:
        raise NormaliseError(
            "unit_mismatch", f"单位“{m.group(2)}”不适用于此字段（应为 {unit} 一类）",
            f"unit {m.group(2)!r} does not fit this field (expected a unit like {unit})",
        )  # fmt: skip
    return value * factor / to_base


_YES = ("☑", "■", "√", "✓", "✔", "☒", "是", "有", "符合", "已", "通过", "yes", "y", "true")
_NO = ("□", "☐", "否", "无", "不符合", "未", "没有", "no", "n", "false")


def tick(raw: object) -> bool:
    """A tick box or yes/no answer."""
    if isinstance(raw, bool):
        return raw
    text = nfkc(raw).lower()
    # Longest first, so 不符合 is not read as 符合 and 未通过 not as 通过.
    for word in sorted((*_NO, *_YES), key=len, reverse=True):
        if text.startswith(word):
            return word in _YES
    raise NormaliseError("not_a_tick", f"“{raw}”不是勾选或是/否", f"{raw!r} is not a tick or yes/no")


_TICKED = re.compile(r"^\s*([☑■√✓✔☒□☐])\s*(.+)$")


def ticked_labels(raw: object) -> list[str]:
    """The labels ticked in a list like ["☑建有能源管理中心", "□建有智能微电网"]."""
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        m = _TICKED.match(nfkc(item))
        if not m:
            raise NormaliseError(
                "not_a_checkbox", f"“{item}”不是勾选项（应以 ☑ 或 □ 开头）", f"{item!r} is not a checkbox line"
            )
        if tick(m.group(1)):
            out.append(m.group(2).strip())
    return out


_DATE = re.compile(r"^(\d{4})\s*(?:年|-|/|\.)\s*(\d{1,2})\s*(?:月|-|/|\.)\s*(\d{1,2})\s*日?$")


def day(raw: object) -> date:
    """A date: 2025年3月1日, 2025-03-01, 2025/3/1, 2025.3.1."""
    if isinstance(raw, date):
        return raw
    m = _DATE.match(nfkc(raw))
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            pass
    raise NormaliseError(
        "not_a_date", f"“{raw}”不是有效日期（如 2025年3月1日）", f"{raw!r} is not a valid date (e.g. 2025-03-01)"
    )


_INDUSTRY = re.compile(r"^([A-T])\s*(\d{2,4})\b")


def industry_code(raw: object) -> str:
    """The GB/T 4754 code at the head of "C3841 锂离子电池制造" → "C3841"."""
    m = _INDUSTRY.match(nfkc(raw).upper())
    if not m:
        raise NormaliseError(
            "industry_code_invalid",
            f"“{raw}”不是国民经济行业分类代码（GB/T 4754，如 C3841）",
            f"{raw!r} is not a GB/T 4754 industry code (e.g. C3841)",
        )
    return m.group(1) + m.group(2)


# ----- reading a form field by its type (the form definitions name these types) -----------------

TICK_SPLIT = re.compile(r"([☑■√✓✔□☐])\s*([^☑■√✓✔□☐]+)")
_FIRST_INT = re.compile(r"(\d+)")


def match_box(label: str, boxes: dict[str, str]) -> str | None:
    """The box a written label names (a prefix either way, the longest box label first), or None."""
    label = nfkc(label)
    for key in sorted(boxes, key=len, reverse=True):
        k = nfkc(key)
        if label.startswith(k) or k.startswith(label):
            return boxes[key]
    return None


def split_labels(text: str, boxes: dict[str, str]) -> list[str]:
    """Labels written in one cell.

    With tick marks, each mark starts an item ("☑A、□B、☑C"). Without, items are separated by line
    breaks, ；or 、; a piece that names no box continues the one before it, since some labels hold a
    、 themselves (上一年度绿电、绿证采买超过100兆瓦时).
    """
    text = nfkc(text)
    if TICK_SPLIT.search(text):
        return [f"{mark}{label.strip(' 、,，;；')}" for mark, label in TICK_SPLIT.findall(text)]
    out: list[str] = []
    for piece in (p.strip() for p in re.split(r"[\n;；、,，]+", text)):
        if not piece:
            continue
        if match_box(piece, boxes) is None and out:
            out[-1] += "、" + piece
        else:
            out.append(piece)
    return out


def choice(value: Any, spec: dict[str, Any]) -> str:
    """One option of a choice field, by its label written or ticked; refused when none or several match."""
    choices: dict[str, str] = spec["choices"]
    text = nfkc(value)
    if spec.get("ticked"):
        ticked = [label.strip() for mark, label in TICK_SPLIT.findall(text) if tick(mark)]
        found = {choices[k] for label in ticked for k in choices if nfkc(k) in label}
        if len(found) > 1:
            raise NormaliseError("choice_ambiguous", f"“{value}”勾选了多项", f"{value!r} ticks more than one option")
        return found.pop() if found else str(spec.get("none", "none"))
    for key in sorted(choices, key=len, reverse=True):
        if nfkc(key) in text:
            return choices[key]
    raise NormaliseError(
        "choice_unknown", f"“{value}”不是可选项之一：{'、'.join(choices)}", f"{value!r} is not one of {list(choices)}"
    )


def read_value(kind: str, value: Any, spec: dict[str, Any]) -> Any:
    """A form field's value as typed, read by its type in the form definition (number, share, amount, tick…)."""
    if kind == "number":
        return number(value)
    if kind == "count":
        return number(nfkc(value).rstrip("次个项张家种") if isinstance(value, str) else value)
    if kind == "share":
        v = share(value)
        if v > 1 and not spec.get("above_one"):
            raise NormaliseError(
                "share_too_large", f"比例“{value}”不能超过100%", f"share {value!r} cannot exceed 100 %"
            )
        return v
    if kind == "amount":
        return amount(value, spec["unit"])
    if kind == "tick":
        return tick(value)
    if kind == "level":
        return number(nfkc(value).removesuffix("级")) if isinstance(value, str) else number(value)
    if kind == "industry":
        return industry_code(value)
    if kind == "choice":
        return choice(value, spec)
    if kind == "photo_count":
        text = nfkc(value)
        m = _FIRST_INT.search(text)
        if m:
            return int(m.group(1))
        if not text or tick(text) is False:
            return 0
        raise NormaliseError("not_a_count", f"“{value}”应写明照片张数", f"{value!r} should give the number of photos")
    if kind == "described":
        text = nfkc(value)
        return bool(text) and text not in ("无", "否", "没有", "未提供")
    if kind == "text":
        return nfkc(value)
    if kind == "date":
        return day(value).isoformat()
    if kind == "uscc":
        code = check_uscc(str(value))
        if code is None:
            raise NormaliseError(
                "uscc_invalid", "统一社会信用代码无效（GB 32100）", "not a valid unified social credit code"
            )
        return code
    raise ValueError(f"form spec: unknown field type {kind}")


def checklist(value: Any, spec: dict[str, Any], listed: bool) -> list[str]:
    """The boxes a checklist field ticks (or lists, when ``listed``), each named once."""
    items = value if isinstance(value, list) else [value]
    labels = [nfkc(i) for i in items] if listed and not any(TICK_SPLIT.match(nfkc(i)) for i in items) else None
    if labels is None:
        labels = ticked_labels(items)
    out = []
    for label in labels:
        box = match_box(label, spec["boxes"])
        if box is None:
            raise NormaliseError(
                "box_unknown",
                f"“{label}”不是本项的勾选项",
                f"{label!r} is not one of this item's boxes ({list(spec['boxes'])})",
            )
        if box not in out:
            out.append(box)
    return out


def base_final(value: Any, unit: str) -> tuple[Decimal, Decimal]:
    """A base year's and the third year's amounts, typed as {"2022年": "…", "2025年": "…"}: (base, final)."""
    if not isinstance(value, dict) or len(value) != 2:
        raise NormaliseError(
            "base_final", "应填写基准年和第三年两个年份的数值", "give the base year's and the third year's values"
        )
    (y0, v0), (y1, v1) = sorted((int(number(nfkc(k).removesuffix("年"))), v) for k, v in value.items())
    if y1 - y0 != 3:
        raise NormaliseError(
            "base_final_span", f"两个年份应相隔三年，而不是 {y1 - y0} 年", f"the years should be 3 apart, not {y1 - y0}"
        )
    return amount(v0, unit), amount(v1, unit)
