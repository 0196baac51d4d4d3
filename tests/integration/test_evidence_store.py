"""佐证材料 in the store, on SQLite and PostgreSQL: written and read in chunks, addressed by
their hash, and covered by ``audit verify`` (a changed or missing file fails it, named)."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date
from pathlib import Path

import pytest

from adapters.infrastructure.evidence_store import CHUNK
from adapters.service_layer import evidence
from adapters.service_layer.application import Dudao
from domain.errors import InvalidInput
from tests.conftest import Cli

PDF = b"%PDF-1.4\n" + bytes(range(256)) * (CHUNK // 256 * 2 + 10)  # 3 chunks
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x01" * 500


@pytest.fixture
def reported(db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> tuple[Cli, str]:
    dudao = Cli(db, capsys)
    assert dudao("unit", "add", "HTQ", "--name", "汉台区人民政府")[0] == 0
    fid = dudao.json("finding", "record", "--unit", "HTQ", "--on", "2024-09-25",
                     "--inspector", "张督学", "--text", "消防通道堵塞")["finding_id"]
    dudao.json("rectify", "order", fid, "--on", "2024-09-25", "--within", "10")
    (tmp_path / "整改报告.pdf").write_bytes(PDF)
    (tmp_path / "现场.png").write_bytes(PNG)
    out = dudao.json("rectify", "report", fid, "--on", "2024-10-10", "--text", "已清理",
                     "--file", str(tmp_path / "整改报告.pdf"), "--file", str(tmp_path / "现场.png"))
    assert [f["name"] for f in out["files"]] == ["整改报告.pdf", "现场.png"]
    return dudao, fid


def test_chunked_and_content_addressed(reported: tuple[Cli, str], app: object,
                                       tmp_path: Path) -> None:
    dudao, _ = reported
    store = evidence.store(app)  # type: ignore[arg-type]
    sha = hashlib.sha256(PDF).hexdigest()
    chunks = list(store.chunks(sha))
    assert [len(c) for c in chunks] == [CHUNK, CHUNK, len(PDF) - 2 * CHUNK]
    assert b"".join(chunks) == PDF
    assert store.info(sha)["type"] == "application/pdf"  # type: ignore[index]
    # the same bytes again (another finding's report) are the same rows, stored once
    fid2 = dudao.json("finding", "record", "--unit", "HTQ", "--on", "2024-09-25",
                      "--inspector", "张督学", "--text", "另一问题")["finding_id"]
    dudao.json("rectify", "order", fid2, "--on", "2024-09-25", "--within", "10")
    (tmp_path / "copy.pdf").write_bytes(PDF)
    dudao.json("rectify", "report", fid2, "--on", "2024-10-10", "--text", "同上",
               "--file", str(tmp_path / "copy.pdf"))
    assert b"".join(store.chunks(sha)) == PDF and store.info(sha)["chunks"] == 3  # type: ignore[index]
    shown = dudao.json("finding", "show", fid2)
    assert [(f["name"], f["sha256"]) for f in shown["files"]] == [("copy.pdf", sha)]
    assert dudao("audit", "verify")[0] == 0


def test_a_changed_file_fails_verify_naming_it(reported: tuple[Cli, str], app: object) -> None:
    dudao, fid = reported
    sha = hashlib.sha256(PDF).hexdigest()
    evidence.store(app)._tamper(sha, 1, b"\x00" * CHUNK)  # type: ignore[arg-type]
    code, out, err = dudao("audit", "verify")
    assert code == 1
    assert "整改报告.pdf" in err and sha in err and fid in err and "改动" in err
    code, out, _ = dudao("--json", "audit", "verify")
    report = json.loads(out)
    assert code == 1
    assert [p["kind"] for p in report["problems"]] == ["file_changed"]


def test_a_missing_file_fails_verify_naming_it(reported: tuple[Cli, str], app: object) -> None:
    dudao, fid = reported
    sha = hashlib.sha256(PNG).hexdigest()
    evidence.store(app)._remove(sha)  # type: ignore[arg-type]
    code, out, err = dudao("audit", "verify")
    assert code == 1 and "现场.png" in err and "不见了" in err and fid in err
    code, out, _ = dudao("--json", "audit", "verify")
    report = json.loads(out)
    assert code == 1
    assert [p["kind"] for p in report["problems"]] == ["file_missing"]
    assert report["ok"] is False


def test_a_refused_file_stores_and_records_nothing(db: str, capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path, app: object) -> None:
    dudao = Cli(db, capsys)
    dudao("unit", "add", "HTQ", "--name", "汉台区人民政府")
    fid = dudao.json("finding", "record", "--unit", "HTQ", "--on", "2024-09-25",
                     "--inspector", "张督学", "--text", "问题")["finding_id"]
    dudao.json("rectify", "order", fid, "--on", "2024-09-25", "--within", "10")
    (tmp_path / "ok.png").write_bytes(PNG)
    (tmp_path / "run.sh").write_bytes(b"#!/bin/sh\nrm -rf /\n")
    code, _, err = dudao("rectify", "report", fid, "--on", "2024-10-10", "--text", "x",
                         "--file", str(tmp_path / "ok.png"), "--file", str(tmp_path / "run.sh"))
    assert code != 0 and "run.sh" in err
    assert dudao.json("finding", "show", fid)["status"] == "rectifying"
    assert not evidence.store(app).has(hashlib.sha256(PNG).hexdigest())  # type: ignore[arg-type]


def test_a_finding_recorded_with_a_field_photo_is_covered_by_verify(
        db: str, capsys: pytest.CaptureFixture[str], app: Dudao) -> None:
    """登记问题 with 现场材料: stored, listed as report 0, re-hashed by ``audit verify``."""
    dudao = Cli(db, capsys)
    dudao("unit", "add", "HTQ", "--name", "汉台区人民政府")
    photo = PNG + b"field"
    sha = hashlib.sha256(photo).hexdigest()
    fid = app.record_finding(unit="HTQ", on=date(2024, 9, 25), inspector="张督学",
                             text="操场围栏破损", actor="inspector:张督学",
                             files=[("现场照片.png", io.BytesIO(photo))])
    finding = app.get_finding(fid)
    assert [(f["name"], f["type"], f["size"], f["report"]) for f in finding.files] == [
        ("现场照片.png", "image/png", len(photo), 0)]
    meta, chunks = evidence.finding_file(app, finding, sha)
    assert meta["name"] == "现场照片.png" and b"".join(chunks) == photo
    assert dudao("audit", "verify")[0] == 0
    evidence.store(app)._tamper(sha, 0, b"\x00" * len(photo))
    code, _, err = dudao("audit", "verify")
    assert code == 1 and "现场照片.png" in err and sha in err and str(fid) in err


def test_a_refused_field_file_records_no_finding(db: str, app: Dudao) -> None:
    app.add_unit("HTQ", "汉台区人民政府", actor="t")
    before = app.event_count()
    with pytest.raises(InvalidInput) as e:
        app.record_finding(unit="HTQ", on=date(2024, 9, 25), inspector="张督学", text="问题",
                           actor="inspector:张督学",
                           files=[("ok.png", io.BytesIO(PNG)), ("run.sh", io.BytesIO(b"#!/bin/sh"))])
    assert e.value.field == "files" and "run.sh" in e.value.zh
    assert app.event_count() == before
    assert not evidence.store(app).has(hashlib.sha256(PNG).hexdigest())


def test_the_command_line_records_a_finding_with_a_field_photo(
        db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dudao = Cli(db, capsys)
    dudao("unit", "add", "HTQ", "--name", "汉台区人民政府")
    (tmp_path / "现场.png").write_bytes(PNG)
    fid = dudao.json("finding", "record", "--unit", "HTQ", "--on", "2024-09-25",
                     "--inspector", "张督学", "--text", "围栏破损",
                     "--file", str(tmp_path / "现场.png"))["finding_id"]
    shown = dudao.json("finding", "show", fid)
    assert [(f["name"], f["report"]) for f in shown["files"]] == [("现场.png", 0)]
    code, out, _ = dudao("finding", "show", fid)
    assert code == 0 and "佐证材料（登记时的现场材料，2024-09-25）：现场.png" in out
    assert dudao("audit", "verify")[0] == 0
