"""Locust load for bench/api.py: inspectors recording findings through POST /api/v1/findings."""

from __future__ import annotations

import itertools
import os

from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

TOKEN = os.environ["DUDAO_BENCH_TOKEN"]
UNITS = os.environ.get("DUDAO_BENCH_UNITS", "U000").split(",")
COUNTER = itertools.count()


class Inspector(FastHttpUser):
    wait_time = constant(0)

    @task
    def record_finding(self) -> None:
        n = next(COUNTER)
        body = {"unit": UNITS[n % len(UNITS)], "on": "2024-10-15", "inspector": "张督学",
                "text": f"基准测试问题 {n}", "severity": "general"}
        with self.client.post("/api/v1/findings", json=body, name="POST /findings",
                              headers={"Authorization": f"Bearer {TOKEN}"},
                              catch_response=True) as r:
            if r.status_code != 201:
                r.failure(f"status {r.status_code}: {r.text[:200]}")
