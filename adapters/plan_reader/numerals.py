"""Chinese numerals as plans write them in numbers and headings (一, 十二, 二十)."""

from __future__ import annotations

CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
             "七": 7, "八": 8, "九": 9}


def cn_number(text: str) -> int | None:
    """一 → 1, 十二 → 12, 二十 → 20 (up to 99); None if not a simple numeral."""
    if not text:
        return None
    if text == "十":
        return 10
    if "十" in text:
        left, _, right = text.partition("十")
        tens = CN_DIGITS.get(left) if left else 1
        ones = CN_DIGITS.get(right) if right else 0
        if tens is None or ones is None:
            return None
        return tens * 10 + ones
    if len(text) == 1 and text in CN_DIGITS:
        return CN_DIGITS[text]
    return None
