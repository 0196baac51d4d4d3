"""The fast decoder gives exactly what eventsourcing's mapper gives, for every event."""

from __future__ import annotations

from datetime import date

from adapters.service_layer.application import Dudao
from projections.decode import FastDecoder
from tests.conftest import Clock
from tests.integration.test_reports import scenario


def test_fast_decoder_equals_the_mapper(app: Dudao, clock: Clock) -> None:
    f = scenario(app, clock)
    app.record_escalation(f["f7"], code="supervise", rule="r", policy="default",
                          policy_version=1, threshold=date(2024, 11, 1), due=None,
                          facts={"deadline": date(2024, 10, 21), "nested": [{"on": date(2024, 1, 2)}],
                                 "n": 1.5, "s": "文字"})
    decode = FastDecoder(app.decode)
    notes = list(app.all_notifications(100))
    kinds = set()
    for n in notes:
        fast, slow = decode(n), app.mapper.to_domain_event(n)
        assert type(fast) is type(slow)
        assert fast.__dict__ == slow.__dict__
        assert {k: type(v) for k, v in fast.__dict__.items()} == {
            k: type(v) for k, v in slow.__dict__.items()}
        kinds.add(type(fast).__qualname__)
    assert {"Unit.Registered", "Finding.Recorded", "Finding.RectificationOrdered",
            "Finding.ReportSubmitted", "Finding.ReviewPassed", "Finding.ReviewFailed",
            "Finding.ExtensionGranted", "Finding.InterviewHeld",
            "Finding.EscalationRaised"} <= kinds


def test_fast_reader_reads_what_the_recorder_reads(app: Dudao, db: str, clock: Clock) -> None:
    from uuid import UUID

    from projections.read import fast_reader, uuid_of

    scenario(app, clock)
    read = fast_reader(app)
    if db.startswith("postgresql"):
        assert read is None  # the recorder's own reading is used there
        return
    assert read is not None
    for start, limit in ((1, 1000), (5, 7), (app.event_count(), 10), (app.event_count() + 1, 10)):
        slow = app.read_log(start, limit)
        fast = read(start, limit)
        assert [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in slow] == [
            tuple(n) for n in fast]
        assert all(type(n.originator_id) is UUID for n in fast)
    u = UUID("a6c84814-ceba-5f21-8fb0-ee769bfb06ac")
    assert uuid_of(u.hex) == u and uuid_of(str(u)) == u and hash(uuid_of(u.hex)) == hash(u)
    assert uuid_of(u.hex).is_safe == u.is_safe
