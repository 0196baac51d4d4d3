"""整改报告 with 佐证材料, and extension requests (延期申请): the service side.

A report's files are examined (size, type by content, hash) and stored, content-addressed,
before its event is saved: a refusal of any file records nothing and stores nothing; a
refusal by the finding (say, a report already awaits review) leaves at most stored files
no event names, harmless (the same bytes are the same rows when sent again).

Who gives a report's date: a unit (an actor of the ``unit`` role) submits it on the day it
is recorded; staff recording a paper report on the unit's behalf (the command line, an
inspector) give the date and are the actor recorded.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import IO, TYPE_CHECKING, Any
from uuid import UUID

from adapters.infrastructure.event_store import db_of_env, engine_for, startup_lock
from adapters.infrastructure.evidence_store import EvidenceStore
from adapters.infrastructure.hash_chain import Problem, Report, problem
from domain.errors import InvalidInput, NotFound
from domain.evidence import MAX_FILES, EvidenceFile, check_sha256
from domain.findings import Finding
from domain.time import local_date

if TYPE_CHECKING:
    from adapters.service_layer.application import Dudao

Upload = tuple[str | None, IO[bytes]]
"""A file as sent: the name its sender gave and a seekable source of its bytes."""


def store(app: Dudao) -> EvidenceStore:
    """The store's files (made once per application, in its own database)."""
    existing: EvidenceStore | None = getattr(app, "_evidence", None)
    if existing is None:
        db = db_of_env(app.env)
        with startup_lock(db):  # its tables are made once
            existing = EvidenceStore(engine_for(db))
        app._evidence = existing  # type: ignore[attr-defined]
    return existing


def is_unit(actor: str) -> bool:
    """An actor of the ``unit`` role (a unit's token or login) acts for the unit itself."""
    return actor.split(":", 1)[0] == "unit"


def report_date(app: Dudao, on: date | None, by_unit: bool) -> date:
    """A report's date: given by staff; for a unit, today (when left out)."""
    if on is not None:
        return on
    if by_unit:
        return local_date(app.now())
    raise InvalidInput("补录整改报告须给出报告日期", "a report recorded by staff needs its date",
                       field="on")


def submit_report(app: Dudao, finding_id: UUID | str, *, on: date | None, text: str,
                  actor: str, files: Sequence[Upload] = (),
                  role: str | None = None) -> list[dict[str, Any]]:
    """整改报告 with its files; returns the files as the event records them. ``role`` is the
    caller's (a token's or a signed-in user's); without it the actor string says whether
    the unit itself reports (the command line's ``--actor unit:…``)."""
    by_unit = role == "unit" if role is not None else is_unit(actor)
    finding = app.get_finding(finding_id)
    if len(files) > MAX_FILES:
        raise InvalidInput(f"佐证材料过多（{len(files)}个，每份报告最多{MAX_FILES}个），本次未记录",
                           f"too many files ({len(files)} > {MAX_FILES}); nothing recorded",
                           field="files")
    day = report_date(app, on, by_unit)
    examined: list[EvidenceFile] = []
    if files:
        evidence = store(app)
        examined = [evidence.examine(name, source) for name, source in files]
    now = app.now()
    # every value checked before any file is stored (the domain's own checks, on a copy)
    finding.submit_report(on=day, text=text, actor=actor, recorded_at=now, files=examined,
                          by_unit=by_unit)
    if files:
        evidence = store(app)
        for file, (_, source) in zip(examined, files, strict=True):
            evidence.put(file, source, now=now)
    app.commit(finding)
    return [f.record() for f in examined]


def record_finding(app: Dudao, files: Sequence[Upload], *, finding_id: UUID | None,
                   **fields: Any) -> UUID:
    """登记问题 with 现场材料 (a photo from the field, say): each file examined, the finding
    built (every value and the files checked by the domain), the files stored
    (content-addressed, streamed), then the finding saved. Any refusal records nothing."""
    if len(files) > MAX_FILES:
        raise InvalidInput(f"现场材料过多（{len(files)}个，每次最多{MAX_FILES}个），本次未记录",
                           f"too many files ({len(files)} > {MAX_FILES}); nothing recorded",
                           field="files")
    evidence = store(app)
    examined = [evidence.examine(name, source) for name, source in files]
    finding = app.new_finding(finding_id=finding_id, files=examined, **fields)
    now = app.now()
    for file, (_, source) in zip(examined, files, strict=True):
        evidence.put(file, source, now=now)
    app.commit(finding)
    return finding.id  # type: ignore[no-any-return]


def finding_file(app: Dudao, finding: Finding, sha256: str) -> tuple[dict[str, Any], Iterator[bytes]]:
    """A file this finding names (its 现场材料 or a report's), and its bytes (streamed)."""
    check_sha256(sha256)
    meta = finding.file(sha256)
    if meta is None or not store(app).has(sha256):
        raise NotFound(f"该问题没有哈希为 {sha256[:12]}… 的佐证材料",
                       f"the finding has no file {sha256}", field="sha256")
    return meta, store(app).chunks(sha256)


def request_extension(app: Dudao, finding_id: UUID | str, *, to: date, reason: str,
                      actor: str) -> str:
    finding = app.get_finding(finding_id)
    request_id = finding.request_extension(to=to, reason=reason, actor=actor,
                                           recorded_at=app.now())
    app.commit(finding)
    return request_id


def split_request_id(request_id: str) -> tuple[str, int]:
    """``<finding id>.<n>`` → the finding's id and the request's number."""
    finding, dot, number = request_id.strip().rpartition(".")
    if not dot or not finding or not number.isdigit():
        raise NotFound(f"延期申请 {request_id} 不存在（编号形如“问题编号.序号”）",
                       f"unknown extension request {request_id}", field="request")
    return finding, int(number)


def request_finding(app: Dudao, request_id: str) -> Finding:
    """The finding an extension request is on (its id says which)."""
    finding_id, _ = split_request_id(request_id)
    try:
        finding = app.get_finding(finding_id)
    except NotFound:
        raise NotFound(f"延期申请 {request_id} 不存在", f"unknown extension request {request_id}",
                       field="request") from None
    if finding.extension_request(request_id.strip()) is None:
        raise NotFound(f"延期申请 {request_id} 不存在", f"unknown extension request {request_id}",
                       field="request")
    return finding


def decide_extension(app: Dudao, request_id: str, *, grant: bool, note: str | None,
                     actor: str) -> dict[str, Any]:
    """批准或不批准: a grant moves the deadline in the same commit."""
    finding = request_finding(app, request_id)
    deadline = finding.decide_extension(request_id=request_id.strip(), grant=grant, note=note,
                                        calendar=app.calendar, actor=actor,
                                        recorded_at=app.now())
    app.commit(finding)
    return {"request_id": request_id.strip(), "finding_id": str(finding.id), "granted": grant,
            "deadline": deadline or finding.deadline}


# ---------------------------------------------------------------- the audit


def check_files(app: Dudao, named: Sequence[tuple[int, str, list[dict[str, Any]]]],
                report: Report) -> None:
    """Re-hash every file the (position, finding, files) of reports name; each one changed
    or missing is a problem of the verification, in order (the first bad is named first)."""
    if not named:
        return
    evidence = store(app)
    checked: dict[str, Any] = {}
    found: list[Problem] = []
    for position, finding_id, files in named:
        for f in files:
            sha = f.get("sha256", "")
            if sha not in checked:
                checked[sha] = evidence.check(sha, int(f.get("size", 0)))
            bad = checked[sha]
            if bad is not None:
                found.append(problem("file_missing" if bad.missing else "file_changed",
                                     position, finding=finding_id, name=f.get("name", ""),
                                     sha256=sha))
    if found:
        report.problems = sorted([*report.problems, *found], key=lambda p: p.position)[:100]
        report.problem_count += len(found)
