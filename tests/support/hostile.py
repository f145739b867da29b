"""Hostile files as an attacker would send them: zip bombs, lying workbooks, polyglots, disguised executables."""

from __future__ import annotations

import io
import re
import zipfile

from PIL import Image

from contracts.schemes import Scheme
from services.intake.forms import load_forms
from services.intake.workbook import template


def rezip(original: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    """``original`` with some members' bytes replaced and others added, deflated."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, (replace or {}).get(info.filename, src.read(info)))
        for name, data in (add or {}).items():
            dst.writestr(name, data)
    return out.getvalue()


def workbook() -> bytes:
    """The grading form's template, as `greenfab template grading` writes it."""
    return template(load_forms()[Scheme.GRADING])


def _sheet_name(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        return next(n for n in z.namelist() if n.startswith("xl/worksheets/sheet"))


def dimension_bomb(rows: int = 99_999_999) -> bytes:
    """A small workbook whose sheet claims to span A1:C<rows> (read-only openpyxl pads every row)."""
    original = workbook()
    name = _sheet_name(original)
    with zipfile.ZipFile(io.BytesIO(original)) as z:
        sheet = z.read(name)
    sheet = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="A1:C{rows}"'.encode(), sheet)
    if b"<dimension" not in sheet:
        sheet = sheet.replace(b"<sheetViews>", f'<dimension ref="A1:C{rows}"/><sheetViews>'.encode(), 1)
    return rezip(original, replace={name: sheet})


def inflating_bomb(megabytes: int = 200) -> bytes:
    """A workbook with a member that inflates to ``megabytes`` MB of zeros (a few hundred KB on the wire)."""
    return rezip(workbook(), add={"xl/media/padding.bin": b"\0" * (megabytes * 1_000_000)})


def shared_strings_bomb(count: int = 100_000) -> bytes:
    """A workbook whose shared-string table holds ``count`` strings."""
    strings = b"".join(b"<si><t>x</t></si>" for _ in range(count))
    table = (
        b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + strings
        + b"</sst>"
    )
    return rezip(
        workbook(),
        replace={"xl/sharedStrings.xml": table},
        add={} if _has_strings() else {"xl/sharedStrings.xml": table},
    )


def _has_strings() -> bool:
    with zipfile.ZipFile(io.BytesIO(workbook())) as z:
        return "xl/sharedStrings.xml" in z.namelist()


def macro_workbook() -> bytes:
    """The template relabelled as macro-enabled (.xlsm) with a VBA project inside."""
    original = workbook()
    with zipfile.ZipFile(io.BytesIO(original)) as z:
        types = z.read("[Content_Types].xml")
    types = types.replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    return rezip(original, replace={"[Content_Types].xml": types}, add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0"})


def exe_in_zip() -> bytes:
    """A zip holding setup.exe, sent as a Word document."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("setup.exe", b"MZ\x90\x00" + b"\0" * 200)
    return out.getvalue()


def docx() -> bytes:
    """A minimal but whole Word document (what Word itself needs to open one)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
            "</Types>",
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="word/document.xml" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
            "</Relationships>",
        )
        z.writestr(
            "word/document.xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            "<w:body><w:p><w:r><w:t>节能诊断报告</w:t></w:r></w:p></w:body></w:document>",
        )
    return out.getvalue()


def png(size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (0, 128, 0)).save(out, "PNG")
    return out.getvalue()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 128, 0)).save(out, "JPEG")
    return out.getvalue()


def pdf() -> bytes:
    """A one-page PDF, written by pypdf."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_with_javascript() -> bytes:
    from pypdf import PdfWriter
    from pypdf.actions import JavaScript

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_open_action(JavaScript("app.alert('hi');"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


PDF_THEN_HTML = b"%PDF-1.7\n<html><body><script>alert(document.cookie)</script></body></html>\n"
PNG_THEN_PHP = b"\x89PNG\r\n\x1a\n<?php system($_GET['c']); ?>"
