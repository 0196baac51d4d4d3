"""The one error of an unreachable store, shared by the service and the stores beside the
events (the service layer re-exports it as ``application.StoreUnavailable``)."""

from __future__ import annotations

from domain.errors import DudaoError


class StoreUnavailable(DudaoError):
    """The event store cannot be reached."""
