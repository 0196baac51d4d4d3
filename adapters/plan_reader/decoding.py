"""From a plan file's bytes to its text: the encoding, the checks that refuse a file that is
no plan (empty, binary, garbled), the canonical form the parser reads."""

from __future__ import annotations

import unicodedata

from adapters.plan_reader.limits import check_plan_size
from domain.errors import InvalidInput


def decode_plan(raw: bytes, source: str = "FILE") -> str:
    """The text of a plan file: UTF-8 (with or without BOM) or GB18030, or lines of both, or
    UTF-16 with a BOM.

    Raises ``InvalidInput`` for an empty file, a binary file, or bytes that are
    not text in either encoding -- before anything is recorded.
    """
    check_plan_size(len(raw), source)
    if not raw.strip():
        raise InvalidInput(f"文件 {source} 是空的，没有可导入的内容",
                           f"{source} is empty: nothing to import", field="FILE")
    # Windows 记事本's "Unicode": UTF-16 with a BOM (its line ends and digits hold NUL bytes)
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") and b"\x00" in raw[:4096]:
        try:
            raw = raw.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"文件 {source} 的 UTF-16 编码有误，无法读取",
                               f"{source} is broken UTF-16", field="FILE") from None
    sample = raw[:65536]
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in sample or controls > max(8, len(sample) // 100):
        raise InvalidInput(
            f"文件 {source} 是二进制文件，不是实施方案的文本（请先另存为 UTF-8 文本）",
            f"{source} is a binary file, not the text of a plan (save it as UTF-8 text first)",
            field="FILE",
        )
    text = _decode_lines(raw)
    if text is None:
        raise InvalidInput(
            f"文件 {source} 既不是 UTF-8 也不是 GB18030 编码的文本，无法读取",
            f"{source} is neither UTF-8 nor GB18030 text", field="FILE",
        )
    visible = [c for c in text if not c.isspace()]
    cjk = sum(1 for c in visible if "\u4e00" <= c <= "\u9fff")
    odd = sum(1 for c in visible if unicodedata.category(c) in ("Co", "Cn", "Cs", "So")
              or "\u0080" <= c <= "\u024f" or c == "\ufffd")
    if cjk < 10 or odd > cjk:
        raise InvalidInput(
            f"文件 {source} 的内容不像中文实施方案（汉字 {cjk} 个，乱码字符 {odd} 个），"
            "可能是编码错误或乱码，未导入",
            f"{source} does not read as a Chinese plan ({cjk} Chinese characters, "
            f"{odd} garbled ones): wrong encoding or garbage; nothing imported",
            field="FILE",
        )
    return text


def _decode_lines(raw: bytes) -> str | None:
    """UTF-8 (a BOM dropped) or GB18030 as a whole; else line by line, each line in the
    first of the two it decodes in (a plan stitched from files saved in both); None when
    a line is in neither."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    out: list[str] = []
    for line in raw.split(b"\n"):
        for encoding in ("utf-8", "gb18030"):
            try:
                out.append(line.decode(encoding).removeprefix("\ufeff"))
                break
            except UnicodeDecodeError:
                continue
        else:
            return None
    return "\n".join(out)


def normalise_text(text: str) -> str:
    """The canonical form of a plan's text: one line end, NFKC. The parser reads it; an
    import's digest is taken of it."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFKC", text)
