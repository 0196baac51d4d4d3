"""The living documentation's time is Beijing time, whatever the machine's zone."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path

from adapters.rendering.livedoc import main
from domain.time import SHANGHAI


def test_the_generated_time_is_beijing_time(tmp_path: Path) -> None:
    source = tmp_path / "features.json"
    source.write_text(json.dumps([]), encoding="utf-8")
    moment = datetime(2024, 12, 31, 23, 30, tzinfo=SHANGHAI)  # 15:30 UTC
    os.utime(source, (moment.timestamp(), moment.timestamp()))
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        assert main([str(source), str(tmp_path / "features.html")]) == 0
    finally:
        if previous is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = previous
        time.tzset()
    page = (tmp_path / "features.html").read_text(encoding="utf-8")
    assert "生成于 2024-12-31 23:30（北京时间）" in page
    assert 'data-rung="listed_supervision"' in page  # the example policies' tables too
