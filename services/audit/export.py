"""Writing audit records as JSON Lines or CSV (for the HTTP export and `greenfab history`)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Literal

from contracts.audit import AuditRecord

Format = Literal["jsonl", "csv"]
CSV_COLUMNS = [name for name in AuditRecord.model_fields if name != "payload"] + ["payload"]
MEDIA_TYPES: dict[str, str] = {"jsonl": "application/jsonl; charset=utf-8", "csv": "text/csv; charset=utf-8"}


def lines(records: Iterable[AuditRecord], fmt: Format, header: bool = True) -> Iterator[str]:
    """The records as text lines (each ending in a newline); CSV starts with its header unless told not to."""
    if fmt == "jsonl":
        for r in records:
            yield json.dumps(r.model_dump(), ensure_ascii=False) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(CSV_COLUMNS)
    for r in records:
        data = r.model_dump()
        data["payload"] = json.dumps(data["payload"], ensure_ascii=False, sort_keys=True)
        writer.writerow([data[c] for c in CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


async def streamed(batches: AsyncIterable[list[AuditRecord]], fmt: Format) -> AsyncIterator[str]:
    """The records of every batch as text, one chunk per batch (CSV: its header once, first)."""
    if fmt == "csv":
        yield "".join(lines([], "csv"))
    async for batch in batches:
        yield "".join(lines(batch, fmt, header=False))
