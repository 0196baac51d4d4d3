"""Locust load for bench/api.py and bench/scale.py: inspectors recording findings through
POST /api/v1/findings.

``DUDAO_BENCH_HOSTS`` (comma-separated base URLs) spreads the users over several servers,
round robin, each server's requests named ``POST /findings @<i>`` so each has its own
figures; ``DUDAO_BENCH_RATE`` caps each user at that many requests per second (unset: as
fast as answers come back).
"""

from __future__ import annotations

import itertools
import os
from typing import Any

from locust import constant, constant_throughput, task
from locust.contrib.fasthttp import FastHttpUser

TOKEN = os.environ["DUDAO_BENCH_TOKEN"]
UNITS = os.environ.get("DUDAO_BENCH_UNITS", "U000").split(",")
HOSTS = [h for h in os.environ.get("DUDAO_BENCH_HOSTS", "").split(",") if h]
RATE = float(os.environ.get("DUDAO_BENCH_RATE") or 0)
COUNTER = itertools.count()
NEXT_HOST = itertools.count()


class Inspector(FastHttpUser):
    wait_time = constant_throughput(RATE) if RATE else constant(0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.server = ""
        if HOSTS:
            i = next(NEXT_HOST) % len(HOSTS)
            self.host = HOSTS[i]
            self.server = f" @{i}"
        super().__init__(*args, **kwargs)

    @task
    def record_finding(self) -> None:
        n = next(COUNTER)
        body = {"unit": UNITS[n % len(UNITS)], "on": "2024-10-15", "inspector": "张督学",
                "text": f"基准测试问题 {n}", "severity": "general"}
        with self.client.post("/api/v1/findings", json=body, name=f"POST /findings{self.server}",
                              headers={"Authorization": f"Bearer {TOKEN}"},
                              catch_response=True) as r:
            if r.status_code != 201:
                r.failure(f"status {r.status_code}: {r.text[:200]}")
