"""The fast decoder without a store: what it cannot decode goes to the mapper."""

from __future__ import annotations

from typing import Any

from projections.decode import FastDecoder


def test_unknown_transcoding_falls_back_to_the_mapper() -> None:
    class Note:
        state = b'{"x":{"_type_":"something_new","_data_":"1"}}'
        topic = "domain.findings:Finding.Recorded"
        originator_id = "id"
        originator_version = 1

    calls: list[Any] = []
    decode = FastDecoder(lambda n: calls.append(n) or "mapped")
    assert decode(Note()) == "mapped" and len(calls) == 1
