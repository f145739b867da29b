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


def test_the_green_factory_form_covers_every_input_of_its_rulebook() -> None:
    """Typed as an enterprise would (符合/不符合, amounts with units), the form gives the example's inputs."""
    from services.scoring.domain.rulebook import RuleLibrary

    example = json.loads(
        (Path(__file__).resolve().parents[2] / "examples" / "green-factory-declaration.json").read_text()
    )
    spec = FORMS[Scheme.GREEN_FACTORY]
    form: dict[str, Any] = {
        "申报单位": example["enterprise_name"],
        "统一社会信用代码": example["uscc"],
        "所在区": "顺义",
    }
    for path, field in spec.fields.items():
        value = example["data"].get(field.get("input", ""))
        if value is None:
            continue
        if isinstance(value, bool):
            typed: Any = "符合" if value else "不符合"
        elif field["type"] == "amount":
            typed = f"{value:,}{field['unit']}"
        elif field["type"] == "share":
            typed = f"{value * 100:g}%"
        else:
            typed = str(value)
        node = form
        *parents, leaf = path.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = typed
    body, _, errors = read_form(spec, form)
    assert errors == []
    rulebook_inputs = set()
    edition = RuleLibrary.load(Path(__file__).resolve().parents[2] / "rules").rulebook(Scheme.GREEN_FACTORY).editions[0]
    for item in edition.items:
        rulebook_inputs |= set(item.inputs) | set(item.optional) | ({item.applies_if} if item.applies_if else set())
        from services.scoring.domain.expressions import parse

        for expr in item.derive.values():
            rulebook_inputs |= {n for n in parse(expr).names if n not in item.derive}
    mapped = {f["input"] for f in spec.fields.values() if "input" in f}
    assert rulebook_inputs <= mapped, sorted(rulebook_inputs - mapped)
    for name in rulebook_inputs & set(example["data"]):
        assert body["data"][name] == pytest.approx(example["data"][name]), name
