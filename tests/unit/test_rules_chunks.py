"""The ruleset asserts facts a chunk at a time: it decides what it decides fact by fact."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from rules.engine import CHUNK, compiled
from rules.policy import load_policy

CODES = ["reminder", "supervise", "interview", "public_notice", "accountability"]


def random_fact(ruleset: Any, rnd: random.Random, i: int) -> dict[str, Any]:
    """A finding's fact with random thresholds around today, status, severity and rung."""
    today = date(2024, 10, 15).toordinal()
    start = today - rnd.randint(-5, 40)
    days: dict[str, tuple[int, str, bool]] = {}
    for code in CODES:
        days[code] = (start, rnd.choice(["deadline", "failed_reviews"]), rnd.random() < 0.2)
        start += rnd.randint(0, 15)
    state = {
        "finding_id": f"f{i:05d}",
        "status": rnd.choice(["rectifying", "rectifying", "under_review", "closed"]),
        "severity": rnd.choice(["general", "serious", "major"]),
        "top": rnd.choice([-1, -1, 0, 1, 2, 3]),
        "report_on": rnd.choice([None, None, "2024-10-01", "2024-10-20"]),
    }
    return ruleset.fact(state, days, today, "x")


def test_chunks_fire_what_single_facts_fire() -> None:
    ruleset = compiled(load_policy("default"))
    rnd = random.Random(20241015)
    facts = [random_fact(ruleset, rnd, i) for i in range(3 * CHUNK + 17)]
    one_by_one = set()
    unmatched = 0
    for fact in facts:
        fired = ruleset.decide([dict(fact)], sid="single")
        unmatched += not fired
        one_by_one.update(fired)
    chunked = ruleset.decide([dict(f) for f in facts], sid="chunked")
    # facts that fire and facts that match nothing are mixed in every chunk
    assert one_by_one and unmatched > CHUNK // 4
    assert len(chunked) == len(set(chunked))
    assert set(chunked) == one_by_one
