"""The audit export's line writer: stored columns out as JSON Lines and CSV, the payload as sealed."""

from __future__ import annotations

import csv
import io
import json
from types import SimpleNamespace
from typing import Any

import pytest

from contracts.audit import AuditRecord
from services.audit import export


def stored(payload: str, **overrides: Any) -> SimpleNamespace:
    fields: dict[str, Any] = {name: "" for name in AuditRecord.model_fields}
    fields.update(seq=7, kind="unit.changed", summary_zh='状态变更：已分级, "引号"', payload=payload, **overrides)
    return SimpleNamespace(**fields)


def test_a_json_line_is_the_record_with_the_payload_as_sealed() -> None:
    row = stored('{"a":1,"名":"值"}')
    (line,) = export.lines([row], "jsonl")
    assert line.endswith("\n") and line.count("\n") == 1
    assert list(json.loads(line)) == list(AuditRecord.model_fields)
    assert AuditRecord.model_validate_json(line).payload == {"a": 1, "名": "值"}
    assert '"payload": {"a":1,"名":"值"}' in line


def test_a_payload_stored_over_several_lines_still_makes_one_line() -> None:
    row = stored('{\n  "b": 2,\n  "a": 1\n}')
    (line,) = export.lines([row], "jsonl")
    assert line.count("\n") == 1 and json.loads(line)["payload"] == {"a": 1, "b": 2}
    (record,) = csv.DictReader(io.StringIO("".join(export.lines([row], "csv"))))
    assert record["payload"] == '{"a":1,"b":2}'


def test_a_payload_that_is_not_json_is_refused_not_written() -> None:
    with pytest.raises(json.JSONDecodeError):
        list(export.lines([stored("{\n broken")], "jsonl"))
