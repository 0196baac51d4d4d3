"""Responsible-unit names as plans write them: normalising, grouping, and unit codes.

Pure text processing. The code scheme (documented in the README):

* a unit's code is the upper-case pinyin initial of every Chinese character of
  its normalised name, ASCII letters and digits kept as they are, everything
  else dropped: 市教育局 → ``SJYJ``, 各县区党委、政府 → ``GXQDWZF``;
* initials come from the GB2312 level-1 table, which is ordered by pinyin, so
  no dictionary is needed; a character outside it (rare in unit names) is
  written ``X`` + its code point in hex, e.g. ``X4E28``;
* when that code is already taken by a unit with another name, ``-`` and the
  first four hex digits of the SHA-1 of the name are appended
  (``SJYJ-1A2B``), so the result depends on the name only, never on the
  order in which plans were imported;
* codes are at most 64 characters (``domain.units.CODE_PATTERN``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

# First GB2312 code of each initial (level-1 characters are ordered by pinyin).
_GB2312_INITIALS = [
    (0xB0A1, "A"), (0xB0C5, "B"), (0xB2C1, "C"), (0xB4EE, "D"), (0xB6EA, "E"),
    (0xB7A2, "F"), (0xB8C1, "G"), (0xB9FE, "H"), (0xBBF7, "J"), (0xBFA6, "K"),
    (0xC0AC, "L"), (0xC2E8, "M"), (0xC4C3, "N"), (0xC5B6, "O"), (0xC5BE, "P"),
    (0xC6DA, "Q"), (0xC8BB, "R"), (0xC8F6, "S"), (0xCBFA, "T"), (0xCDDA, "W"),
    (0xCEF4, "X"), (0xD1B9, "Y"), (0xD4D1, "Z"),
]
_GB2312_LEVEL1_END = 0xD7F9


def initial(ch: str) -> str:
    """The pinyin initial of one character, upper case ('' for punctuation)."""
    if ch.isascii():
        return ch.upper() if ch.isalnum() else ""
    if not ("\u4e00" <= ch <= "\u9fff"):
        return ""
    try:
        raw = ch.encode("gb2312")
    except UnicodeEncodeError:
        raw = b""
    if len(raw) == 2:
        code = (raw[0] << 8) | raw[1]
        if _GB2312_INITIALS[0][0] <= code <= _GB2312_LEVEL1_END:
            letter = "A"
            for start, name in _GB2312_INITIALS:
                if code >= start:
                    letter = name
                else:
                    break
            return letter
    return f"X{ord(ch):04X}"


def initials(name: str) -> str:
    return "".join(initial(c) for c in name)


def base_code(name: str, *, max_len: int = 64) -> str:
    """The readable code of a name: its initials (see the module docstring)."""
    code = initials(name)[:max_len]
    if not code:
        code = "U" + name_hash(name, 8)
    return code


def name_hash(name: str, n: int = 4) -> str:
    return hashlib.sha1(name.encode("utf-8")).hexdigest()[:n].upper()


def qualified_code(name: str, *, max_len: int = 64) -> str:
    """The code used when the readable one is taken by another unit."""
    suffix = "-" + name_hash(name)
    return base_code(name, max_len=max_len - len(suffix)) + suffix


# ------------------------------------------------------------------ names

# Characters a unit name ends with (office, bureau, committee, government...).
UNIT_SUFFIXES = (
    "局", "办", "委", "部", "院", "府", "室", "会", "厅", "处", "中心", "所", "校", "队",
    "站", "馆", "关", "司", "行", "社", "团", "联", "署", "庭", "园", "组", "科", "股",
)
# What a new unit name starts with when two names were run together.
_JOIN_PREFIXES = "区市县省州镇乡各"
_GROUP_MARKERS = ("各", "有关", "相关", "所有", "全市", "全区", "全县")

_SPACES = re.compile(r"\s+")
_EDGE = "、,;:。.()[]<>【】〔〕\"'“”‘’ "


def clean(text: str) -> str:
    """NFKC, no spaces, no punctuation at either end."""
    text = unicodedata.normalize("NFKC", text)
    text = _SPACES.sub("", text)
    return text.strip(_EDGE)


def normalise_name(name: str) -> str:
    """The canonical spelling of a unit name.

    ``各县区党委政府`` and ``各县区党委、政府`` are the same group; the canonical
    form keeps the 、 between 党委 and 政府.
    """
    name = clean(name)
    name = re.sub(r"党委(?=(?:人民)?政府$)", "党委、", name)
    return name


def is_group(name: str) -> bool:
    """A name that stands for several units (各县(市)人民政府, 各县区党委、政府...)."""
    return name.startswith(_GROUP_MARKERS)


def looks_like_unit(name: str) -> bool:
    return len(name) >= 2 and name.endswith(UNIT_SUFFIXES)


def split_names(text: str) -> list[str]:
    """Split an annotation's list of units; keeps 'X党委、政府' together.

    Separators are 、 , ; and spaces; two names run together without a
    separator (区发改局区住建局) are split where a unit suffix is directly
    followed by a jurisdiction prefix.
    """
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"党委、?(?=(?:人民)?政府(?:$|[、,;\s)\]>]))", "党委@", text)
    pieces = [p for p in re.split(r"[、,;\s]+", text) if p]
    names: list[str] = []
    for piece in pieces:
        piece = piece.replace("@", "、")
        names.extend(_split_run_together(piece))
    return [n for n in (normalise_name(p) for p in names) if n]


def _split_run_together(piece: str) -> list[str]:
    if is_group(piece):
        return [piece]
    out: list[str] = []
    start = 0
    for i in range(1, len(piece)):
        if piece[i] in _JOIN_PREFIXES and piece[start:i].endswith(UNIT_SUFFIXES) and \
                i - start >= 2 and len(piece) - i >= 2:
            out.append(piece[start:i])
            start = i
    out.append(piece[start:])
    return out


def split_on_known(name: str, known: set[str]) -> tuple[str, str] | None:
    """``发改区住建局`` → ``('发改', '区住建局')`` when 区住建局 is a name seen elsewhere."""
    for i in range(1, len(name) - 1):
        tail = name[i:]
        if tail in known and tail != name and name[i] in _JOIN_PREFIXES:
            return name[:i], tail
    return None
