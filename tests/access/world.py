"""Two enterprises' worth of records on a real `greenfab up`, for the access matrix to aim at.

Enterprise A (大兴区) and enterprise B (海淀区) each declare a green factory inside an open call, so
each has a declaration, a unit with its district's recommend task, an evidence file, a notice, a
delivery and an audit history. A caller scoped to A meets A's records as its own and B's as another's.
"""

from __future__ import annotations

import functools
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
from openpyxl import load_workbook

from contracts.schemes import Scheme
from tests.conftest import uscc
from tests.e2e.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


@dataclass
class Subject:
    """One enterprise and everything the stack holds about it."""

    uscc: str
    district: str
    enterprise_name: str
    declaration_id: str = ""
    submission_id: str = ""  # scoring's name for the declaration it scored (the same id)
    workflow_id: str = ""
    task_id: str = ""
    notice_id: str = ""
    delivery_id: str = ""
    item: str = "GF-1-1"  # an item of the green-factory rulebook: evidence goes only to those
    sha256: str = ""

    def identifiers(self) -> list[str]:
        """Values that only this subject's records contain: another caller's answers must hold none of them."""
        return [self.uscc, self.enterprise_name, self.declaration_id, self.notice_id]


@dataclass
class World:
    own: Subject
    other: Subject
    auto_listed: str  # a USCC nothing else uses, for the bureau's auto-listing


def minimal_pdf(marker: str) -> bytes:
    """A well-formed one-page PDF (header, objects, cross-reference table, trailer), its bytes unique to ``marker``."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%%PDF-1.4\n%% %s\n" % marker.encode())
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def grading_declaration(s: Subject) -> dict[str, Any]:
    example = json.loads((ROOT / "examples" / "grading-declaration.json").read_text())
    return {**example, "uscc": s.uscc, "enterprise_name": s.enterprise_name, "district": s.district}


def grading_form(s: Subject) -> dict[str, Any]:
    form = json.loads((ROOT / "examples" / "forms" / "grading-2025.json").read_text())
    return {**form, "工厂名称": s.enterprise_name, "统一社会信用代码": s.uscc, "所在区": s.district}


def grading_workbook(s: Subject) -> bytes:
    """The grading template filled in as an enterprise would (every row the form sample has)."""
    return _workbook(s.uscc, s.district, s.enterprise_name)


@functools.cache
def _workbook(code: str, district: str, name: str) -> bytes:
    from services.intake.forms import flatten, load_forms
    from services.intake.workbook import SHEET, template

    spec = load_forms()[Scheme.GRADING]
    wb = load_workbook(io.BytesIO(template(spec)))
    flat = flatten(grading_form(Subject(code, district, name)))
    for row in wb[SHEET].iter_rows(min_row=2):
        value = flat.get(str(row[0].value))
        if isinstance(value, list):
            value = "、".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = "; ".join(f"{k}: {v}" for k, v in value.items())
        if value is not None:
            row[1].value = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def until(check: Callable[[], T | None], what: str, timeout: float = 90) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"never: {what}")


def ok(r: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert r.status_code in (statuses or (200,)), f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return dict(r.json())


def build(stack: Stack) -> World:
    """Declare, upload, notify and wait until every service holds both subjects' records."""
    a = Subject(uscc(7101), "大兴区", "北京矩阵甲测试有限公司")
    b = Subject(uscc(7102), "海淀区", "北京矩阵乙测试有限公司")
    with stack.client("workflow", "bureau", None) as bureau:
        call = {"scheme": "green-factory", "title": "矩阵测试征集", "opens_on": "2025-01-01", "closes_on": "2030-12-31"}
        ok(bureau.post("/v1/calls", json=call), 201)
    example = json.loads((ROOT / "examples" / "green-factory-declaration.json").read_text())
    for s in (a, b):
        s.workflow_id = f"unit-{s.uscc}-municipal-green-factory"
        with stack.client("intake", "enterprise", s.uscc) as enterprise:
            body = {**example, "uscc": s.uscc, "enterprise_name": s.enterprise_name, "district": s.district}
            s.declaration_id = s.submission_id = ok(enterprise.post("/v1/declarations", json=body), 202)["id"]
    for s in (a, b):
        with stack.client("workflow", "district", s.district) as district:

            def recommend_task(s: Subject = s, district: httpx.Client = district) -> str | None:
                tasks = district.get("/v1/tasks").json()["items"]
                return next((t["task_id"] for t in tasks if t["workflow_id"] == s.workflow_id), None)

            s.task_id = until(recommend_task, f"{s.district}'s recommend task for {s.uscc}")
        # Only once the unit exists: a notice first would make the unit itself (a defect of its own).
        with stack.client("intake", "enterprise", s.uscc) as enterprise:
            pdf = {"content-type": "application/pdf"}
            r = enterprise.post(f"/v1/declarations/{s.declaration_id}/evidence/{s.item}?filename=a.pdf",
                                content=minimal_pdf(s.uscc), headers=pdf)  # fmt: skip
            s.sha256 = ok(r, 201)["sha256"]
        # A rename needs a title (003 第十四条); the unit's own district may report on it at any time.
        with stack.client("intake", "district", s.district) as district:
            report = {"kind": "district_report", "uscc": s.uscc, "finding": "abnormal_operation",
                      "observed_on": (date.today() - timedelta(days=3)).isoformat(), "details": "矩阵测试"}  # fmt: skip
            s.notice_id = ok(district.post("/v1/notices", json=report), 202)["id"]
    with stack.client("notify", "bureau", None) as log, stack.client("audit", "auditor", None) as audit:
        for s in (a, b):

            def delivery(s: Subject = s) -> str | None:
                rows = log.get("/v1/deliveries", params={"recipient": s.uscc}).json()["items"]
                return str(rows[0]["id"]) if rows else None

            def history(s: Subject = s) -> bool:
                return audit.get(f"/v1/units/{s.uscc}/history").status_code == 200

            s.delivery_id = until(delivery, f"a delivery to {s.uscc}")
            until(history, f"{s.uscc}'s audit history")
    return World(own=a, other=b, auto_listed=uscc(7103))
