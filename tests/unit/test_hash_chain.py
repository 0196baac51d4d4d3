"""The hash chain's arithmetic on hand-made rows (no store): seals, links, checkpoints."""

from __future__ import annotations

import pytest

from adapters.infrastructure.hash_chain import (
    GENESIS,
    Checkpoint,
    event_hash,
    link,
    seal,
    verify_rows,
)


def test_verify_rows_on_hand_made_chains() -> None:
    rows = [(1, "a" * 32, 1, "t", b"x"), (2, "b" * 32, 1, "t", b"y"), (5, "c" * 32, 1, "t", b"z")]
    chain = seal(GENESIS, rows)
    assert chain[0][2] == link(GENESIS, event_hash(*rows[0]))
    assert verify_rows(rows, chain).ok
    assert verify_rows([], []).ok
    cp = Checkpoint(2, chain[1][2].hex())
    assert verify_rows(rows, chain, cp).ok
    assert verify_rows(rows[:2], chain[:2], Checkpoint(5, chain[2][2].hex())).first_bad == 3
    assert verify_rows(rows, chain, Checkpoint(3, chain[1][2].hex())).first_bad == 3
    odd = [(1, "a" * 32, 1, "t", "x")]  # text where bytes were sealed
    assert verify_rows(odd, chain[:1]).first_bad == 1
    with pytest.raises(Exception, match="POSITION:HASH"):
        Checkpoint.parse("12:abc")
    assert Checkpoint.parse(f" 2 : {chain[1][2].hex().upper()} ") == cp
