"""佐证材料 and extension requests on the aggregate alone: types by content, limits, a unit's
report date, one open request at a time, a grant moving the deadline (no store)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from uuid import uuid4

import pytest

from domain.calendar import WorkCalendar
from domain.errors import InvalidInput, NotFound, Refused
from domain.evidence import (
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_REPORT_BYTES,
    EvidenceFile,
    check_files,
    check_name,
    sniff,
)
from domain.findings import Finding
from domain.time import SHANGHAI

NOW = datetime(2024, 10, 11, 10, tzinfo=SHANGHAI)
CAL = WorkCalendar()
D = date.fromisoformat
SHA = hashlib.sha256(b"x").hexdigest()


def ordered() -> Finding:
    f = Finding(id=uuid4(), unit="U1", on=D("2024-09-20"), inspector="张督学", text="问题",
                severity="general", task=None, inspection_id=None, actor="t", recorded_at=NOW)
    f.order_rectification(on=D("2024-09-25"), within=10, calendar_days=False, calendar=CAL,
                          actor="t", recorded_at=NOW)
    return f


def pdf(name: str = "报告.pdf", size: int = 100, sha: str = SHA) -> EvidenceFile:
    return EvidenceFile(name=name, type="application/pdf", size=size, sha256=sha)


@pytest.mark.parametrize(("name", "head", "members", "expected"), [
    ("a.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 12, None, "image/jpeg"),
    ("a", b"\x89PNG\r\n\x1a\n" + b"\0" * 8, None, "image/png"),
    ("a.webp", b"RIFF\0\0\0\0WEBPVP8 ", None, "image/webp"),
    ("a.heic", b"\0\0\0\x18ftypheic\0\0\0\0", None, "image/heic"),
    ("x.png", b"%PDF-1.7\n" + b"\0" * 7, None, "application/pdf"),  # content, not the name
    ("a.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 8, None, "application/msword"),
    ("a.XLS", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 8, None, "application/vnd.ms-excel"),
    ("a.docx", b"PK\x03\x04" + b"\0" * 12, {"word/document.xml"},
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("a.xlsx", b"PK\x03\x04" + b"\0" * 12, {"xl/workbook.xml"},
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
])
def test_types_are_told_by_content(name: str, head: bytes, members: set[str] | None,
                                   expected: str) -> None:
    assert sniff(name, head, members) == expected


@pytest.mark.parametrize(("name", "head", "members"), [
    ("page.pdf", b"<html><script>", None),  # HTML named .pdf
    ("a.zip", b"PK\x03\x04" + b"\0" * 12, {"evil.exe"}),  # a zip that is not Office
    ("a.ppt", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 8, None),
    ("a.svg", b"<svg xmlns=", None),
    ("a.exe", b"MZ\x90\0", None),
])
def test_anything_else_is_refused_naming_the_file(name: str, head: bytes,
                                                  members: set[str] | None) -> None:
    with pytest.raises(InvalidInput) as e:
        sniff(name, head, members)
    assert e.value.field == "files" and name in e.value.zh


def test_names_lose_their_path_and_limits_are_stated() -> None:
    assert check_name("C:\\Users\\a\\照片.jpg") == "照片.jpg"
    assert check_name("../../etc/passwd.pdf") == "passwd.pdf"
    with pytest.raises(InvalidInput):
        check_name("  ")
    with pytest.raises(InvalidInput, match="过大"):
        check_files([pdf(size=MAX_FILE_BYTES + 1)])
    with pytest.raises(InvalidInput, match="过多"):
        check_files([pdf(f"{i}.pdf") for i in range(MAX_FILES + 1)])
    with pytest.raises(InvalidInput, match="合计过大"):
        check_files([pdf(f"{i}.pdf", size=MAX_FILE_BYTES) for i in
                     range(MAX_REPORT_BYTES // MAX_FILE_BYTES + 1)])
    with pytest.raises(InvalidInput, match="类型不允许"):
        check_files([EvidenceFile("a.html", "text/html", 10, SHA)])


def test_the_report_event_records_each_file() -> None:
    f = ordered()
    f.submit_report(on=D("2024-10-11"), text="已整改", actor="unit:U1#ab", recorded_at=NOW,
                    files=[pdf(), EvidenceFile("现场.png", "image/png", 5, SHA)], by_unit=True)
    event = f.collect_events()[-1]
    assert type(event).__name__ == "ReportSubmitted"
    assert event.files == [  # type: ignore[attr-defined]
        {"name": "报告.pdf", "type": "application/pdf", "size": 100, "sha256": SHA},
        {"name": "现场.png", "type": "image/png", "size": 5, "sha256": SHA}]
    assert [x["report"] for x in f.files] == [1, 1] and f.file(SHA) is not None


def test_a_unit_cannot_backdate_staff_can() -> None:
    f = ordered()
    with pytest.raises(InvalidInput) as e:
        f.submit_report(on=D("2024-10-10"), text="已整改", actor="unit:U1#ab", recorded_at=NOW,
                        by_unit=True)
    assert e.value.field == "on" and "2024-10-11" in e.value.zh
    assert f.status == "rectifying" and len(f.collect_events()) == 2  # recorded, ordered
    f.submit_report(on=D("2024-10-10"), text="纸质报告补录", actor="cli:张", recorded_at=NOW)
    assert f.last_report_on == D("2024-10-10")


def test_one_open_extension_request_and_its_grant() -> None:
    f = ordered()
    with pytest.raises(InvalidInput) as e:
        f.request_extension(to=D("2024-10-14"), reason="x", actor="unit", recorded_at=NOW)
    assert e.value.field == "to"
    rid = f.request_extension(to=D("2024-11-15"), reason="汛期", actor="unit", recorded_at=NOW)
    assert rid == f"{f.id}.1" and f.open_extension_request is not None
    with pytest.raises(Refused) as r:
        f.request_extension(to=D("2024-11-20"), reason="再", actor="unit", recorded_at=NOW)
    assert r.value.field == "finding"
    with pytest.raises(NotFound):
        f.decide_extension(request_id=f"{f.id}.2", grant=True, note=None, calendar=CAL,
                           actor="i", recorded_at=NOW)
    assert f.decide_extension(request_id=rid, grant=True, note="同意", calendar=CAL,
                              actor="i", recorded_at=NOW) == D("2024-11-15")
    assert (f.deadline, f.extensions, f.open_extension_request) == (D("2024-11-15"), 1, None)
    names = [type(e).__name__ for e in f.collect_events()]
    assert names[-3:] == ["ExtensionRequested", "ExtensionGranted", "ExtensionRequestDecided"]
    with pytest.raises(Refused):
        f.decide_extension(request_id=rid, grant=False, note=None, calendar=CAL, actor="i",
                           recorded_at=NOW)


def test_a_refused_request_keeps_the_deadline_and_a_stale_grant_is_refused() -> None:
    f = ordered()
    rid = f.request_extension(to=D("2024-10-20"), reason="x", actor="unit", recorded_at=NOW)
    assert f.decide_extension(request_id=rid, grant=False, note=None, calendar=CAL,
                              actor="i", recorded_at=NOW) is None
    assert f.deadline == D("2024-10-14") and f.extension_requests[0]["status"] == "refused"
    rid = f.request_extension(to=D("2024-10-20"), reason="y", actor="unit", recorded_at=NOW)
    f.grant_extension(on=D("2024-10-11"), to=D("2024-10-25"), reason="督学延期", calendar=CAL,
                      actor="i", recorded_at=NOW)
    with pytest.raises(InvalidInput) as e:  # the deadline already moved past the request
        f.decide_extension(request_id=rid, grant=True, note=None, calendar=CAL, actor="i",
                           recorded_at=NOW)
    assert e.value.field == "to" and f.open_extension_request is not None


def recorded(files: list[EvidenceFile]) -> Finding:
    return Finding.record(id=uuid4(), unit="U1", on=D("2024-10-10"), inspector="张督学",
                          text="操场围栏破损", actor="inspector:张督学", recorded_at=NOW,
                          files=files)


def test_a_finding_is_recorded_with_its_field_photos() -> None:
    photo = EvidenceFile("现场照片.png", "image/png", 68, SHA)
    f = recorded([photo])
    event = f.collect_events()[0]
    assert type(event).__name__ == "Recorded"
    assert event.files == [  # type: ignore[attr-defined]
        {"name": "现场照片.png", "type": "image/png", "size": 68, "sha256": SHA}]
    # listed with the reports' files, as 登记时的现场材料 (report 0), dated the finding's day
    assert f.files == [{"name": "现场照片.png", "type": "image/png", "size": 68, "sha256": SHA,
                        "report": 0, "on": D("2024-10-10")}]
    assert f.file(SHA) is not None
    # and a report's files follow them
    f.order_rectification(on=D("2024-10-10"), within=10, calendar_days=False, calendar=CAL,
                          actor="t", recorded_at=NOW)
    f.submit_report(on=D("2024-10-11"), text="已整改", actor="unit:U1#ab", recorded_at=NOW,
                    files=[pdf()], by_unit=True)
    assert [x["report"] for x in f.files] == [0, 1]


def test_a_finding_without_files_and_an_old_event_without_the_field_load() -> None:
    f = recorded([])
    assert f.files == []
    event = f.collect_events()[0]
    # an event stored before findings had files: no ``files`` attribute at all, decoded as
    # eventsourcing's Mapper.to_domain_event does (no __init__, the stored state set)
    state = {k: v for k, v in event.__dict__.items() if k != "files"}
    old = object.__new__(type(event))
    old.__dict__.update(state)
    assert not hasattr(old, "files")
    again = old.mutate(None)
    assert again is not None and again.files == [] and again.text == "操场围栏破损"


def test_a_bad_field_file_is_refused_naming_the_field_and_records_nothing() -> None:
    with pytest.raises(InvalidInput) as e:
        recorded([EvidenceFile("a.html", "text/html", 10, SHA)])
    assert e.value.field == "files" and "a.html" in e.value.zh
    with pytest.raises(InvalidInput, match="过多"):
        recorded([pdf(sha=hashlib.sha256(bytes([i])).hexdigest()) for i in range(MAX_FILES + 1)])
