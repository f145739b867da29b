"""Reading a declaration as typed into a form (Chinese labels, free spelling) into the scoring inputs.

The form definitions are data (services/intake/forms/<scheme>.yaml): label path → input and how to
read it. Everything that cannot be read is reported at once, by JSON path, with a stable code and
a message in Chinese and English; the raw value is kept beside the normalised one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from contracts.http import FieldError
from contracts.identifiers import check_uscc
from contracts.schemes import Scheme
from services.intake import normalise as n

FORMS_DIR = Path(__file__).resolve().parent / "forms"
_TICK_SPLIT = re.compile(r"([☑■√✓✔□☐])\s*([^☑■√✓✔□☐]+)")
_FIRST_INT = re.compile(r"(\d+)")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class FormSpec:
    scheme: Scheme
    header: dict[str, list[str]]
    fields: dict[str, dict[str, Any]]
    evidence: dict[str, dict[str, Any]]


def load_forms(directory: Path = FORMS_DIR) -> dict[Scheme, FormSpec]:
    out = {}
    for path in sorted(directory.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        fields = {n.nfkc(k): v for k, v in raw["fields"].items()}
        spec = FormSpec(Scheme(raw["scheme"]), raw["header"], fields, raw.get("evidence") or {})
        out[spec.scheme] = spec
    return out


def flatten(form: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested sections joined by '/': {"用地集约化": {"工厂容积率": "1.35"}} → {"用地集约化/工厂容积率": "1.35"}."""
    out: dict[str, Any] = {}
    for key, value in form.items():
        path = f"{prefix}/{n.nfkc(key)}" if prefix else n.nfkc(key)
        if isinstance(value, dict) and path not in out:
            out.update(flatten(value, path))
            out[path] = value
        else:
            out[path] = value
    return out


def _json_path(path: str) -> str:
    return "$." + ".".join(path.split("/"))


class _Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, path: str, code: str, zh: str, en: str) -> None:
        self.items.append(FieldError(path=_json_path(path), code=code, message_zh=zh, message_en=en))


def _match_box(label: str, boxes: dict[str, str]) -> str | None:
    label = n.nfkc(label)
    for key in sorted(boxes, key=len, reverse=True):
        k = n.nfkc(key)
        if label.startswith(k) or k.startswith(label):
            return boxes[key]
    return None


def split_labels(text: str, boxes: dict[str, str]) -> list[str]:
    """Labels written in one cell.

    With tick marks, each mark starts an item ("☑A、□B、☑C"). Without, items are separated by line
    breaks, ；or 、; a piece that names no box continues the one before it, since some labels hold a
    、 themselves (上一年度绿电、绿证采买超过100兆瓦时).
    """
    text = n.nfkc(text)
    if _TICK_SPLIT.search(text):
        return [f"{mark}{label.strip(' 、,，;；')}" for mark, label in _TICK_SPLIT.findall(text)]
    out: list[str] = []
    for piece in (p.strip() for p in re.split(r"[\n;；、,，]+", text)):
        if not piece:
            continue
        if _match_box(piece, boxes) is None and out:
            out[-1] += "、" + piece
        else:
            out.append(piece)
    return out


def _choice(value: Any, spec: dict[str, Any]) -> str:
    choices: dict[str, str] = spec["choices"]
    text = n.nfkc(value)
    if spec.get("ticked"):
        ticked = [label.strip() for mark, label in _TICK_SPLIT.findall(text) if n.tick(mark)]
        found = {choices[k] for label in ticked for k in choices if n.nfkc(k) in label}
        if len(found) > 1:
            raise n.NormaliseError("choice_ambiguous", f"“{value}”勾选了多项", f"{value!r} ticks more than one option")
        return found.pop() if found else str(spec.get("none", "none"))
    for key in sorted(choices, key=len, reverse=True):
        if n.nfkc(key) in text:
            return choices[key]
    raise n.NormaliseError(
        "choice_unknown", f"“{value}”不是可选项之一：{'、'.join(choices)}", f"{value!r} is not one of {list(choices)}"
    )


def _read(kind: str, value: Any, spec: dict[str, Any]) -> Any:
    if kind == "number":
        return n.number(value)
    if kind == "count":
        return n.number(n.nfkc(value).rstrip("次个项张家种") if isinstance(value, str) else value)
    if kind == "share":
        v = n.share(value)
        if v > 1 and not spec.get("above_one"):
            raise n.NormaliseError(
                "share_too_large", f"比例“{value}”不能超过100%", f"share {value!r} cannot exceed 100 %"
            )
        return v
    if kind == "amount":
        return n.amount(value, spec["unit"])
    if kind == "tick":
        return n.tick(value)
    if kind == "level":
        return n.number(n.nfkc(value).removesuffix("级")) if isinstance(value, str) else n.number(value)
    if kind == "industry":
        return n.industry_code(value)
    if kind == "choice":
        return _choice(value, spec)
    if kind == "photo_count":
        text = n.nfkc(value)
        m = _FIRST_INT.search(text)
        if m:
            return int(m.group(1))
        if not text or n.tick(text) is False:
            return 0
        raise n.NormaliseError("not_a_count", f"“{value}”应写明照片张数", f"{value!r} should give the number of photos")
    if kind == "described":
        text = n.nfkc(value)
        return bool(text) and text not in ("无", "否", "没有", "未提供")
    if kind == "text":
        return n.nfkc(value)
    if kind == "date":
        return n.day(value).isoformat()
    if kind == "uscc":
        code = check_uscc(str(value))
        if code is None:
            raise n.NormaliseError(
                "uscc_invalid", "统一社会信用代码无效（GB 32100）", "not a valid unified social credit code"
            )
        return code
    raise ValueError(f"form spec: unknown field type {kind}")


def _checklist(value: Any, spec: dict[str, Any], listed: bool) -> list[str]:
    items = value if isinstance(value, list) else [value]
    labels = [n.nfkc(i) for i in items] if listed and not any(_TICK_SPLIT.match(n.nfkc(i)) for i in items) else None
    if labels is None:
        labels = n.ticked_labels(items)
    out = []
    for label in labels:
        box = _match_box(label, spec["boxes"])
        if box is None:
            raise n.NormaliseError(
                "box_unknown",
                f"“{label}”不是本项的勾选项",
                f"{label!r} is not one of this item's boxes ({list(spec['boxes'])})",
            )
        if box not in out:
            out.append(box)
    return out


def _header(spec: FormSpec, flat: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    out: dict[str, Any] = {}
    used: set[str] = set()
    for name, labels in spec.header.items():
        label = next((lb for lb in labels if n.nfkc(lb) in flat), None)
        if label is None:
            continue
        used.add(n.nfkc(label))
        out[name] = flat[n.nfkc(label)]
    return out, used


def read_form(spec: FormSpec, form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[FieldError]]:
    """(declaration body, raw values by input, every error) for a form as typed."""
    flat = flatten(form)
    errors = _Errors()
    header, used = _header(spec, flat)
    body: dict[str, Any] = {"scheme": spec.scheme.value}
    for name in ("enterprise_name", "uscc", "district"):
        if name not in header:
            errors.add(
                spec.header[name][0], "missing", f"缺少“{spec.header[name][0]}”", f"missing {spec.header[name][0]}"
            )
    body["enterprise_name"] = n.nfkc(header.get("enterprise_name", ""))
    body["uscc"] = n.nfkc(header.get("uscc", ""))
    body["district"] = n.nfkc(header.get("district", ""))
    try:
        if "declared_on" in header:
            body["declared_on"] = n.day(header["declared_on"]).isoformat()
        elif "year" in header:
            # An annual grading is as of the end of its evaluation year.
            body["declared_on"] = date(int(n.number(header["year"])), 12, 31).isoformat()
        else:
            # A form without a declaration date is declared the day it is submitted.
            body["declared_on"] = date.today().isoformat()
    except (n.NormaliseError, ValueError) as exc:
        label = spec.header["declared_on"][0] if "declared_on" in header else spec.header.get("year", ["评价年度"])[0]
        errors.add(label, getattr(exc, "code", "not_a_date"), getattr(exc, "message_zh", "日期无效"), str(exc))
    data: dict[str, Any] = {k: n.nfkc(v) for k, v in header.items() if k in ("contact", "address")}
    raw: dict[str, Any] = {}
    for path, fspec in spec.fields.items():
        if path not in flat:
            continue
        used.add(path)
        value = flat[path]
        kind = fspec["type"]
        try:
            if kind in ("checklist", "listed"):
                data[fspec["input"]] = _checklist(value, fspec, listed=kind == "listed")
            elif kind == "base_final":
                if not isinstance(value, dict) or len(value) != 2:
                    raise n.NormaliseError(
                        "base_final",
                        "应填写基准年和第三年两个年份的数值",
                        "give the base year's and the third year's values",
                    )
                (y0, v0), (y1, v1) = sorted((int(n.number(n.nfkc(k).removesuffix("年"))), v) for k, v in value.items())
                if y1 - y0 != 3:
                    raise n.NormaliseError(
                        "base_final_span",
                        f"两个年份应相隔三年，而不是 {y1 - y0} 年",
                        f"the years should be 3 apart, not {y1 - y0}",
                    )
                data[fspec["inputs"][0]] = n.amount(v0, fspec["unit"])
                data[fspec["inputs"][1]] = n.amount(v1, fspec["unit"])
            elif kind == "none_or_events":
                if n.tick(value):
                    raise n.NormaliseError(
                        "event_needs_dates",
                        "请在 events 中填写该情形的起止日期",
                        "give this event with its dates in `events`",
                    )
            else:
                data[fspec["input"]] = _read(kind, value, fspec)
            if "input" in fspec:
                raw[fspec["input"]] = value
        except n.NormaliseError as exc:
            errors.add(path, exc.code, exc.message_zh, exc.message_en)
    for path, value in flat.items():
        top = path.split("/")[0]
        if (
            path in used
            or any(p.startswith(path + "/") for p in used)
            or ("/" in path and path.rsplit("/", 1)[0] in used)
        ):
            continue
        if _IDENTIFIER.match(top) and "/" not in path:
            data[path] = value  # a rulebook input given by its own name
            continue
        if any(u.startswith(path + "/") or path.startswith(u + "/") for u in used):
            continue
        errors.add(path, "unknown_field", f"不认识的栏目“{path}”", f"unknown field {path!r}")
    body["data"] = {k: _plain(v) for k, v in data.items()}
    return body, {k: _plain(v) for k, v in raw.items()}, errors.items


def _plain(value: Any) -> Any:
    """JSON-ready: exact decimals become int or float (the scoring service reads them back as Decimal)."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
