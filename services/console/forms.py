"""A declaration form drawn from intake's form definition, and what a person typed turned back into it.

Values go to intake exactly as typed (intake normalises spellings and reports every problem by
JSON path); this module only nests them the way the paper form does, and places each problem
beside the field it names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from contracts.forms import FormDefinition, FormField
from contracts.http import FieldError

TICK = "☑"
_YEAR_VALUE = re.compile(r"(\d{4})\s*年?\s*[:：]\s*([^;；]+)")

SCHEMES = {
    "green-factory": "北京市绿色工厂",
    "beautiful-factory": "北京市美丽工厂案例",
    "grading": "工厂绿色分级评价",
}


@dataclass
class Section:
    """Consecutive fields under the same headings."""

    title: str
    fields: list[FormField] = field(default_factory=list)


def sections(definition: FormDefinition) -> list[Section]:
    """Fields grouped under their headings, in the form's order."""
    out: list[Section] = []
    for f in definition.fields:
        title = " · ".join(f.sections) if f.sections else ("基本信息" if f.type == "header" else "其他")
        if not out or out[-1].title != title:
            out.append(Section(title))
        out[-1].fields.append(f)
    return out


def field_id(f: FormField) -> str:
    """A stable HTML id for a field (paths hold Chinese, spaces and slashes)."""
    return "f-" + format(abs(hash_path(f.path)), "x")


def hash_path(path: str) -> int:
    # FNV-1a: stable across processes, unlike hash().
    h = 0xCBF29CE484222325
    for byte in path.encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def _value(f: FormField, posted: Mapping[str, Any]) -> Any:
    raw = posted.get(f.path)
    if f.type in ("checklist", "listed"):
        chosen = [str(v) for v in (raw if isinstance(raw, list) else [raw] if raw else [])]
        if not chosen:
            return None
        return [TICK + c for c in chosen] if f.type == "checklist" else chosen
    text = str(raw).strip() if raw is not None else ""
    if not text:
        return None
    if f.type == "choice" and f.ticked:
        return TICK + text
    if f.type == "base_final":
        pairs = _YEAR_VALUE.findall(text)
        return {f"{year}年": amount.strip() for year, amount in pairs} if pairs else text
    return text


def assemble(definition: FormDefinition, posted: Mapping[str, Any]) -> dict[str, Any]:
    """The nested form intake takes, from the fields a person filled in (empty ones are left out)."""
    form: dict[str, Any] = {}
    for f in definition.fields:
        value = _value(f, posted)
        if value is None:
            continue
        node = form
        for part in f.sections:
            child = node.setdefault(part, {})
            node = child if isinstance(child, dict) else node
        node[f.label] = value
    return form


def errors_by_field(definition: FormDefinition, errors: Sequence[FieldError]) -> tuple[dict[str, list[str]], list[str]]:
    """Each intake problem beside the field its JSON path names; the rest for the top of the form."""
    by_json_path = {"$." + ".".join([*f.sections, f.label]): f.path for f in definition.fields}
    for f in definition.fields:
        for name in f.inputs:
            # Header fields are checked as the declaration's own fields, the rest as its data.
            by_json_path.setdefault(f"$.{name}" if f.type == "header" else f"$.data.{name}", f.path)
    placed: dict[str, list[str]] = {}
    general: list[str] = []
    for e in errors:
        path = by_json_path.get(e.path)
        if path is None:
            # A problem inside a field (e.g. one box of a checklist) belongs to the field above it.
            path = next((p for jp, p in by_json_path.items() if e.path.startswith(jp + ".")), None)
        if path is None:
            general.append(e.message_zh)
        else:
            placed.setdefault(path, []).append(e.message_zh)
    return placed, general


def form_values(posted: Mapping[str, Any]) -> dict[str, Any]:
    """What the person typed, to draw the form again with it kept."""
    return dict(posted)
