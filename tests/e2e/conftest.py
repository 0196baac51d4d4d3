"""Fixtures of the end-to-end tests: a started HTTP service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Clock


@pytest.fixture
def api(db: str, clock: Clock) -> Iterator[object]:
    """A running HTTP service (uvicorn on a free port) on ``db``; see tests/apiserver.py."""
    from tests.apiserver import ApiServer

    server = ApiServer(db, clock).start()
    yield server
    server.stop()
