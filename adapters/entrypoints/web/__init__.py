"""Web pages: server-rendered jinja2, no JavaScript needed, beside the API on the same app.

The pages use the same tokens and roles as the API (signed in by cookie). Modules:

- :mod:`~adapters.entrypoints.web.session`: sign in and out, the session cookie, the forms'
  CSRF tokens, and the pages' ``Visitor`` dependency (who is signed in);
- :mod:`~adapters.entrypoints.web.pages`: the overview, unit and finding pages and the
  inspector's forms;
- :mod:`~adapters.entrypoints.web.cases`: the accountability cases (问责案件): the list, a
  case's facts and steps, the forms of its next steps by role, and the 问责决定书;
- :mod:`~adapters.entrypoints.web.persons`: a unit's persons (人员): the forms to add and
  end one, and a person's record;
- :mod:`~adapters.entrypoints.web.downloads`: the findings list (xlsx, CSV, JSON) and a
  plan's 工作台账 (xlsx) as files;
- :mod:`~adapters.entrypoints.web.evidence`: a unit's 整改报告 with 佐证材料 and its
  延期申请 on the finding page, the inspector's 批准/不批准, and the files' downloads;
- :mod:`~adapters.entrypoints.web.desk`: the desks (工作台): an inspector's queues and
  search, a unit's to-do list;
- :mod:`~adapters.entrypoints.web.plans`: a plan's 工作台账 as a page, with the
  inspector's 督学签字销号 of each task;
- :mod:`~adapters.entrypoints.web.render`: the templates (``templates/``, with the
  reports' own) and the message pages (403, 404, 422).

``create_api`` includes :data:`ROUTERS` and installs :data:`EXCEPTION_HANDLERS` (a visitor
not signed in is sent to the login page).
"""

from __future__ import annotations

from adapters.entrypoints.web import (
    cases,
    desk,
    downloads,
    evidence,
    pages,
    persons,
    plans,
    session,
)

ROUTERS = (session.router, evidence.router, pages.router, cases.router, persons.router,
           downloads.router, desk.router, plans.router)
EXCEPTION_HANDLERS = session.EXCEPTION_HANDLERS
