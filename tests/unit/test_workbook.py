"""The spreadsheet front end: template → filled as the samples were typed → the same declaration as the JSON form."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from contracts.schemes import Scheme
from services.intake.forms import flatten, load_forms, read_form
from services.intake.workbook import SHEET, WorkbookError, read_workbook, template

# The samples of shared/samples (declarations as enterprises typed them), kept in the repository as JSON.
SAMPLES = Path(__file__).resolve().parents[2] / "examples" / "forms"
FORMS = load_forms()
CASES = [("grading-2025.json", Scheme.GRADING), ("beautiful-factory-2025.json", Scheme.BEAUTIFUL_FACTORY),
         ("green-factory-2025.json", Scheme.GREEN_FACTORY)]  # fmt: skip


def fill(scheme: Scheme, form: dict[str, Any]) -> bytes:
    """A person filling the template: each row's value as the sample typed it (lists and years written out)."""
    wb = load_workbook(io.BytesIO(template(FORMS[scheme])))
    ws = wb[SHEET]
    flat = flatten(form)
    for row in ws.iter_rows(min_row=2):
        value = flat.get(str(row[0].value))
        if value is None:
            continue
        if isinstance(value, list):
            value = "、".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = "; ".join(f"{k}: {v}" for k, v in value.items())
        row[1].value = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_every_form_field_has_a_row_with_help() -> None:
    for scheme, spec in FORMS.items():
        ws = load_workbook(io.BytesIO(template(spec)))[SHEET]
        rows = {str(r[0].value): r[2].value for r in ws.iter_rows(min_row=2)}
        assert set(spec.fields) <= set(rows), scheme
        assert all(rows[path] for path in spec.fields), f"{scheme}: a row without help"


@pytest.mark.parametrize(("sample", "scheme"), CASES)
def test_the_workbook_gives_exactly_the_declaration_the_json_would(sample: str, scheme: Scheme) -> None:
    form = json.loads((SAMPLES / sample).read_text(encoding="utf-8"))
    from_json = read_form(FORMS[scheme], form)
    from_xlsx = read_form(FORMS[scheme], read_workbook(FORMS[scheme], fill(scheme, form)))
    assert from_json[2] == [] and from_xlsx[2] == []
    assert from_xlsx[0] == from_json[0]


def test_a_file_that_is_not_a_workbook_is_refused() -> None:
    with pytest.raises(WorkbookError, match=r"not an \.xlsx"):
        read_workbook(FORMS[Scheme.GRADING], b"%PDF-1.7 ...")
    with pytest.raises(WorkbookError):
        read_workbook(FORMS[Scheme.GRADING], b"PK\x03\x04 broken zip")


def typed_as_an_enterprise_would(value: Any, field: dict[str, Any]) -> Any:
    """The example's clean value written back as a person fills the form (符合/不符合, units, labels)."""
    kind = field["type"]
    if kind == "base_final":
        return value
    if kind in ("checklist", "listed"):
        label = {box: text for text, box in field["boxes"].items()}
        return [f"☑{label[box]}" for box in value]
    if kind == "choice":
        return next(text for text, key in field["choices"].items() if key == value)
    if isinstance(value, bool):
        return "符合" if value else "不符合"
    if kind == "amount":
        return f"{value:,}{field['unit']}"
    if kind == "share":
        return f"{value * 100:g}%"
    return str(value)


@pytest.mark.parametrize("scheme", list(Scheme))
def test_each_form_covers_every_input_of_its_rulebook(scheme: Scheme) -> None:
    """Typed as an enterprise would, each scheme's form gives its example's inputs, and every input its rulebook
    reads has a field."""
    from services.scoring.domain.expressions import parse
    from services.scoring.domain.rulebook import RuleLibrary

    root = Path(__file__).resolve().parents[2]
    example = json.loads((root / "examples" / f"{scheme.value}-declaration.json").read_text())
    spec = FORMS[scheme]
    form: dict[str, Any] = {spec.header[name][0]: example[name] for name in ("enterprise_name", "uscc", "district")}
    for path, field in spec.fields.items():
        if field["type"] == "base_final":
            base, final = (example["data"].get(name) for name in field["inputs"])
            value = None if base is None else {"2022年": f"{base}{field['unit']}", "2025年": f"{final}{field['unit']}"}
        else:
            value = example["data"].get(field.get("input", ""))
        if value is None:
            continue
        node = form
        *parents, leaf = path.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = typed_as_an_enterprise_would(value, field)
    body, _, errors = read_form(spec, form)
    assert errors == []
    rulebook_inputs: set[str] = set()
    edition = RuleLibrary.load(root / "rules").rulebook(scheme).editions[0]
    for item in edition.items:
        rulebook_inputs |= set(item.inputs) | set(item.optional) | ({item.applies_if} if item.applies_if else set())
        for expr in item.derive.values():
            rulebook_inputs |= {n for n in parse(expr).names if n not in item.derive}
    mapped = {f["input"] for f in spec.fields.values() if "input" in f}
    mapped |= {name for f in spec.fields.values() for name in f.get("inputs", [])}
    assert rulebook_inputs <= mapped, sorted(rulebook_inputs - mapped)
    for name in rulebook_inputs & set(example["data"]):
        assert body["data"][name] == pytest.approx(example["data"][name]), name
