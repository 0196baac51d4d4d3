"""The policy file read from an operator's folder: its name and its policy key agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.errors import InvalidInput
from rules.policy import POLICY_DIR, load_policy

DEFAULT = (POLICY_DIR / "default.toml").read_text(encoding="utf-8")


def test_file_name_and_policy_key_must_agree(tmp_path: Path) -> None:
    (tmp_path / "strict.toml").write_text(DEFAULT, encoding="utf-8")
    with pytest.raises(InvalidInput, match="与文件名 'strict' 不符"):
        load_policy("strict", [tmp_path])
    (tmp_path / "strict.toml").write_text(DEFAULT.replace('policy = "default"', 'policy = "strict"'),
                                          encoding="utf-8")
    assert load_policy("strict", [tmp_path]).policy == "strict"
    with pytest.raises(InvalidInput, match="没有名为 strict 的升级策略"):
        load_policy("strict")  # the operator's folders are given, never read behind one's back
