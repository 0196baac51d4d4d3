"""features/工作滞后.feature, run through the command line."""

from __future__ import annotations

from pathlib import Path

from pytest_bdd import scenarios

# pytest-bdd registers each step as a fixture of the module that defines it: import them all.
from tests.steps_plans import *  # noqa: F403

scenarios(str(Path(__file__).resolve().parent.parent / "features" / "工作滞后.feature"))
