"""A FastAPI app serving only the web pages, for tests and until the API serves them.

``StaticPrincipal`` follows the API's permission table (adapters.auth on the
API branch): every role reads, only an inspector records findings and orders
rectification, a unit token is limited to its own unit.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from adapters.service import Dudao
from adapters.web import Lookup, web_router

INSPECTOR_ACTIONS = frozenset({"finding.record", "finding.order", "finding.review",
                               "finding.extend", "finding.interview", "inspection.record"})
READ_ACTIONS = frozenset({"unit.read", "finding.read", "report.read"})


@dataclass(frozen=True)
class StaticPrincipal:
    role: str
    unit: str | None = None
    name: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name or self.unit or 'web'}"

    def may(self, action: str) -> bool:
        if action in READ_ACTIONS:
            return True
        if action in INSPECTOR_ACTIONS:
            return self.role == "inspector"
        if action == "finding.report":
            return self.role == "unit"
        return self.role == "admin"

    def sees_unit(self, unit: str) -> bool:
        return self.role != "unit" or self.unit == unit


def create_app(app: Dudao, db: str, lookup: Lookup) -> FastAPI:
    web = FastAPI(title="dudao web", docs_url=None, redoc_url=None, openapi_url=None)
    web.include_router(web_router(app, db, lookup))
    return web
