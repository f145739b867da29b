"""Uploaded files checked whole: workbooks (zip bombs, lying dimensions, shared strings) and evidence
(a PDF parses, an image decodes, an OOXML package is the document it claims, nothing executable)."""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import pytest
import yaml

from contracts.schemes import Scheme
from services.intake.evidence import EvidenceError, check_file, safe_name
from services.intake.forms import load_forms
from services.intake.indicators import Indicator, Indicators
from services.intake.packages import DOCX, XLSX
from services.intake.workbook import WorkbookError, read_workbook
from tests.support import hostile

GRADING = load_forms()[Scheme.GRADING]


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (hostile.dimension_bomb, "workbook_too_large"),  # used to pad out 99,999,999 empty rows for 37 s
        (hostile.inflating_bomb, "package_too_large"),
        (hostile.shared_strings_bomb, "workbook_too_large"),
        (hostile.macro_workbook, "package_executable"),
    ],
)
def test_a_hostile_workbook_is_read_or_refused_in_under_a_second(make: object, code: str | None) -> None:
    content = make()  # type: ignore[operator]
    started = time.monotonic()
    if code is None:
        assert read_workbook(GRADING, content) == {}
    else:
        with pytest.raises(WorkbookError) as caught:
            read_workbook(GRADING, content)
        assert caught.value.code == code and caught.value.message_zh and caught.value.message_en
    assert time.monotonic() - started < 1.0


def test_rows_beyond_the_limit_are_refused() -> None:
    import io

    from openpyxl import load_workbook

    from services.intake.workbook import MAX_ROWS, SHEET

    wb = load_workbook(io.BytesIO(hostile.workbook()))
    wb[SHEET].cell(row=MAX_ROWS + 2, column=1, value="x")
    wb[SHEET].cell(row=MAX_ROWS + 2, column=2, value="y")
    out = io.BytesIO()
    wb.save(out)
    with pytest.raises(WorkbookError, match=f"declares {MAX_ROWS + 2} rows"):
        read_workbook(GRADING, out.getvalue())
    # A sheet whose dimension understates what it holds is still read no further than the limit.
    understated = hostile.rezip(
        out.getvalue(), replace={"xl/worksheets/sheet1.xml": _dimension(out.getvalue(), "A1:C10")}
    )
    with pytest.raises(WorkbookError, match=f"more than {MAX_ROWS} rows"):
        read_workbook(GRADING, understated)


def _dimension(content: bytes, ref: str) -> bytes:
    import io
    import re
    import zipfile

    with zipfile.ZipFile(io.BytesIO(content)) as z:
        return re.sub(
            rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), z.read("xl/worksheets/sheet1.xml")
        )


@pytest.mark.parametrize(
    ("content_type", "make"),
    [("application/pdf", hostile.pdf), ("image/png", hostile.png), ("image/jpeg", hostile.jpeg),
     (DOCX, hostile.docx), (XLSX, hostile.workbook)],
)  # fmt: skip
def test_whole_files_of_each_type_are_accepted(content_type: str, make: object) -> None:
    check_file(content_type, make())  # type: ignore[operator]


@pytest.mark.parametrize(
    ("content_type", "content", "code"),
    [
        ("application/pdf", hostile.PDF_THEN_HTML, "file_invalid"),
        ("application/pdf", hostile.pdf_with_javascript(), "file_executable"),
        ("image/png", hostile.PNG_THEN_PHP, "file_invalid"),
        ("image/png", hostile.png() + b"<?php system($_GET['c']); ?>", "file_invalid"),
        ("image/jpeg", hostile.png(), "file_type_mismatch"),
        ("image/png", hostile.png()[:-20], "file_invalid"),
        (DOCX, hostile.exe_in_zip(), "package_executable"),
        (DOCX, hostile.workbook(), "package_wrong_type"),
        (XLSX, hostile.macro_workbook(), "package_executable"),
        (XLSX, hostile.inflating_bomb(250), "package_too_large"),
        ("text/html", b"<html>", "file_type_unsupported"),
    ],
)
def test_files_that_are_not_wholly_what_they_claim_are_refused(content_type: str, content: bytes, code: str) -> None:
    with pytest.raises(EvidenceError) as caught:
        check_file(content_type, content)
    assert caught.value.code == code and caught.value.message_zh and caught.value.message_en


@pytest.mark.parametrize(
    ("name", "content_type", "kept"),
    [("../../shell.php", "image/png", "shell.png"), ("..\\..\\证书.PDF", "application/pdf", "证书.pdf"),
     ("report\x00.docx", DOCX, "report.docx"), ("...", XLSX, "upload.xlsx"),
     ("a/b/能耗台账.xlsx", XLSX, "能耗台账.xlsx")],
)  # fmt: skip
def test_only_a_safe_base_name_with_the_types_extension_is_kept(name: str, content_type: str, kept: str) -> None:
    assert safe_name(name, content_type) == kept


def _laughs(sheet: bytes) -> bytes:
    """A billion laughs: entities eight deep (10⁸ laughs) in a DOCTYPE, one of them used in a cell of the second row."""
    entities = b"".join(b'<!ENTITY e%d "%s">' % (n, b"&e%d;" % (n - 1) * 10) for n in range(1, 9))
    doctype = b'<!DOCTYPE worksheet [<!ENTITY e0 "laugh">' + entities + b"]>"
    cell = b'<row r="2"><c r="A2" t="inlineStr"><is><t>&e8;</t></is></c></row>'
    return doctype + sheet.replace(b"</row>", b"</row>" + cell, 1)


def _sheet(content: bytes) -> bytes:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(content)) as package:
        return package.read("xl/worksheets/sheet1.xml")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda sheet: sheet[: len(sheet) // 2], id="sheet cut in half"),
        pytest.param(lambda sheet: _laughs(sheet), id="entities in a DOCTYPE, used in a row"),
    ],
)
def test_a_sheet_its_parser_refuses_part_way_is_refused_as_the_users_file(damage: object) -> None:
    # load_workbook accepts the package; rows are parsed lazily, so the damage is met while reading them.
    content = hostile.workbook()
    damaged = hostile.rezip(content, replace={"xl/worksheets/sheet1.xml": damage(_sheet(content))})  # type: ignore[operator]
    with pytest.raises(WorkbookError) as caught:
        read_workbook(GRADING, damaged)
    assert caught.value.code == "workbook_invalid"
    assert "工作表" in caught.value.message_zh and "sheet" in caught.value.message_en


def _edition(name: str, start: str, *items: tuple[str, str]) -> dict[str, object]:
    return {"edition": name, "effective_from": start, "items": [{"id": i, "name_zh": n} for i, n in items]}


def test_evidence_indicators_are_the_forms_list_else_the_rulebook_edition_in_force(tmp_path: Path) -> None:
    """Which indicators a file may be filed under (services/intake/indicators.py), read from rule data."""
    book = tmp_path / "green-factory" / "rulebook.yaml"
    book.parent.mkdir()
    editions = [
        _edition("old", "2019-01-01", ("GF-1-1", "旧一"), ("GF-1-2", "旧二")),
        _edition("new", "2025-12-31", ("GF-1-1", "新一"), ("GF-7-1", "新七")),
    ]
    book.write_text(yaml.safe_dump({"scheme": "green-factory", "editions": editions}, allow_unicode=True), "utf-8")
    indicators = Indicators(tmp_path)

    def ids(on: date) -> list[str]:
        return [i.id for i in indicators.uploadable(Scheme.GREEN_FACTORY, on, {})]

    assert ids(date(2025, 12, 30)) == ["GF-1-1", "GF-1-2"], "the edition in force on the declaration's date"
    assert ids(date(2025, 12, 31)) == ["GF-1-1", "GF-7-1"], "from its effective_from, the newer edition"
    assert ids(date(2018, 6, 1)) == ["GF-1-1", "GF-1-2"], "before any edition: the first"
    # A form with an evidence list decides; its indicators are named from the rulebook where it has them.
    asked = {"GF-7-1": {"required": True, "what": "证明"}, "GF-8-1": {"required": False, "what": "无需提供"}}
    assert indicators.uploadable(Scheme.GREEN_FACTORY, date(2026, 1, 5), asked) == (
        Indicator("GF-7-1", "新七"),
        Indicator("GF-8-1", "无需提供"),
    )
    # An edition published later (the file changes) counts without a restart.
    book.write_text(book.read_text("utf-8").replace("新七", "新七改"), "utf-8")
    later = time.time_ns() + 10**9
    os.utime(book, ns=(later, later))
    assert Indicator("GF-7-1", "新七改") in indicators.uploadable(Scheme.GREEN_FACTORY, date(2026, 1, 5), {})
    assert indicators.uploadable(Scheme.GRADING, date(2026, 1, 5), {}) == (), "no rulebook, no indicator"


def test_the_shipped_rulebooks_offer_their_own_items() -> None:
    shipped = Indicators()
    green = {i.id: i.name_zh for i in shipped.of_rulebook(Scheme.GREEN_FACTORY, date(2025, 10, 8))}
    assert green["GF-1-1"].startswith("新改扩建") and "GR-1" not in green and len(green) == 94
    assert [i.id for i in shipped.of_rulebook(Scheme.GRADING, date(2025, 10, 8))][:3] == ["GR-1", "GR-2", "GR-3"]
