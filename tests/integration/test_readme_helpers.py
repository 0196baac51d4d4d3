"""The README test's tree helpers on a made-up tree (files on disk: an integration test)."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_readme import named, project_folders


def test_the_helpers_see_a_folder_left_with_only_caches_as_gone(tmp_path: Path) -> None:
    (tmp_path / "gone" / "__pycache__").mkdir(parents=True)
    (tmp_path / "gone" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"")
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "a.py").write_text("")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "demo.db").write_bytes(b"")
    assert project_folders(tmp_path) == ["kept"]
    assert named("adapters/demo", ["adapters/demo/"]) and named("tests", ["tests/unit/"])
    assert not named("adapters/demo", ["adapters/demos/"])
