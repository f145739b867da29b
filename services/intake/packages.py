"""Office Open XML packages (xlsx, docx) checked as a whole before anything parses them.

A package is a zip: its directory is read (never trusted for what it claims beyond sizes, which
zipfile enforces while inflating) and refused if it is not a zip, inflates beyond the limits, has
more members than any real form, names a path outside itself, holds an executable or macros, or is
not the kind of document it is sent as ([Content_Types].xml names the main part's type).
Pure functions over bytes; the callers run them off the event loop.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from xml.etree import ElementTree

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# The main part's content type for each kind (the macro-enabled types differ, and are refused by that).
MAIN_TYPE = {
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
}
_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_EXECUTABLE_SUFFIXES = {
    ".exe", ".dll", ".com", ".bat", ".cmd", ".scr", ".msi", ".ps1", ".vbs", ".vbe", ".js", ".jse", ".wsf",
    ".hta", ".jar", ".sh", ".elf", ".so", ".dylib", ".app", ".cpl", ".lnk", ".pif",
}  # fmt: skip
# Leading bytes of native executables and scripts: PE (MZ), ELF, Mach-O, shebang.
_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xca\xfe\xba\xbe", b"#!")
_TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"


@dataclass(frozen=True)
class PackageLimits:
    """Bounds on what a package may inflate to; a real form or evidence document is far inside them."""

    max_members: int = 500
    max_member_bytes: int = 20_000_000
    max_total_bytes: int = 50_000_000


class PackageError(ValueError):
    """The package is refused: a stable code and why, in Chinese and English."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.code, self.message_zh, self.message_en = code, zh, en


def _member_path_is_safe(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return not path.is_absolute() and ".." not in path.parts and ":" not in name


def open_package(content: bytes, limits: PackageLimits) -> zipfile.ZipFile:
    """The zip, once its directory is within ``limits`` and every member name stays inside it."""
    try:
        package = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise PackageError(
            "not_a_package", "文件不是有效的 Office 文档（zip 包无法读取）", "not a valid zip package"
        ) from None
    members = package.infolist()
    if len(members) > limits.max_members:
        raise PackageError(
            "package_too_many_parts",
            f"文件包含 {len(members)} 个部件，超过上限 {limits.max_members}",
            f"the package has {len(members)} parts; at most {limits.max_members} are accepted",
        )
    total = 0
    for member in members:
        if not _member_path_is_safe(member.filename):
            raise PackageError(
                "package_path_unsafe",
                f"文件包含不安全的路径“{member.filename[:80]}”",
                "a part's path leaves the package",
            )
        if member.file_size > limits.max_member_bytes:
            raise PackageError(
                "package_too_large",
                f"部件“{member.filename[:80]}”解压后超过 {limits.max_member_bytes} 字节",
                f"part {member.filename[:80]!r} inflates beyond {limits.max_member_bytes} bytes",
            )
        total += member.file_size
    if total > limits.max_total_bytes:
        raise PackageError(
            "package_too_large",
            f"文件解压后共 {total} 字节，超过上限 {limits.max_total_bytes}",
            f"the package inflates to {total} bytes; the limit is {limits.max_total_bytes}",
        )
    return package


def read_member(package: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes; zipfile stops at its declared size and checks its CRC, so a lying directory fails here."""
    try:
        return package.read(info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError, ValueError) as exc:
        raise PackageError(
            "package_corrupt", f"部件“{info.filename[:80]}”已损坏", f"part {info.filename[:80]!r} is corrupt: {exc}"
        ) from None


def _head(package: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        with package.open(info) as member:
            return member.read(4)
    except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, ValueError) as exc:
        raise PackageError(
            "package_corrupt", f"部件“{info.filename[:80]}”已损坏", f"part {info.filename[:80]!r} is corrupt: {exc}"
        ) from None


def check_ooxml(content: bytes, media_type: str, limits: PackageLimits) -> zipfile.ZipFile:
    """The package, once it is a whole OOXML document of ``media_type`` (xlsx or docx) with no executable part."""
    package = open_package(content, limits)
    for info in package.infolist():
        name = info.filename.lower()
        if PurePosixPath(name).suffix in _EXECUTABLE_SUFFIXES or name.endswith("vbaproject.bin"):
            raise PackageError(
                "package_executable",
                f"文件包含可执行内容或宏（{info.filename[:80]}）",
                f"the package holds an executable or macros ({info.filename[:80]})",
            )
        if not info.is_dir() and _head(package, info).startswith(_EXECUTABLE_MAGIC):
            raise PackageError(
                "package_executable",
                f"文件包含可执行程序（{info.filename[:80]}）",
                f"the package holds an executable program ({info.filename[:80]})",
            )
    wanted = MAIN_TYPE[media_type]
    part = _main_part(package)
    overrides = _content_types(package)
    if overrides.get(part.lower()) != wanted:
        found = overrides.get(part.lower()) or "—"
        raise PackageError(
            "package_wrong_type",
            f"文件不是 {'Excel 工作簿' if media_type == XLSX else 'Word 文档'}（主部件类型 {found}）",
            f"the package is not a {'workbook' if media_type == XLSX else 'Word document'}: "
            f"its main part {part} is {found!r}, not {wanted!r} (macro-enabled files are refused)",
        )
    _xml(package, part.lstrip("/"))  # present, and XML
    return package


def _xml(package: zipfile.ZipFile, name: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(read_member(package, package.getinfo(name)))  # noqa: S314 - bounded size; expat refuses entity bombs
    except (KeyError, ElementTree.ParseError):
        raise PackageError("package_corrupt", f"文件缺少有效的 {name}", f"the package has no valid {name}") from None


def _main_part(package: zipfile.ZipFile) -> str:
    """The part the package's own relationships name as its document (e.g. /xl/workbook.xml)."""
    for rel in _xml(package, "_rels/.rels").iter(f"{_RELS_NS}Relationship"):
        if rel.get("Type") == _OFFICE_DOCUMENT and rel.get("TargetMode") != "External":
            return "/" + str(rel.get("Target", "")).lstrip("/")
    raise PackageError("package_corrupt", "文件没有主文档部件", "the package names no main document part")


def _content_types(package: zipfile.ZipFile) -> dict[str, str]:
    root = _xml(package, "[Content_Types].xml")
    return {
        str(o.get("PartName", "")).lower(): str(o.get("ContentType", "")) for o in root.iter(f"{_TYPES_NS}Override")
    }


_SHARED_STRING = re.compile(rb"<(?:\w+:)?si[\s>/]")


def count_shared_strings(package: zipfile.ZipFile) -> int:
    """How many strings a workbook's shared-string table holds (openpyxl loads them all at once)."""
    total = 0
    for info in package.infolist():
        if info.filename.lower().endswith("sharedstrings.xml"):
            total += len(_SHARED_STRING.findall(read_member(package, info)))
    return total
