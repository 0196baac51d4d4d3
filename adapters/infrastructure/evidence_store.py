"""佐证材料 stored content-addressed (SHA-256) in the event store's own database.

Two tables beside the events, on SQLite and PostgreSQL alike: ``evidence_files(sha256,
size, type, stored_at)`` and ``evidence_chunks(sha256, seq, data)``, each chunk at most
:data:`CHUNK` bytes. Why a table and not a directory beside the store: one database to
back up, copy and restore (a PostgreSQL store has no "beside" on the server's disk); a
file is written in the same database the events are, and the audit covers it (the event
seals each file's hash; ``audit verify`` re-hashes every file an event names).

A file is read twice from a seekable source (an upload spooled by the multipart parser,
or a file on disk): once to hash, size and sniff it, once to store it chunk by chunk. It is
never held whole in memory, and storing it again is harmless (same hash, same rows): a
report's files are stored before its event is saved, so a retry after a failure costs
nothing. Reading streams the chunks in order.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from adapters.infrastructure.unavailable import StoreUnavailable
from domain.evidence import HEAD_BYTES, EvidenceFile, check_name, check_size, is_zip, sniff

CHUNK = 256 * 1024
"""Bytes of one stored chunk."""
MAX_ZIP_MEMBERS = 10_000

metadata = MetaData()
evidence_files = Table(
    "evidence_files", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("type", String(120), nullable=False),
    Column("chunks", Integer, nullable=False),
    Column("stored_at", DateTime(timezone=True), nullable=False),
)
evidence_chunks = Table(
    "evidence_chunks", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)


@dataclass(frozen=True)
class Problem:
    """A file named by an event that the store no longer holds as it was."""

    sha256: str
    missing: bool


class EvidenceStore:
    """The files of the store (see the module doc)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        try:
            metadata.create_all(engine, checkfirst=True)
        except IntegrityError:
            pass  # another process made them meanwhile
        except OperationalError as e:
            raise _unavailable(e) from e

    # ------------------------------------------------------------------ write

    def examine(self, raw_name: str | None, source: IO[bytes]) -> EvidenceFile:
        """One pass over ``source``: its name checked, its size within the limit, its type
        told by its content, its hash. Refuses (naming the file) before anything is stored."""
        name = check_name(raw_name)
        source.seek(0)
        digest = hashlib.sha256()
        head = b""
        size = 0
        while block := source.read(CHUNK):
            if len(head) < HEAD_BYTES:
                head += block[:HEAD_BYTES - len(head)]
            digest.update(block)
            size += len(block)
            check_size(name, size)
        check_size(name, size)
        members: set[str] | None = None
        if is_zip(head):
            members = _zip_members(source)
        return EvidenceFile(name=name, type=sniff(name, head, members), size=size,
                            sha256=digest.hexdigest())

    def put(self, file: EvidenceFile, source: IO[bytes], *, now: datetime) -> None:
        """Store ``source`` (already examined as ``file``) under its hash, chunk by chunk, in
        one transaction; nothing when the store holds it already. Re-hashes as it writes: a
        source changed since it was examined is refused and nothing is stored."""
        try:
            if self.has(file.sha256):
                return
            source.seek(0)
            digest = hashlib.sha256()
            with self.engine.begin() as conn:
                seq = 0
                while block := source.read(CHUNK):
                    digest.update(block)
                    conn.execute(insert(evidence_chunks).values(
                        sha256=file.sha256, seq=seq, data=block))
                    seq += 1
                if digest.hexdigest() != file.sha256:
                    raise RuntimeError("the file changed while it was stored")
                conn.execute(insert(evidence_files).values(
                    sha256=file.sha256, size=file.size, type=file.type, chunks=seq,
                    stored_at=now))
        except IntegrityError:
            if not self.has(file.sha256):  # not a twin writer's: a real failure
                raise
        except OperationalError as e:
            raise _unavailable(e) from e

    # ------------------------------------------------------------------- read

    def has(self, sha256: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(evidence_files.c.sha256).where(
                evidence_files.c.sha256 == sha256)).first() is not None

    def info(self, sha256: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(evidence_files).where(
                evidence_files.c.sha256 == sha256)).mappings().first()
        return dict(row) if row is not None else None

    def chunks(self, sha256: str) -> Iterator[bytes]:
        """The file's bytes, one stored chunk at a time (a query each: never all at once)."""
        seq = 0
        while True:
            with self.engine.connect() as conn:
                data = conn.execute(select(evidence_chunks.c.data).where(
                    evidence_chunks.c.sha256 == sha256,
                    evidence_chunks.c.seq == seq)).scalar()
            if data is None:
                return
            yield bytes(data)
            seq += 1

    def check(self, sha256: str, size: int) -> Problem | None:
        """Re-hash a stored file: None when it is there and unchanged."""
        info = self.info(sha256)
        if info is None:
            return Problem(sha256, missing=True)
        digest = hashlib.sha256()
        seen = 0
        for block in self.chunks(sha256):
            digest.update(block)
            seen += len(block)
        if seen == 0 and size > 0:
            return Problem(sha256, missing=True)
        if digest.hexdigest() != sha256 or seen != size:
            return Problem(sha256, missing=False)
        return None

    # -------------------------------------------------------- tests and tools

    def _tamper(self, sha256: str, seq: int, data: bytes) -> None:
        """Overwrite one stored chunk (the tamper tests do what an intruder would)."""
        with self.engine.begin() as conn:
            conn.execute(update(evidence_chunks).where(
                evidence_chunks.c.sha256 == sha256, evidence_chunks.c.seq == seq,
            ).values(data=data))

    def _remove(self, sha256: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(evidence_chunks).where(evidence_chunks.c.sha256 == sha256))
            conn.execute(delete(evidence_files).where(evidence_files.c.sha256 == sha256))


def _zip_members(source: IO[bytes]) -> set[str]:
    """The member names of a zip container (its central directory only), or an empty set
    when it is not a readable zip."""
    source.seek(0)
    try:
        with zipfile.ZipFile(source) as z:
            infos = z.infolist()
            return {i.filename for i in infos[:MAX_ZIP_MEMBERS]}
    except (zipfile.BadZipFile, OSError, ValueError):
        return set()
    finally:
        source.seek(0)


def _unavailable(e: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"事件库无法访问：{type(e).__name__}",
                            f"the event store is unreachable: {type(e).__name__}", field="--db")
