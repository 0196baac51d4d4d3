"""督导通报: "约谈" as a rung reached is not an interview held (issue 14, "no misleading
numbers"). In the scenario of tests/integration/test_reports.py two findings escalated to
约谈 (f6 of U1, h1 of U3); only f6's interview was held (10-30). The bulletin and the unit
reports say both, in words: 2 findings reached 约谈, 1 interview held, 1 still waiting."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator

import pytest

from adapters.rendering.reports import live
from adapters.rendering.reports.render import render
from adapters.service_layer.application import Dudao
from tests.conftest import Clock
from tests.integration.test_reports import scenario


@pytest.fixture(autouse=True)
def _close_pools() -> Iterator[None]:
    yield
    gc.collect()


def text_of(html: str) -> str:
    return re.sub(r"\s+", "", re.sub(r"<[^>]+>", "", html))


def test_a_rung_reached_is_told_apart_from_an_interview_held(app: Dudao, db: str,
                                                             clock: Clock) -> None:
    scenario(app, clock)
    with live(app, db) as v:
        b = v.bulletin()
        u1, u3 = v.unit("U1"), v.unit("U3")
    o = b["overall"]
    assert o["escalations"]["interview"] == 2
    assert (o["interview_rung"], o["interviews"], o["interviews_pending"]) == (2, 1, 1)
    assert (u1["interview_rung"], u1["interviews"], u1["interviews_pending"]) == (1, 1, 0)
    assert (u3["interview_rung"], u3["interviews"], u3["interviews_pending"]) == (1, 0, 1)

    said = ("约谈：升级到约谈一级的问题2条，实际举行约谈1次，"
            "升级到约谈一级而尚未约谈（未销号）的问题1条。")
    assert said in text_of(render(b, "html"))
    assert said in render(b, "md").replace(" ", "")
    # the rung's own count stays what it is: escalations, not interviews
    assert "约谈2次" in text_of(render(b, "html"))
    assert "举行约谈2" not in text_of(render(b, "html"))

    page = text_of(render(u3, "html"))
    assert "1升级到约谈（问题）" in page and "0约谈（已举行）" in page
    md = render(u3, "md")
    assert "| 升级到约谈（问题） | 约谈（已举行） |" in md
