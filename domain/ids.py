"""Stable identifiers derived from business keys."""

from __future__ import annotations

from uuid import UUID, uuid5

NAMESPACE = UUID("6f1d2c1e-5b0a-4c8e-9d3f-2a7b8c9d0e1f")


def unit_id(code: str) -> UUID:
    return uuid5(NAMESPACE, f"unit:{code}")


def roster_id(code: str) -> UUID:
    """The id of a unit's roster of persons (domain/persons.py)."""
    return uuid5(NAMESPACE, f"roster:{code}")


def keyed_id(kind: str, key: str) -> UUID:
    """The id of an object created under an idempotency key."""
    return uuid5(NAMESPACE, f"{kind}:{key}")


def parse_id(value: UUID | str) -> UUID | None:
    """An id as typed (a UUID or its text), or None when it is not one."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value).strip())
    except ValueError:
        return None
