"""Tamper evidence: the hash chain over the event log, and its verification.

Every stored event is sealed, in the same transaction that stores it, by a
row of the chain table ``dudao_audit_chain``::

    event_hash(p) = SHA-256( "p\\0originator\\0version\\0topic\\0" + state )
    chain_hash(p) = SHA-256( chain_hash(previous sealed position) + event_hash(p) )

where ``p`` is the event's position (its notification id) and the first link
follows 32 zero bytes. The chain table is appended in position order by the
writer that holds the event table's write lock, and never updated.

Verification walks the events and the chain rows side by side in position
order. This module is pure (no I/O): the stores hand it rows.

- an event whose bytes differ from what was sealed: ``changed`` (a payload
  byte or a field was edited, or two rows were swapped);
- a sealed position with no event: ``missing`` (a row was deleted or moved);
- an event with no seal: ``unsealed`` (a row was inserted or moved in, or the
  chain table was emptied or cut; the store never seals such events by itself);
- a chain row that does not follow from the previous one: ``chain``;
- against a checkpoint (position, hash) kept outside the system: the chain
  recomputed from the events alone must reach that hash at that position
  (``checkpoint``), and the store must still reach that position
  (``truncated``: the newest events were cut off, seals and all).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from domain.errors import InvalidInput

GENESIS = bytes(32)
CHAIN_TABLE = "dudao_audit_chain"

# One stored event as the stores hand it over: position, originator id as
# stored (hex of the UUID), originator version, topic, state bytes.
EventRow = tuple[int, str, int, str, bytes]
# One chain row: position, event hash, chain hash.
ChainRow = tuple[int, bytes, bytes]


def event_bytes(position: int, originator: str, version: int, topic: str,
                state: bytes) -> bytes:
    """The canonical bytes of a stored event at a position (what is hashed)."""
    try:
        return b"%d\x00%s\x00%d\x00%s\x00" % (
            position, originator.encode(), version, topic.encode()) + state
    except (TypeError, AttributeError, ValueError):
        return odd_event_bytes((position, originator, version, topic, state))


def odd_event_bytes(row: Any) -> bytes:
    """Bytes of a row whose columns do not have the types the recorder writes.

    Only a tampered row looks like this (SQLite lets any column hold any
    type). Each odd value is marked with its type, so it never hashes like
    the value that was sealed.
    """
    expected: tuple[type | tuple[type, ...], ...] = (
        int, str, int, str, (bytes, bytearray, memoryview))
    parts = []
    for value, kind in zip(row, expected, strict=False):
        if isinstance(value, kind) and not isinstance(value, bool):
            if isinstance(value, (bytes, bytearray, memoryview)):
                parts.append(bytes(value))
            else:
                parts.append(str(value).encode())
        else:
            parts.append(b"\xff" + type(value).__name__.encode() + b":" + repr(value).encode())
    return b"\x00".join(parts)


def event_hash(position: int, originator: str, version: int, topic: str,
               state: bytes) -> bytes:
    return hashlib.sha256(event_bytes(position, originator, version, topic, state)).digest()


def link(previous: bytes, event_digest: bytes) -> bytes:
    return hashlib.sha256(previous + event_digest).digest()


def seal(previous: bytes, events: Iterable[EventRow]) -> list[ChainRow]:
    """Chain rows for events that follow a chain head with hash ``previous``."""
    rows: list[ChainRow] = []
    current = previous
    for position, originator, version, topic, state in events:
        digest = event_hash(position, originator, version, topic, state)
        current = link(current, digest)
        rows.append((position, digest, current))
    return rows


@dataclass(frozen=True)
class Checkpoint:
    """A head of the chain: the last sealed position and its chain hash."""

    position: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        match = re.fullmatch(r"\s*(\d+)\s*:\s*([0-9a-fA-F]{64})\s*", text or "")
        if not match:
            raise InvalidInput(
                f"检查点格式不对：{text!r}，应为 位置:哈希（如 120:3fa4…，哈希为64位十六进制）",
                f"invalid checkpoint {text!r}: expected POSITION:HASH (64 hex digits)",
                field="--checkpoint",
            )
        return cls(int(match.group(1)), match.group(2).lower())

    def as_dict(self) -> dict[str, Any]:
        return {"position": self.position, "hash": self.hash}

    def __str__(self) -> str:
        return f"{self.position}:{self.hash}"


EMPTY = Checkpoint(0, GENESIS.hex())

KINDS = {
    "changed": ("位置 {p} 的事件与封存时不同（内容或字段被改动，或与别的行调换）",
                "the event at position {p} differs from what was sealed"),
    "missing": ("位置 {p} 已封存的事件不见了（被删除或移走）",
                "the sealed event at position {p} is missing"),
    "unsealed": ("位置 {p} 的事件没有封存记录（被插入或移入，或其封存记录被删）",
                 "the event at position {p} has no seal (inserted, or its seal removed)"),
    "chain": ("位置 {p} 的链哈希接不上前一环（哈希链表被改动）",
              "the chain row at position {p} does not follow from the previous one"),
    "checkpoint": ("由事件重算到位置 {p} 的链哈希与检查点不符（位置 {p} 及之前有事件被改写）",
                   "the chain recomputed from the events up to position {p} "
                   "does not match the checkpoint"),
    "truncated": ("检查点在位置 {cp}，事件库却只到位置 {last}：位置 {p} 起的事件被截掉",
                  "the checkpoint is at position {cp} but the store ends at {last}: "
                  "events from position {p} on were cut off"),
    # 佐证材料: a file a sealed event names, re-hashed from the store (evidence_store.py)
    "file_changed": ("位置 {p} 的整改报告（问题 {finding}）所附佐证材料“{name}”已被改动"
                     "（哈希 {sha256} 与存储的内容不符）",
                     "the file {name!r} of the report at position {p} (finding {finding}) "
                     "was changed (sha256 {sha256} no longer matches)"),
    "file_missing": ("位置 {p} 的整改报告（问题 {finding}）所附佐证材料“{name}”不见了"
                     "（哈希 {sha256}）",
                     "the file {name!r} of the report at position {p} (finding {finding}) "
                     "is missing (sha256 {sha256})"),
}


@dataclass(frozen=True)
class Problem:
    position: int
    kind: str
    zh: str
    en: str

    def as_dict(self) -> dict[str, Any]:
        return {"position": self.position, "kind": self.kind, "message": self.zh,
                "message_en": self.en}


def problem(kind: str, position: int, **extra: Any) -> Problem:
    zh, en = KINDS[kind]
    return Problem(position, kind, zh.format(p=position, **extra), en.format(p=position, **extra))


@dataclass
class Report:
    """What a verification found."""

    events: int = 0
    sealed: int = 0
    head: Checkpoint = EMPTY
    checkpoint: Checkpoint | None = None
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    first_unsealed: int | None = None  # the first event without a seal
    # repairs recorded in the log (``audit seal --repair``), filled in by the service
    repairs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def first_bad(self) -> int | None:
        return min((p.position for p in self.problems), default=None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "sealed": self.sealed,
            "head": self.head.as_dict(),
            "checkpoint": self.checkpoint.as_dict() if self.checkpoint else None,
            "first_bad_position": self.first_bad,
            "problem_count": self.problem_count,
            "problems": [p.as_dict() for p in self.problems],
            "first_unsealed_position": self.first_unsealed,
            "repairs": self.repairs,
        }


def verify_rows(
    events: Iterable[EventRow],
    chain: Iterable[ChainRow],
    checkpoint: Checkpoint | None = None,
    *,
    keep: int = 100,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Verify the events against their seals (both in ascending position order).

    ``head`` is the chain recomputed from the events alone: on an intact store
    it equals the stored chain head, and it is what a checkpoint is compared to.
    At most ``keep`` problems are listed (the first ones); all are counted.
    """
    report = Report(checkpoint=checkpoint)
    sha256 = hashlib.sha256
    found: list[Problem] = []
    count = 0

    def bad(kind: str, position: int, **extra: Any) -> None:
        nonlocal count
        count += 1
        if len(found) < keep:
            found.append(problem(kind, position, **extra))

    cp_position = checkpoint.position if checkpoint else -1
    cp_hash = bytes.fromhex(checkpoint.hash) if checkpoint else b""
    cp_seen = checkpoint is not None and checkpoint.position == 0
    if cp_seen and cp_hash != GENESIS:
        bad("checkpoint", 0)
    recomputed = GENESIS
    stored = GENESIS
    last = 0  # the last position of an event or a seal
    last_event = 0
    first_unsealed: int | None = None
    n_events = n_sealed = 0
    tick = 0
    ev: Iterator[EventRow] = iter(events)
    ch: Iterator[ChainRow] = iter(chain)
    e = next(ev, None)
    c = next(ch, None)
    while e is not None or c is not None:
        if c is None or (e is not None and e[0] < c[0]):
            assert e is not None
            position = e[0]
            try:
                digest = sha256(b"%d\x00%s\x00%d\x00%s\x00" % (
                    position, e[1].encode(), e[2], e[3].encode()) + e[4]).digest()
            except (TypeError, AttributeError, ValueError):
                digest = sha256(odd_event_bytes(e)).digest()
            bad("unsealed", position)
            if first_unsealed is None:
                first_unsealed = position
            e = next(ev, None)
            n_events += 1
            last_event = position
        elif e is None or c[0] < e[0]:
            position, digest, chained = c
            bad("missing", position)
            if sha256(stored + digest).digest() != chained:
                bad("chain", position)
            stored = chained
            c = next(ch, None)
            n_sealed += 1
            last = max(last, position)
            if position == cp_position:
                cp_seen = True
                bad("checkpoint", position)
            continue
        else:
            position, sealed_digest, chained = c
            try:
                digest = sha256(b"%d\x00%s\x00%d\x00%s\x00" % (
                    position, e[1].encode(), e[2], e[3].encode()) + e[4]).digest()
            except (TypeError, AttributeError, ValueError):
                digest = sha256(odd_event_bytes(e)).digest()
            intact = digest == sealed_digest
            if not intact:
                bad("changed", position)
            if sha256(stored + sealed_digest).digest() != chained:
                bad("chain", position)
                intact = False
            e = next(ev, None)
            c = next(ch, None)
            n_events += 1
            n_sealed += 1
            last_event = position
            if intact and recomputed == stored:
                # the chain from the events alone is the sealed one: no need to hash again
                recomputed = stored = chained
                last = position
                if position == cp_position:
                    cp_seen = True
                    if recomputed != cp_hash:
                        bad("checkpoint", position)
                if progress is not None:
                    tick += 1
                    if tick == 10000:
                        progress(tick)
                        tick = 0
                continue
            stored = chained
        recomputed = sha256(recomputed + digest).digest()
        last = max(last, position)
        if position == cp_position:
            cp_seen = True
            if recomputed != cp_hash:
                bad("checkpoint", position)
        if progress is not None:
            tick += 1
            if tick == 10000:
                progress(tick)
                tick = 0
    if progress is not None and tick:
        progress(tick)
    if checkpoint is not None and not cp_seen:
        if checkpoint.position > last:
            bad("truncated", last + 1, cp=checkpoint.position, last=last)
        else:
            # the checkpoint names a position that holds neither event nor seal
            bad("missing", checkpoint.position)
    report.events = n_events
    report.sealed = n_sealed
    report.head = Checkpoint(last_event, recomputed.hex())
    report.problems = sorted(found, key=lambda p: p.position)
    report.problem_count = count
    report.first_unsealed = first_unsealed
    return report
