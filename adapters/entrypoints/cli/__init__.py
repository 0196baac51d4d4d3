"""The ``dudao`` command line (INTERFACE.md).

Global options: --db, --now, --json, --actor. Each command group lives in a
module of this package and registers itself on :data:`cli` when imported;
:data:`adapters.entrypoints.cli.base.COMMANDS` says which module holds which command, and
the module is imported only when its command runs.
"""

from __future__ import annotations

import sys

from adapters.entrypoints.cli.base import cli, run

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> None:
    sys.exit(run(cli, list(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":  # pragma: no cover
    main()
