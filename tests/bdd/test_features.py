"""The Chinese feature files in features/, run through the command line.

Every step drives ``dudao`` exactly as an operator would (in process, with
``--db`` a fresh SQLite file, ``--now`` the day of the step and ``--json``),
so the policy the feature files state is the policy the command line applies.
The steps are in tests/bdd/steps/; pytest-bdd finds them among this module's names.
"""

from __future__ import annotations

from pytest_bdd import scenarios

# 问责决定.feature's steps (accountability cases).
from tests.bdd.steps.cases import *  # noqa: F403
from tests.bdd.steps.findings import *  # noqa: F403
from tests.bdd.steps.findings import FEATURES

# 主要负责人.feature's steps (persons, the principal at a date, the notices naming them).
from tests.bdd.steps.persons import *  # noqa: F403

# 工作滞后.feature's steps.
from tests.bdd.steps.plans import *  # noqa: F403

scenarios(str(FEATURES))
