"""Evidence files: content-addressed storage (sha256) and what each indicator still needs.

Bytes are written once under evidence/<aa>/<sha256>, atomically, whoever uploads them; the database
links them to (declaration, indicator). The 2025 form's 证明材料 column (forms/*.yaml `evidence`)
decides whether a missing file is an error (required) or a warning (无需提供).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Accepted types, each checked against the file's first bytes rather than trusted from the client.
TYPES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (b"PK\x03\x04",),
}


class EvidenceError(ValueError):
    """An upload that is refused: its HTTP status and why, in Chinese and English."""

    def __init__(self, status: int, zh: str, en: str) -> None:
        super().__init__(en)
        self.status, self.message_zh, self.message_en = status, zh, en


def check_type(content_type: str, content: bytes) -> None:
    magics = TYPES.get(content_type)
    if magics is None:
        raise EvidenceError(
            415, f"不支持的文件类型 {content_type}（支持 PDF、JPEG、PNG、xlsx、docx）",
            f"unsupported file type {content_type!r}; send PDF, JPEG, PNG, xlsx or docx",
        )  # fmt: skip
    if not content.startswith(magics):
        raise EvidenceError(
            415, f"文件内容与类型 {content_type} 不符", f"the file's content does not match its type {content_type!r}"
        )


class EvidenceStore:
    """Files under their sha256; the same bytes are stored once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, content: bytes) -> str:
        digest = hashlib.sha256(content).hexdigest()
        target = self.path(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
            with os.fdopen(fd, "wb") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)  # atomic: a reader sees the whole file or none
        return digest


@dataclass(frozen=True)
class Requirement:
    item: str
    required: bool
    what: str
    files: list[dict[str, Any]]

    @property
    def status(self) -> str:
        if self.files:
            return "ok"
        return "missing_required" if self.required else "missing_optional"


def requirements(spec: dict[str, dict[str, Any]], linked: dict[str, list[dict[str, Any]]]) -> list[Requirement]:
    """Each indicator's evidence: what the form asks for and what was uploaded."""
    return [
        Requirement(item, bool(r.get("required")), str(r.get("what", "")), linked.get(item, []))
        for item, r in spec.items()
    ]
