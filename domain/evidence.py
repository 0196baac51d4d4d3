"""佐证材料 (evidence files) of a 整改报告: which files are allowed, how large, how named.

A file's type is told by its content (its first bytes, and for Word/Excel the parts of
the container), never by what the client says; anything else is refused. The limits are
stated here once and worded for a person in :data:`LIMITS_TEXT`.

The event of a report records each file as ``{"name", "type", "size", "sha256"}``: the
audit chain seals those, so a changed or missing stored file is found by ``audit verify``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import InvalidInput

MiB = 1024 * 1024
MAX_FILE_BYTES = 20 * MiB
"""Bytes of one file, at most."""
MAX_FILES = 10
"""Files of one report, at most."""
MAX_REPORT_BYTES = 50 * MiB
"""Bytes of all the files of one report together, at most."""
MAX_NAME = 200
LIMITS_TEXT = (f"每个文件不超过 {MAX_FILE_BYTES // MiB} MB，每份报告最多 {MAX_FILES} 个文件、"
               f"合计不超过 {MAX_REPORT_BYTES // MiB} MB；可上传照片（JPEG、PNG、WebP、HEIC）、"
               "PDF、Word（doc、docx）和 Excel（xls、xlsx）文件")

TYPES: dict[str, str] = {
    "image/jpeg": "JPEG 图片",
    "image/png": "PNG 图片",
    "image/webp": "WebP 图片",
    "image/heic": "HEIC 图片",
    "application/pdf": "PDF 文件",
    "application/msword": "Word 文档",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word 文档",
    "application/vnd.ms-excel": "Excel 表格",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel 表格",
}
"""The allowed content types and how a person calls them."""

REQUEST_STATUSES = {"pending": "待审批", "granted": "已批准", "refused": "未批准"}
"""An extension request's (延期申请, domain/findings.py) states as a person reads them."""

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = b"PK\x03\x04"
HEAD_BYTES = 16
HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1"}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f/\\]")


def _refuse(name: str, why_zh: str, why_en: str, field: str = "files") -> InvalidInput:
    return InvalidInput(f"佐证材料“{name}”{why_zh}，本次未记录", f"file {name!r}: {why_en}; "
                        "nothing recorded", field=field)


def check_name(raw: str | None, field: str = "files") -> str:
    """A file's name as a person gave it: the last path part, no control characters."""
    name = re.split(r"[/\\]", (raw or "").strip())[-1].strip()
    if not name or name in (".", ".."):
        raise InvalidInput("佐证材料缺少文件名，本次未记录", "a file has no name; nothing recorded",
                           field=field)
    if _CONTROL.search(name):
        raise _refuse(name[:40], "的文件名含有控制字符", "the name has a control character",
                      field)
    if len(name) > MAX_NAME:
        raise _refuse(name[:40] + "…", f"的文件名过长（最多{MAX_NAME}字）",
                      f"the name is longer than {MAX_NAME}", field)
    return name


def check_size(name: str, size: int, field: str = "files") -> int:
    if size <= 0:
        raise _refuse(name, "是空文件", "the file is empty", field)
    if size > MAX_FILE_BYTES:
        raise _refuse(name, f"过大（{size / MiB:.1f} MB，每个文件最多 {MAX_FILE_BYTES // MiB} MB）",
                      f"too large ({size} > {MAX_FILE_BYTES} bytes)", field)
    return size


def sniff(name: str, head: bytes, members: Collection[str] | None = None,
          field: str = "files") -> str:
    """The content type of a file from its first bytes (``head``, at least 16) and, for a
    zip container, the names of its members; refuses anything not in :data:`TYPES`.
    An OLE container (old Word and Excel share it) is told apart by the name's extension."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in HEIC_BRANDS:
        return "image/heic"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(OLE):
        if ext == "doc":
            return "application/msword"
        if ext == "xls":
            return "application/vnd.ms-excel"
        raise _refuse(name, "是旧版 Office 文件，但扩展名不是 .doc 或 .xls",
                      "an OLE file not named .doc or .xls", field)
    if head.startswith(ZIP) and members is not None:
        if "word/document.xml" in members:
            return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        if "xl/workbook.xml" in members:
            return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    raise _refuse(name, "的类型不允许：只接受照片（JPEG、PNG、WebP、HEIC）、PDF、Word 和 Excel 文件",
                  "not an allowed type (images, PDF, Word, Excel)", field)


def is_zip(head: bytes) -> bool:
    return head.startswith(ZIP)


def check_sha256(value: str, field: str = "sha256") -> str:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise InvalidInput(f"文件哈希 {str(value)[:70]!r} 无效，应为64位小写十六进制",
                           "sha256 must be 64 lowercase hex digits", field=field)
    return value


@dataclass(frozen=True)
class EvidenceFile:
    """One stored file as a report's event names it."""

    name: str
    type: str
    size: int
    sha256: str

    def record(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "size": self.size, "sha256": self.sha256}


def check_files(files: Sequence[EvidenceFile], field: str = "files") -> list[dict[str, Any]]:
    """The files of one report, checked together: count, each one's name, type and size,
    and the total; as the event records them."""
    if len(files) > MAX_FILES:
        raise InvalidInput(f"佐证材料过多（{len(files)}个，每份报告最多{MAX_FILES}个），本次未记录",
                           f"too many files ({len(files)} > {MAX_FILES}); nothing recorded",
                           field=field)
    out = []
    for f in files:
        name = check_name(f.name, field)
        check_size(name, f.size, field)
        check_sha256(f.sha256, field)
        if f.type not in TYPES:
            raise _refuse(name, "的类型不允许", f"type {f.type!r} is not allowed", field)
        out.append(EvidenceFile(name, f.type, f.size, f.sha256).record())
    total = sum(f.size for f in files)
    if total > MAX_REPORT_BYTES:
        raise InvalidInput(
            f"佐证材料合计过大（{total / MiB:.1f} MB，每份报告最多 {MAX_REPORT_BYTES // MiB} MB），"
            "本次未记录",
            f"the files are too large together ({total} > {MAX_REPORT_BYTES}); nothing recorded",
            field=field)
    return out
