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
from contracts.schemes import Scheme
from services.intake import normalise as n

FORMS_DIR = Path(__file__).resolve().parent / "forms"
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
                data[fspec["input"]] = n.checklist(value, fspec, listed=kind == "listed")
            elif kind == "base_final":
                base, final = n.base_final(value, fspec["unit"])
                data[fspec["inputs"][0]], data[fspec["inputs"][1]] = base, final
            elif kind == "none_or_events":
                if n.tick(value):
                    raise n.NormaliseError(
                        "event_needs_dates",
                        "请在 events 中填写该情形的起止日期",
                        "give this event with its dates in `events`",
                    )
            else:
                data[fspec["input"]] = n.read_value(kind, value, fspec)
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
