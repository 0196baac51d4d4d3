"""Every list of the API pages by ``limit`` and an opaque ``cursor`` (keyset, not offset),
through real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx

from tests.apiserver import ApiServer
from tests.e2e.test_api import setup_units

Json = dict[str, Any]


def record_many(client: httpx.Client, n: int, unit: str = "HTQ") -> list[str]:
    """``n`` findings of one inspection (recorded in one request), on three dates."""
    ids: list[str] = []
    for day in ("2024-09-23", "2024-09-24", "2024-09-25"):
        r = client.post("/inspections", json={
            "unit": unit, "on": day, "inspectors": ["张督学"],
            "findings": [{"text": f"{day} 问题{i}"} for i in range(n // 3)]})
        assert r.status_code == 201, r.text
        ids += r.json()["finding_ids"]
    return ids


def walk(client: httpx.Client, path: str, key: str, limit: int,
         between: Any = None, **query: str) -> tuple[list[Json], int]:
    """Every row of a list, page by page; ``between(n)`` runs after page ``n``."""
    rows: list[Json] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = query | {"limit": limit} | ({"cursor": cursor} if cursor else {})
        r = client.get(path, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["count"] == len(body[key]) <= limit
        rows += body[key]
        pages += 1
        if between is not None:
            between(pages)
        cursor = body["next_cursor"]
        if cursor is None:
            return rows, pages
        assert pages < 100, "the cursor does not move on"


def test_findings_walk_every_page_once_even_when_one_is_added_midway(api: ApiServer) -> None:
    setup_units(api)
    api.clock.at("2024-09-25")
    inspector = api.client(api.token("inspector", name="张督学"))
    ids = record_many(inspector, 24)
    added: list[str] = []

    def add_one(page: int) -> None:
        if page == 2:  # a new finding of the newest date: sorts before the cursor
            r = inspector.post("/findings", json={"unit": "NZQ", "on": "2024-09-25",
                                                  "inspector": "张督学", "text": "翻页中新登记"})
            assert r.status_code == 201, r.text
            added.append(r.json()["finding_id"])
            r = inspector.post("/findings", json={"unit": "NZQ", "on": "2024-09-20",
                                                  "inspector": "张督学", "text": "更早的问题"})
            added.append(r.json()["finding_id"])  # sorts after the cursor: this walk sees it

    rows, pages = walk(inspector, "/findings", "findings", 5, add_one)
    got = [r["finding_id"] for r in rows]
    assert len(got) == len(set(got)), "a finding came twice"
    assert set(ids) <= set(got), "a finding present from the start was skipped"
    assert added[0] not in got and added[1] in got
    assert pages == 5  # 25 rows by 5: the fifth page, full, says there is no next
    dates = [r["on"] for r in rows]
    assert dates == sorted(dates, reverse=True), "newest first"

    # a fresh walk sees all 26, once each; with a filter too
    rows, _ = walk(inspector, "/findings", "findings", 7)
    assert len({r["finding_id"] for r in rows}) == len(rows) == 26
    rows, _ = walk(inspector, "/findings", "findings", 1, unit="NZQ")
    assert {r["finding_id"] for r in rows} == set(added)


def test_limit_above_the_maximum_and_a_forged_cursor_are_refused(api: ApiServer) -> None:
    setup_units(api)
    inspector = api.client(api.token("inspector", name="张督学"))
    r = inspector.get("/findings", params={"limit": 1001})
    assert r.status_code == 422 and r.json()["field"] == "limit", r.text
    r = inspector.get("/findings", params={"limit": 0})
    assert r.status_code == 422 and r.json()["field"] == "limit", r.text
    r = inspector.get("/findings", params={"cursor": "bm90LWEtY3Vyc29y"})
    assert r.status_code == 422 and r.json()["field"] == "cursor", r.text
    assert "next_cursor" in r.json()["message"]
    r = inspector.get("/findings", params={"limit": 1000})
    assert r.status_code == 200 and r.json() == {"findings": [], "count": 0, "next_cursor": None}


def test_a_unit_walks_its_own_findings_only(api: ApiServer) -> None:
    setup_units(api)
    api.clock.at("2024-09-25")
    inspector = api.client(api.token("inspector", name="张督学"))
    mine = record_many(inspector, 6, unit="HTQ")
    record_many(inspector, 6, unit="NZQ")
    unit = api.client(api.token("unit", unit="HTQ"))
    rows, pages = walk(unit, "/findings", "findings", 4)
    assert sorted(r["finding_id"] for r in rows) == sorted(mine) and pages == 2


def test_persons_walk_in_their_order_a_page_at_a_time(api: ApiServer) -> None:
    from tests.e2e.test_persons_api import add

    setup_units(api)
    api.clock.at("2024-09-25")
    admin = api.client(api.token("admin", name="管理员"))
    for i in range(5):  # equal units and dates: the order goes down to name and id
        add(admin, unit="HTQ", name=f"王{i % 2}", post=f"职务{i}")
    add(admin, unit="HTQ", name="陈明", principal=True)
    add(admin, unit="NZQ", name="赵一")
    whole = admin.get("/persons", params={"limit": 1000}).json()
    assert whole["count"] == 7 and whole["next_cursor"] is None
    rows, pages = walk(admin, "/persons", "persons", 2)
    assert pages == 4 and rows == whole["persons"]  # the same rows in the same order
    assert rows[0]["name"] == "陈明" and rows[-1]["unit"] == "NZQ"  # principals first
    r = admin.get("/persons", params={"limit": 5000})
    assert r.status_code == 422 and r.json()["field"] == "limit"


def test_accountability_cases_take_limit_and_cursor(api: ApiServer) -> None:
    setup_units(api)
    committee = api.client(api.token("committee", name="委员会"))
    body = committee.get("/accountability", params={"limit": 3}).json()
    assert body == {"cases": [], "count": 0, "next_cursor": None}
    r = committee.get("/accountability", params={"cursor": "!!"})
    assert r.status_code == 422 and r.json()["field"] == "cursor"
