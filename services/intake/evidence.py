"""Evidence files: content-addressed storage (sha256) and what each indicator still needs.

Bytes are written once under evidence/<aa>/<sha256>, atomically, whoever uploads them; the database
links them to (declaration, indicator). The 2025 form's 证明材料 column (forms/*.yaml `evidence`)
decides whether a missing file is an error (required) or a warning (无需提供).
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.intake.packages import DOCX, XLSX, PackageError, PackageLimits, check_ooxml

# Accepted types: the first bytes each must start with, the extension a stored file gets, and below,
# the whole-file check (a PDF parses, an image decodes, an OOXML package is the document it claims).
TYPES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    XLSX: (b"PK\x03\x04",),
    DOCX: (b"PK\x03\x04",),
}
EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png", XLSX: ".xlsx", DOCX: ".docx"}
EVIDENCE_LIMITS = PackageLimits(max_members=2_000, max_member_bytes=100_000_000, max_total_bytes=200_000_000)
# An image over this many pixels is refused before it is decoded (Pillow's own bomb check, as an error).
MAX_PIXELS = 100_000_000
_PNG_END = b"IEND\xaeB`\x82"


class EvidenceError(ValueError):
    """An upload that is refused: its HTTP status, a stable code and why, in Chinese and English."""

    def __init__(self, status: int, zh: str, en: str, code: str = "file_type_mismatch") -> None:
        super().__init__(en)
        self.status, self.message_zh, self.message_en, self.code = status, zh, en, code


def _not(kind: str, content_type: str, why: str) -> EvidenceError:
    return EvidenceError(
        415, f"文件不是完整有效的 {kind}（{why}）", f"the file is not a whole, valid {kind} ({why})", "file_invalid"
    )


def check_file(content_type: str, content: bytes) -> None:
    """Refuse unless ``content`` is wholly a file of ``content_type``. CPU-bound: call it off the event loop."""
    magics = TYPES.get(content_type)
    if magics is None:
        raise EvidenceError(
            415, f"不支持的文件类型 {content_type}（支持 PDF、JPEG、PNG、xlsx、docx）",
            f"unsupported file type {content_type!r}; send PDF, JPEG, PNG, xlsx or docx", "file_type_unsupported",
        )  # fmt: skip
    if not content.startswith(magics):
        raise EvidenceError(
            415, f"文件内容与类型 {content_type} 不符", f"the file's content does not match its type {content_type!r}"
        )
    if content_type == "application/pdf":
        _check_pdf(content)
    elif content_type in ("image/png", "image/jpeg"):
        _check_image(content, "PNG" if content_type == "image/png" else "JPEG")
    else:
        try:
            check_ooxml(content, content_type, EVIDENCE_LIMITS)
        except PackageError as exc:
            raise EvidenceError(415, exc.message_zh, exc.message_en, exc.code) from None


def _check_image(content: bytes, fmt: str) -> None:
    from PIL import Image  # imported on first use: the service starts without it

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=[fmt]) as image:
                image.verify()
            with Image.open(io.BytesIO(content), formats=[fmt]) as image:
                image.load()  # every pixel decoded: a truncated or forged image fails here
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _not(fmt, fmt, "图像无法完整解码 / the image does not decode") from None
    if fmt == "PNG" and not content.endswith(_PNG_END):
        # Bytes after IEND are not part of the image: the classic place to hide a script.
        raise _not(fmt, fmt, "IEND 之后还有数据 / data after the image's end")


def _check_pdf(content: bytes) -> None:
    from pypdf import PdfReader  # imported on first use: it alone added about a tenth to intake's start
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not reader.decrypt(""):
            raise _not("PDF", "PDF", "已加密 / encrypted with a password")
        if len(reader.pages) < 1:
            raise _not("PDF", "PDF", "没有页面 / no pages")
        root: Any = reader.root_object
        names: Any = root.get("/Names")
        names = names.get_object() if names is not None else {}
        action: Any = root.get("/OpenAction")
        action = action.get_object() if action is not None else None
        active = (
            "/JavaScript" in names
            or "/EmbeddedFiles" in names
            or "/AA" in root
            or (isinstance(action, dict) and action.get("/S") in ("/JavaScript", "/Launch"))
        )
    except EvidenceError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        raise _not("PDF", "PDF", f"无法解析 / does not parse: {type(exc).__name__}") from None
    if active:
        raise EvidenceError(
            422, "PDF 含有脚本、自动动作或内嵌文件，请导出为普通 PDF 后上传",
            "the PDF holds scripts, automatic actions or embedded files; export a plain PDF", "file_executable",
        )  # fmt: skip


def safe_name(filename: str, content_type: str) -> str:
    """The name a file is kept and served under: its base name only, printable, with its type's extension."""
    base = unicodedata.normalize("NFKC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*;%').strip(" .")
    stem = base.rsplit(".", 1)[0].strip(" .") if "." in base else base
    return (stem[:100] or "upload") + EXTENSIONS.get(content_type, "")


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
