"""Group commit: concurrent saves share a transaction; a failing one fails alone, whole."""

from __future__ import annotations

import threading
from typing import Any

from adapters.infrastructure.group_commit import GroupCommitter


class Store:
    """A fake store: remembers saved events; refuses any batch holding a 'bad' event."""

    def __init__(self) -> None:
        self.saved: list[Any] = []
        self.calls: list[int] = []
        self.gate = threading.Event()

    def save(self, *events: Any) -> None:
        self.gate.wait(5)
        self.calls.append(len(events))
        if any(e == "bad" for e in events):
            raise ValueError("refused")
        self.saved.extend(events)


def test_concurrent_saves_are_batched_and_a_bad_one_fails_alone() -> None:
    store = Store()
    committer = GroupCommitter(store.save)
    errors: dict[int, BaseException] = {}

    def submit(i: int, events: list[Any]) -> None:
        try:
            committer.save(events)
        except BaseException as e:
            errors[i] = e

    first = threading.Thread(target=submit, args=(0, ["a0", "a1"]))
    first.start()  # the leader, held at the store's gate
    while not committer._leading:
        pass
    others = [threading.Thread(target=submit, args=(i, [f"e{i}", "bad"] if i == 3 else [f"e{i}"]))
              for i in range(1, 6)]
    for t in others:
        t.start()
    while len(committer._waiting) < 5:
        pass
    store.gate.set()
    for t in [first, *others]:
        t.join()
    assert list(errors) == [3] and isinstance(errors[3], ValueError)
    # the first save alone, then one batch of five that failed, then each on its own
    assert store.calls[0] == 2 and store.calls[1] == 6 and len(store.calls) == 2 + 5
    assert sorted(store.saved) == ["a0", "a1", "e1", "e2", "e4", "e5"]  # e3 not half-written
    assert committer.batches == 2 and committer.saves == 6
