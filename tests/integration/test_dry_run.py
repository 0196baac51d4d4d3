"""``dudao escalate --dry-run`` lists exactly what the real run at the same now records,
工作滞后 findings included, and records nothing."""

from __future__ import annotations

import pytest

from tests.conftest import SAMPLE_PLANS, Cli

PLAN = SAMPLE_PLANS / "county-high-schools-2023-2025.txt"
NOW = "2026-03-01T09:00"


def rows(data: dict) -> list[tuple]:  # type: ignore[type-arg]
    return sorted((e["finding_id"], e["unit"], e["code"], e["rung"], e["rule"],
                   e["policy_version"], e["threshold"], e["due"]) for e in data["escalations"])


def lagging(data: dict) -> list[tuple]:  # type: ignore[type-arg]
    return sorted((r["finding_id"], r["task"], r["unit"], r["threshold"], r["deadline"])
                  for r in data["lagging"])


def test_dry_run_on_a_freshly_imported_plan_lists_what_the_real_run_records(
        db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """On SQLite and on PostgreSQL."""
    cli = Cli(db, capsys)
    cli.json("plan", "import", str(PLAN), now="2023-06-01T09:00")
    before = cli.events()

    dry = cli.json("escalate", "--dry-run", now=NOW)
    assert cli.events() == before  # nothing recorded
    assert dry["dry_run"] is True
    assert dry["lagging"] and dry["escalations"]

    real = cli.json("escalate", now=NOW)
    assert real["dry_run"] is False
    assert lagging(dry) == lagging(real)
    assert rows(dry) == rows(real)
    # every escalation the dry run listed has its notice text, as the real run's
    assert {e["notice"] for e in dry["escalations"]} == {e["notice"] for e in real["escalations"]}
    # and once recorded, a dry run at the same now finds nothing more
    again = cli.json("escalate", "--dry-run", now=NOW)
    assert again["lagging"] == [] and again["escalations"] == []
