"""Writing audit records as JSON Lines or CSV (for the HTTP export and `greenfab history`).

A record is written straight from its stored columns: the payload goes out as the text the chain sealed
(canonical JSON, `services/audit/domain/entries.canonical`), not parsed and written again. That is what
makes the export fast (no model built per record), and it lets an auditor re-hash a record from the export.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any, Literal

from contracts.audit import AuditRecord

Format = Literal["jsonl", "csv"]
CSV_COLUMNS = [name for name in AuditRecord.model_fields if name != "payload"] + ["payload"]
_FIELDS = list(AuditRecord.model_fields)
_BEFORE_PAYLOAD = _FIELDS[: _FIELDS.index("payload")]
_AFTER_PAYLOAD = _FIELDS[_FIELDS.index("payload") + 1 :]
MEDIA_TYPES: dict[str, str] = {"jsonl": "application/jsonl; charset=utf-8", "csv": "text/csv; charset=utf-8"}


def _payload(row: Any) -> str:
    """The stored payload text, as sealed; re-spelled on one line only if someone stored it over several."""
    text: str = row.payload
    if "\n" in text or "\r" in text:
        return json.dumps(json.loads(text), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text


def jsonl_line(row: Any) -> str:
    """One record (a stored row: anything with the record's fields as attributes) as a JSON line, its fields
    in AuditRecord's order."""
    head = json.dumps({k: getattr(row, k) for k in _BEFORE_PAYLOAD}, ensure_ascii=False)
    tail = json.dumps({k: getattr(row, k) for k in _AFTER_PAYLOAD}, ensure_ascii=False)
    return f'{head[:-1]}, "payload": {_payload(row)}, {tail[1:]}\n'


def lines(rows: Iterable[Any], fmt: Format, header: bool = True) -> Iterator[str]:
    """Stored rows as text lines (each ending in a newline; CSV's in one piece); CSV starts with its header
    unless told not to."""
    if fmt == "jsonl":
        for row in rows:
            yield jsonl_line(row)
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(CSV_COLUMNS)
    head = [c for c in CSV_COLUMNS if c != "payload"]
    writer.writerows([*(getattr(row, c) for c in head), _payload(row)] for row in rows)
    if buffer.getvalue():
        yield buffer.getvalue()


async def streamed(batches: AsyncIterable[list[Any]], fmt: Format) -> AsyncIterator[str]:
    """The stored rows of every batch as text, one chunk per batch (CSV: its header once, first)."""
    if fmt == "csv":
        yield "".join(lines([], "csv"))
    async for batch in batches:
        yield "".join(lines(batch, fmt, header=False))
