"""Request and response bodies of the HTTP API, each field described in Chinese.

Field names match the command line's options (INTERFACE.md). These models check
the shape of input only (types, lengths, characters a database cannot store);
every business rule and every range stays in the domain, which the models defer
to: a rectification period's bounds and the business dates' range are checked
by ``domain.findings.check_within`` and ``domain.values.check_day`` (the schema
still states the period's bounds). Severities, statuses and modes are the domain's
tables (domain/findings.py, domain/rungs.py). The rung codes are the loaded
policy's: the fields are text here, and :func:`with_rungs` writes the policy's codes
into the OpenAPI document as their enum (and one count per rung).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from domain.findings import MAX_COMMITMENT, MAX_COMMITMENTS, MAX_WITHIN, SEVERITIES, STATUSES
from domain.persons import MAX_NAME, MAX_POST
from domain.rungs import MODES, Ladder

if TYPE_CHECKING:
    Severity = str
    Status = str
    Mode = str
else:
    Severity = Literal[tuple(SEVERITIES)]
    Status = Literal[tuple(STATUSES)]
    Mode = Literal[tuple(MODES)]
RUNG_MARK = "x-dudao-rung"
# A rung code: its enum is the loaded policy's (see with_rungs).
Rung = Annotated[str, Field(max_length=20, json_schema_extra={RUNG_MARK: True})]
Role = Literal["inspector", "unit", "policy", "auditor", "committee", "admin"]


def described(names: dict[str, str]) -> str:
    """``general 一般 / serious 较重 / major 严重``."""
    return " / ".join(f"{code} {name}" for code, name in names.items())


SEVERITY_TEXT = "严重程度：" + described(SEVERITIES)
STATUS_TEXT = "状态：" + described(STATUSES)
RUNGS_TEXT = "〈升级级别〉"  # with_rungs writes the policy's codes and names here
RUNG_TEXT = "升级级别：" + RUNGS_TEXT
MODE_TEXT = "这一级代表的问责方式：" + described(MODES)

# NUL, other control characters (but tab and newlines) and lone surrogates cannot be
# stored as text in every database: refuse them at the door.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _storable(value: str) -> str:
    if _FORBIDDEN.search(value):
        raise ValueError("含有不能保存的控制字符")
    return value


def text(max_length: int, description: str, *, min_length: int = 1,
         examples: list[str] | None = None) -> Any:
    return Annotated[
        str,
        Field(min_length=min_length, max_length=max_length, description=description,
              examples=examples),
        AfterValidator(_storable),
    ]


def day(description: str) -> Any:
    """A business date; its range (2000-01-01..2099-12-31) is the domain's to check."""
    return Annotated[date, Field(description=description, examples=["2024-09-25"])]


Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
                            description="单位代码：字母、数字、“-”和“_”，以字母或数字开头，最长64位",
                            examples=["HTQ"])]
def stated(max_length: int, description: str, *, examples: list[str] | None = None) -> Any:
    """Text whose bounds (non-empty, at most ``max_length`` characters, no control
    character) are stated for the contract and checked by the domain (``check_text``): the
    model refuses only what no database can store."""
    return Annotated[
        str,
        Field(description=description, examples=examples,
              json_schema_extra={"minLength": 1, "maxLength": max_length}),
        AfterValidator(_storable),
    ]


# the bounds are stated for the contract and checked by the domain (check_within)
Within = Annotated[int, Field(description=f"整改期限天数（1–{MAX_WITHIN}），默认按工作日计算",
                              examples=[10],
                              json_schema_extra={"minimum": 1, "maximum": MAX_WITHIN})]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ----------------------------------------------------------------- requests


class UnitIn(Strict):
    """登记责任单位。"""

    code: Code
    name: text(100, "单位名称", examples=["汉台区人民政府"])  # type: ignore[valid-type]
    parent: Code | None = Field(None, description="上级单位代码（须已登记）")
    principal: text(50, "主要负责人姓名", examples=["陈明"]) | None = Field(  # type: ignore[valid-type]
        None, description="主要负责人姓名")


class InspectionFindingIn(Strict):
    """检查中发现的一条问题。"""

    text: text(4000, "问题描述", examples=["体育课开课率不足"])  # type: ignore[valid-type]
    severity: Severity = Field("general", description=SEVERITY_TEXT)
    task: text(100, "对应的实施方案任务编号") | None = Field(  # type: ignore[valid-type]
        None, description="对应的实施方案任务编号")


class InspectionIn(Strict):
    """一次督导检查：某日由哪些督学到某单位检查，及发现的问题（一并记录，要么全部成功要么全不记录）。"""

    unit: Code
    on: day("检查日期（YYYY-MM-DD，不得晚于今天）")  # type: ignore[valid-type]
    inspectors: list[text(30, "督学姓名", examples=["张督学"])] = Field(  # type: ignore[valid-type]
        ..., min_length=1, max_length=20, description="参加检查的督学姓名（1–20人，不得重复）")
    findings: list[InspectionFindingIn] = Field(
        default_factory=list, max_length=200, description="检查中发现的问题（最多200条，可为空）")


class FindingIn(Strict):
    """登记一条问题。"""

    unit: Code
    on: day("检查日期（YYYY-MM-DD，不得晚于今天）")  # type: ignore[valid-type]
    inspector: text(100, "督学姓名", examples=["张督学"])  # type: ignore[valid-type]
    text: text(4000, "问题描述", examples=["教师全员培训学时未达标"])  # type: ignore[valid-type]
    severity: Severity = Field("general", description=SEVERITY_TEXT)
    task: text(100, "对应的实施方案任务编号") | None = Field(  # type: ignore[valid-type]
        None, description="对应的实施方案任务编号")


class OrderIn(Strict):
    """下达整改通知（限期整改）。"""

    on: day("下达日期（YYYY-MM-DD）")  # type: ignore[valid-type]
    within: Within
    calendar_days: bool = Field(False, description="为 true 时按自然日计算期限，默认按工作日")


class ReportIn(Strict):
    """责任单位提交整改报告。"""

    on: day("报告日期（YYYY-MM-DD）")  # type: ignore[valid-type]
    text: text(8000, "整改报告内容", examples=["已补齐培训学时"])  # type: ignore[valid-type]


class ReviewIn(Strict):
    """复查整改报告：通过即销号；未通过须给出新的整改期限。"""

    on: day("复查日期（YYYY-MM-DD）")  # type: ignore[valid-type]
    passed: bool = Field(..., description="复查是否通过；通过即销号")
    within: Within | None = Field(
        None, description=f"未通过时新的整改期限天数（1–{MAX_WITHIN}）；通过时不填")
    calendar_days: bool = Field(False, description="新的期限按自然日计算，默认按工作日")
    note: text(2000, "复查意见") | None = Field(None, description="复查意见")  # type: ignore[valid-type]
    falsified: bool = Field(False, description="复查认定整改报告弄虚作假（passed 须为 false，"
                                               "不填 within，须写 note）：问题退回整改，期限不变，"
                                               "升级策略可据此升级")


class ExtensionIn(Strict):
    """批准延期。"""

    on: day("批准日期（YYYY-MM-DD）")  # type: ignore[valid-type]
    to: day("延期后的整改期限（YYYY-MM-DD），须晚于当前期限")  # type: ignore[valid-type]
    reason: text(2000, "延期理由", examples=["汛期施工受阻"])  # type: ignore[valid-type]


class CommitmentIn(Strict):
    """约谈时作出的一条整改承诺。"""

    on: day("承诺完成的日期（YYYY-MM-DD），不早于约谈日期")  # type: ignore[valid-type]
    text: text(MAX_COMMITMENT, f"承诺的内容（最多{MAX_COMMITMENT}字）",  # type: ignore[valid-type]
               examples=["11月底前完成教师培训补课"])


class InterviewIn(Strict):
    """登记约谈：问题已升级到约谈、尚未销号，每个问题登记一次。interviewee 与 person 至少给出一个。"""

    on: day("约谈日期（YYYY-MM-DD），不早于问题登记日期、不晚于今天")  # type: ignore[valid-type]
    interviewee: text(100, "被约谈人姓名（最多100字）", examples=["陈明"]) | None = Field(  # type: ignore[valid-type]
        None, description="被约谈人姓名（通常是单位主要负责人，最多100字）；给出 person 时可不填，"
                          "默认为该人员的姓名，填写则须与之一致")
    person: str | None = Field(None, max_length=64,
                               description="被约谈的人员编号（POST /persons 登记的）：须属于该问题的"
                                           "责任单位，约谈当日在任；不点名人员时不填")
    minutes: text(8000, "约谈纪要（最多8000字）")  # type: ignore[valid-type]
    commitments: list[CommitmentIn] = Field(
        default_factory=list, max_length=MAX_COMMITMENTS,
        description=f"约谈时作出的整改承诺（最多{MAX_COMMITMENTS}条，每条：完成日期、内容），可为空")


class PersonIn(Strict):
    """登记单位的人员。同一单位的主要负责人任职期间不得重叠：现任未办理离任之前，不能登记新的主要负责人。
    同一人员（姓名、职务、是否主要负责人、日期都相同）重复登记，返回第一次的编号，不重复记录。"""

    unit: Code
    name: stated(MAX_NAME, f"姓名（最多{MAX_NAME}字）", examples=["李明"])  # type: ignore[valid-type]
    post: stated(MAX_POST, f"职务，如 校长、局长（最多{MAX_POST}字）",  # type: ignore[valid-type]
                 examples=["校长"]) | None = Field(
        None, description=f"职务，如 校长、局长（最多{MAX_POST}字）；不填为未登记")
    principal: bool = Field(False, description="是否单位主要负责人，默认否")
    from_date: day("任职日期（YYYY-MM-DD）：在任的第一天，不得晚于今天") = Field(  # type: ignore[valid-type]
        ..., alias="from")
    to_date: day("离任日期（YYYY-MM-DD）：在任的最后一天，补录已离任的人员时给出") | None = Field(  # type: ignore[valid-type]
        None, alias="to", description="离任日期（YYYY-MM-DD）：在任的最后一天，补录已离任的人员时给出；"
                                     "在任的不填")


class PersonEndIn(Strict):
    """办理人员离任。"""

    on: day("离任日期（YYYY-MM-DD）：在任的最后一天，不早于任职日期、不晚于今天")  # type: ignore[valid-type]


# ---------------------------------------------------------------- responses


class ErrorOut(BaseModel):
    """出错时的响应。"""

    code: str = Field(..., description="错误类别：unauthorized 未认证 / forbidden 无权限 / not_found 不存在 / "
                                        "refused 当前状态下不能办理 / conflict 并发冲突 / invalid_input 输入有误 / "
                                        "unavailable 事件库无法访问")
    field: str | None = Field(None, description="出错的字段名（如 on、within、findings[0].text），无则为 null")
    message: str = Field(..., description="中文错误说明")
    message_en: str = Field(..., description="英文错误说明")


class SkippedCounts(BaseModel):
    sweep: int = Field(..., description="最近一次升级巡检跳过的问题数（无法判定，下次巡检重试）")
    projection: int = Field(..., description="读模型跳过的事件数（无法解码或处理，见日志与 skipped_events 表）")
    publisher: int = Field(..., description="通知发布跳过的事件数（无法解码或生成通知）")


class LeaseOut(BaseModel):
    role: str = Field(..., description="后台角色：sweep 升级巡检 / publish 通知发布 / project 读模型更新")
    role_name: str = Field(..., description="后台角色的名称")
    holder: str = Field(..., description="持有租约的进程（主机名:进程号）")
    since: datetime = Field(..., description="取得租约的时间")


class HealthOut(BaseModel):
    status: Literal["ok"] = Field(..., description="服务状态：ok 表示事件库可访问")
    events: int = Field(..., description="事件库中的事件数")
    skipped: SkippedCounts = Field(..., description="被跳过、未能处理的问题和事件（不影响其他）")
    leases: list[LeaseOut] = Field(default_factory=list,
                                   description="后台角色的租约持有者（无人持有的角色不列出）")
    projector_lag: int = Field(0, description="读模型落后于事件日志的事件数")
    publisher_backlog: int = Field(0, description="待发布到 NATS 的升级通知数")


class ReadyOut(BaseModel):
    status: Literal["ready"] = Field(..., description="就绪：事件库可访问，可以接收请求")
    events: int = Field(..., description="事件库中的事件数")
    leases: list[LeaseOut] = Field(..., description="后台角色的租约持有者（无人持有的角色不列出）")
    projector_lag: int = Field(..., description="读模型落后于事件日志的事件数")
    publisher_backlog: int = Field(..., description="待发布到 NATS 的升级通知数")


class UnitOut(BaseModel):
    code: str = Field(..., description="单位代码")
    name: str = Field(..., description="单位名称")
    parent: str | None = Field(None, description="上级单位代码")
    principal: str | None = Field(None, description="主要负责人")


class InspectionCreated(BaseModel):
    inspection_id: str = Field(..., description="督导检查编号（UUID）")
    finding_ids: list[str] = Field(..., description="本次检查登记的问题编号，顺序与请求中的 findings 一致")


class InspectionOut(BaseModel):
    inspection_id: str = Field(..., description="督导检查编号（UUID）")
    unit: str = Field(..., description="被检查单位代码")
    on: date = Field(..., description="检查日期")
    inspectors: list[str] = Field(..., description="参加检查的督学")
    finding_ids: list[str] = Field(..., description="本次检查登记的问题编号")
    recorded_by: str = Field(..., description="记录人（令牌的操作人标识）")
    recorded_at: datetime = Field(..., description="记录时间")


class FindingCreated(BaseModel):
    finding_id: str = Field(..., description="问题编号（UUID）")


class EscalationOut(BaseModel):
    code: Rung = Field(..., description=RUNG_TEXT)
    rung: int = Field(..., description="级别序号：升级策略里这一级的先后（从0起）")
    name: str = Field(..., description="级别的中文名称（记录时的名称）")
    mode: Mode = Field(..., description=MODE_TEXT)
    rule: str = Field(..., description="触发的规则；督学手动升级为“代码.manual”")
    policy_version: int = Field(..., description="升级策略版本")
    threshold: date = Field(..., description="该级别开始适用的日期")
    due: date | None = Field(None, description="该级别给出的新期限（督办、约谈），无则为 null")
    reason: str | None = Field(None, description="督学手动升级的理由；规则判定的为 null")


class CommitmentOut(BaseModel):
    on: date = Field(..., description="承诺完成的日期")
    text: str = Field(..., description="承诺的内容")


class FindingOut(BaseModel):
    finding_id: str = Field(..., description="问题编号（UUID）")
    unit: str = Field(..., description="责任单位代码")
    status: Status = Field(..., description=STATUS_TEXT)
    severity: Severity = Field(..., description=SEVERITY_TEXT)
    on: date = Field(..., description="检查（发现）日期")
    inspector: str = Field(..., description="督学")
    text: str = Field(..., description="问题描述")
    task: str | None = Field(None, description="对应的实施方案任务编号")
    inspection_id: str | None = Field(None, description="所属督导检查编号，无则为 null")
    ordered_on: date | None = Field(None, description="下达整改通知的日期")
    deadline: date | None = Field(None, description="当前整改期限（当天结束时到期，北京时间），未下达整改通知时为 null")
    deadline_provisional: bool = Field(False, description="期限是否按暂定日历算出（该年尚无法定或运营方的节假日安排，"
                                                          "按放假办法推算），显示为“暂定”")
    rung: Rung | None = Field(None, description="迄今最高的升级级别，未升级为 null")
    strikes: int = Field(..., description="复查未通过的次数")
    reports: int = Field(..., description="已提交整改报告的次数")
    extensions: int = Field(..., description="已批准延期的次数")
    escalations: list[EscalationOut] = Field(..., description="历次升级")
    interview_held_on: date | None = Field(None, description="约谈日期，未约谈为 null")
    interviewee: str | None = Field(None, description="被约谈人，未约谈为 null")
    interview_person: str | None = Field(None, description="被约谈的人员编号，未点名人员为 null")
    commitments: list[CommitmentOut] = Field(default_factory=list,
                                             description="约谈时作出的整改承诺")
    closed_on: date | None = Field(None, description="销号日期，未销号为 null")
    recorded_at: datetime = Field(..., description="登记时间（系统记录时间）")


NEXT_CURSOR_TEXT = ("下一页的游标：原样放进 cursor 参数取下一页；为 null 表示已是最后一页。"
                    "翻页期间新登记的记录不会打乱已取的页（按键值翻页，不按偏移量）")


class FindingRow(BaseModel):
    finding_id: str = Field(..., description="问题编号（UUID）")
    unit: str = Field(..., description="责任单位代码")
    status: Status = Field(..., description=STATUS_TEXT)
    severity: Severity = Field(..., description="严重程度")
    on: date = Field(..., description="检查（发现）日期")
    inspector: str = Field(..., description="督学")
    text: str = Field(..., description="问题描述")
    task: str | None = Field(None, description="对应的实施方案任务编号")
    deadline: date | None = Field(None, description="当前整改期限")
    deadline_provisional: bool = Field(False, description="期限是否按暂定日历算出（显示为“暂定”）")
    rung: Rung | None = Field(None, description="迄今最高的升级级别，未升级为 null")
    strikes: int = Field(..., description="复查未通过的次数")
    closed_on: date | None = Field(None, description="销号日期")


class FindingList(BaseModel):
    findings: list[FindingRow] = Field(..., description="问题列表，按检查日期从新到旧（同日按编号）")
    count: int = Field(..., description="本页的问题条数")
    next_cursor: str | None = Field(None, description=NEXT_CURSOR_TEXT)


class EscalationList(BaseModel):
    finding_id: str = Field(..., description="问题编号")
    rung: Rung | None = Field(None, description="迄今最高的升级级别，未升级为 null")
    escalations: list[EscalationOut] = Field(..., description="历次升级，按发生顺序")


class OrderOut(BaseModel):
    finding_id: str = Field(..., description="问题编号")
    status: Status = Field(..., description="办理后的状态")
    deadline: date = Field(..., description="整改期限（当天结束时到期，北京时间）")


class StateOut(BaseModel):
    finding_id: str = Field(..., description="问题编号")
    status: Status = Field(..., description="办理后的状态")
    deadline: date | None = Field(None, description="办理后的整改期限，无则为 null")


class InterviewOut(BaseModel):
    finding_id: str = Field(..., description="问题编号")
    interview_held_on: date = Field(..., description="约谈日期")


class HistoryEvent(BaseModel):
    type: str = Field(..., description="事件类型，如 Recorded、RectificationOrdered、EscalationRaised")
    name: str = Field(..., description="事件的中文名称")
    version: int = Field(..., description="该问题的事件序号（从1开始）")
    actor: str = Field(..., description="操作人")
    on: date | None = Field(None, description="业务日期（事情发生的日期），无则为 null")
    recorded_at: datetime = Field(..., description="系统记录时间")
    details: dict[str, Any] = Field(..., description="事件的其余字段（随事件类型不同），如期限、理由、规则等")


class HistoryOut(BaseModel):
    finding_id: str = Field(..., description="问题编号")
    events: list[HistoryEvent] = Field(..., description="该问题的全部事件，按发生顺序")


class PersonCreated(BaseModel):
    person_id: str = Field(..., description="人员编号（UUID）")


class PersonOut(BaseModel):
    """一位人员：某单位的某个职务，从任职到离任。"""

    model_config = ConfigDict(populate_by_name=True)

    person_id: str = Field(..., description="人员编号（UUID）")
    unit: str = Field(..., description="单位代码")
    name: str = Field(..., description="姓名")
    post: str | None = Field(None, description="职务，未登记为 null")
    principal: bool = Field(..., description="是否单位主要负责人")
    from_date: date = Field(..., alias="from", description="任职日期（在任的第一天）")
    to_date: date | None = Field(None, alias="to", description="离任日期（在任的最后一天），在任为 null")


class PersonList(BaseModel):
    persons: list[PersonOut] = Field(..., description="人员，按单位、主要负责人在前、任职日期、姓名排列")
    count: int = Field(..., description="本页的人数")
    next_cursor: str | None = Field(None, description=NEXT_CURSOR_TEXT)


class PrincipalOut(BaseModel):
    """单位某日的主要负责人：当日在任的、登记为主要负责人的人员；没有则为登记单位时填写的主要负责人。"""

    model_config = ConfigDict(populate_by_name=True)

    unit: str = Field(..., description="单位代码")
    on: date = Field(..., description="查询的日期")
    name: str | None = Field(None, description="主要负责人姓名，都没有登记时为 null")
    source: Literal["person", "registered"] | None = Field(
        None, description="姓名的来源：person 人员登记（/persons）/ registered 登记单位时填写；"
                          "都没有为 null")
    person_id: str | None = Field(None, description="主要负责人的人员编号，来源不是人员登记时为 null")
    post: str | None = Field(None, description="主要负责人的职务，未登记为 null")
    from_date: date | None = Field(None, alias="from", description="主要负责人的任职日期，来源不是人员登记时为 null")
    to_date: date | None = Field(None, alias="to", description="主要负责人的离任日期，在任或来源不是人员登记时为 null")


class PersonPost(PersonOut):
    this: bool = Field(..., description="是否就是所查的这条人员记录")
    in_post: bool = Field(..., description="今天（北京时间）是否在任")


class PersonInterview(BaseModel):
    finding_id: str = Field(..., description="问题编号")
    finding_text: str | None = Field(None, description="问题描述")
    person_id: str | None = Field(None, description="被约谈的人员编号")
    interviewee: str = Field(..., description="被约谈人")
    on: date = Field(..., description="约谈日期")
    minutes: str = Field(..., description="约谈纪要")
    commitments: list[CommitmentOut] = Field(..., description="约谈时作出的整改承诺")


class PersonCommitment(BaseModel):
    finding_id: str = Field(..., description="问题编号")
    finding_text: str | None = Field(None, description="问题描述")
    interview_on: date = Field(..., description="作出承诺的约谈日期")
    interviewee: str = Field(..., description="被约谈人")
    person_id: str | None = Field(None, description="被约谈的人员编号")
    on: date = Field(..., description="承诺完成的日期")
    text: str = Field(..., description="承诺的内容")


class PersonDecision(BaseModel):
    on: date = Field(..., description="决定日期")
    case_id: str = Field(..., description="问责案件编号")
    finding_id: str = Field(..., description="问题编号")
    modes: str = Field(..., description="对该人员的问责方式（中文，多种以“、”分隔）")
    aggravated: bool = Field(..., description="是否从重")
    summary: str = Field(..., description="摘要：问题与问责方式")


class PersonRecordOut(PersonOut):
    """人员档案（字段同 `dudao report person ID --format json`）。"""

    unit_name: str = Field(..., description="单位名称")
    in_post: bool = Field(..., description="今天（北京时间）是否在任")
    as_of: datetime = Field(..., description="档案时点")
    posts: list[PersonPost] = Field(..., description="在该单位的任职：同名的人员记录，从早到晚")
    interviews: list[PersonInterview] = Field(..., description="接受的约谈，从早到晚")
    commitments: list[PersonCommitment] = Field(..., description="约谈时作出的整改承诺，按承诺完成日期排列")
    decisions: list[PersonDecision] = Field(..., description="督导委员会点名该人员的问责决定，从早到晚，无则为空")


class EscalationCounts(BaseModel):
    """各级升级的次数：升级策略的每一级一项（with_rungs 写出各项），另有记录在案的其他级别。"""

    model_config = ConfigDict(extra="allow")


def with_rungs(schema: dict[str, Any], ladder: Ladder) -> dict[str, Any]:
    """The OpenAPI document with the policy's rungs: every rung field's enum is the
    ladder's codes, the rung descriptions name them, and ``EscalationCounts`` has one
    count per rung (changed in place, and returned)."""
    codes = [r.code for r in ladder]
    names = described({r.code: r.name for r in ladder})

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.pop(RUNG_MARK, None):
                node["enum"] = list(codes)
            for key, value in node.items():
                if isinstance(value, str) and RUNGS_TEXT in value:
                    node[key] = value.replace(RUNGS_TEXT, names)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(schema)
    counts = schema.get("components", {}).get("schemas", {}).get("EscalationCounts")
    if counts is not None:
        counts["properties"] = {
            r.code: {"type": "integer", "default": 0, "title": r.name,
                     "description": f"{r.name}次数（升级事件数）"} for r in ladder}
        counts["additionalProperties"] = {"type": "integer"}
    return schema


class UnitReportOut(BaseModel):
    """单位问责报告（`dudao report unit --format json` 的字段）。"""

    unit: str = Field(..., description="单位代码")
    name: str = Field(..., description="单位名称")
    as_of: datetime = Field(..., description="报告时点")
    findings: int = Field(..., description="问题总数")
    open: int = Field(..., description="未销号的问题数")
    overdue: int = Field(..., description="逾期：未销号、已下达整改、整改期限当天已过（北京时间），且不是按期提交整改报告待复查的问题数")
    closed: int = Field(..., description="已销号的问题数")
    closed_on_time: int = Field(..., description="按期销号：复查通过的那份整改报告不晚于整改期限（督办期限不算）")
    on_time_rate: float | None = Field(None, description="按期整改率 = 按期销号 ÷（已销号 + 逾期未整改），无可评价问题时为 null")
    escalations: EscalationCounts = Field(..., description="各级升级的次数")  # type: ignore[valid-type]
    interviews: int = Field(..., description="已举行的约谈次数")
    public_notices: int = Field(..., description="升级到通报的问题数")
    accountability: int = Field(..., description="问责案件数（提请问责）：升级到由督导委员会决定的一级、"
                                                 "立案的案件数")
    accountability_decided: int = Field(..., description="已决定问责的案件数（督导委员会决定）")
    accountability_dismissed: int = Field(..., description="决定不予问责的案件数")
    accountability_pending: int = Field(..., description="待督导委员会决定的案件数（问责建议、已告知、已陈述申辩）")


# -------------------------------------------------------------------- audit


class TrailEvent(BaseModel):
    """One event of a finding's audit trail; the event's own fields follow these."""

    model_config = ConfigDict(extra="allow")

    position: int | None = Field(None, description="在事件日志中的位置（哈希链的位置）")
    version: int = Field(..., description="该问题的事件序号（从1开始）")
    type: str = Field(..., description="事件类型，如 Recorded、EscalationRaised")
    name: str = Field(..., description="事件的中文名称")
    actor: str | None = Field(None, description="操作人")
    business_date: date | None = Field(None, description="业务日期；升级事件为触发日期")
    recorded_at: datetime | None = Field(None, description="系统记录时间")


class TrailOut(BaseModel):
    finding_id: str = Field(..., description="问题编号")
    unit: str = Field(..., description="责任单位代码")
    unit_name: str | None = Field(None, description="责任单位名称")
    text: str = Field(..., description="问题描述")
    status: str = Field(..., description="当前状态")
    events: list[TrailEvent] = Field(..., description="全部事件，按发生顺序；升级事件含规则、策略版本与依据事实")


class CheckpointOut(BaseModel):
    position: int = Field(..., description="链头位置（最后封存的事件位置；空库为0）")
    hash: str = Field(..., description="链头哈希，64位十六进制")


class VerifyProblem(BaseModel):
    position: int = Field(..., description="出问题的位置")
    kind: Literal["changed", "missing", "unsealed", "chain", "checkpoint", "truncated"] = Field(
        ..., description="问题类别")
    message: str = Field(..., description="中文说明")
    message_en: str = Field(..., description="英文说明")


class VerifyRepair(BaseModel):
    position: int = Field(..., description="补封记录（事件）所在位置")
    by: str | None = Field(None, description="补封负责人（audit seal --repair --by）")
    reason: str | None = Field(None, description="补封理由")
    actor: str | None = Field(None, description="操作账号")
    recorded_at: str | None = Field(None, description="补封时间（系统时钟）")
    after: int | None = Field(None, description="补封前的封存记录末位")
    count: int | None = Field(None, description="补封的事件数")
    ranges: list[list[int]] | None = Field(None, description="补封的位置，连续区间 [起, 止]")
    error: str | None = Field(None, description="补封记录无法读出时的原因")


class VerifyOut(BaseModel):
    ok: bool = Field(..., description="事件库是否完好")
    events: int = Field(..., description="校验的事件数")
    sealed: int = Field(..., description="封存记录数")
    head: CheckpointOut = Field(..., description="由事件重算的链头")
    checkpoint: CheckpointOut | None = Field(None, description="核对的检查点")
    first_bad_position: int | None = Field(None, description="第一个出问题的位置")
    problem_count: int = Field(..., description="问题总数")
    problems: list[VerifyProblem] = Field(..., description="前100处问题，按位置")
    first_unsealed_position: int | None = Field(
        None, description="第一个没有封存的事件的位置（事件库不会自行补封，写入一律拒绝）")
    repairs: list[VerifyRepair] = Field(
        default_factory=list, description="事件库曾经的补封（audit seal --repair）：谁、何时、哪些位置、为什么")
