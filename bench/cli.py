"""How fast the command line starts, against bare imports run side by side.

Each command runs as its own process, as a user types it, ``--rounds`` times
in turn with its baseline (interleaved, so a busy machine slows both alike);
the figure is the ratio of the medians of wall time.

- ``dudao --help`` against ``python -c "import click"`` (budget: 3x);
- ``dudao --json finding show F`` on a small SQLite store against
  ``python -c "<import the storage stack>"`` (eventsourcing's SQLite and
  PostgreSQL recorders, SQLAlchemy, psycopg, pydantic, the working calendar's
  libraries; budget: 1.5x).

    .venv/bin/python -m bench.cli [--rounds 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DUDAO = [sys.executable, "-c", "from adapters.entrypoints.cli import main; main()"]
STORAGE_STACK = ("import eventsourcing.application, eventsourcing.sqlite, eventsourcing.postgres, "
                 "sqlalchemy, psycopg, pydantic, chinese_calendar, lunardate")


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def compare(name: str, command: list[str], baseline: list[str], rounds: int,
            budget: float) -> dict[str, object]:
    wall(command), wall(baseline)  # warm the file cache
    ours, base = [], []
    for _ in range(rounds):
        ours.append(wall(command))
        base.append(wall(baseline))
    m_ours, m_base = statistics.median(ours), statistics.median(base)
    ratio = m_ours / m_base
    print(f"{name:<34} {m_ours * 1000:7.0f} ms   baseline {m_base * 1000:6.0f} ms   "
          f"ratio {ratio:4.2f} (budget {budget}x) {'ok' if ratio <= budget else 'OVER'}")
    return {"command": name, "ms": round(m_ours * 1000), "baseline_ms": round(m_base * 1000),
            "ratio": round(ratio, 2), "budget": budget}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dudao-bench-cli-") as tmp:
        db = str(Path(tmp) / "cli.db")
        cli = [*DUDAO, "--db", db, "--now", "2024-10-15T09:00"]
        subprocess.run([*cli, "unit", "add", "SJYJ", "--name", "市教育局"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        done = subprocess.run([*cli, "--json", "finding", "record", "--unit", "SJYJ", "--on",
                               "2024-10-08", "--inspector", "张督学", "--text", "课后服务未覆盖"],
                              cwd=ROOT, check=True, capture_output=True, text=True)
        finding = json.loads(done.stdout)["finding_id"]
        rows = [
            compare("dudao --help", [*DUDAO, "--help"], [sys.executable, "-c", "import click"],
                    args.rounds, 3.0),
            compare("dudao --json finding show F", [*cli, "--json", "finding", "show", finding],
                    [sys.executable, "-c", STORAGE_STACK], args.rounds, 1.5),
        ]
    print(json.dumps(rows, ensure_ascii=False))


if __name__ == "__main__":
    main()
