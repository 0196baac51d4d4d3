"""Shared plumbing of the command line: context, option types, output, errors."""

from __future__ import annotations

import getpass
import importlib
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import click

from adapters.settings import Settings, parse_moment
from domain.errors import DudaoError
from domain.values import check_text

if TYPE_CHECKING:
    from adapters.service_layer.application import Dudao

QUOTES = "'\""
GLOBAL_FLAGS = {"--json"}
GLOBAL_VALUED = {"--db", "--now", "--actor"}


@dataclass
class Context:
    settings: Settings
    json: bool
    actor: str
    _app: Dudao | None = field(default=None, repr=False)

    @property
    def app(self) -> Dudao:
        if self._app is None:
            from adapters.bootstrap import bootstrap

            self._app = bootstrap(self.settings)
        return self._app

    def close(self) -> None:
        if self._app is not None:
            self._app.close()
            self._app = None


class DateType(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            if len(str(value)) != 10:
                raise ValueError
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"日期格式不对：{value!r}，应为 YYYY-MM-DD（invalid date, expected YYYY-MM-DD）",
                      param, ctx)


class MomentType(click.ParamType):
    name = "DATETIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_moment(str(value), field=param.opts[0] if param else "time")
        except DudaoError as e:
            self.fail(str(e), param, ctx)


class DaysType(click.ParamType):
    """A number of days; its bounds are the domain's (``check_within``), not the command line's."""

    name = "N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        from domain.findings import check_within

        field = param.opts[0] if param and param.opts else "within"
        try:
            number: Any = int(str(value).strip())
        except ValueError:
            number = value
        try:
            return check_within(number, field)
        except DudaoError as e:
            self.fail(str(e), param, ctx)


class WholeNumberType(click.ParamType):
    """A whole number; what it may be is the domain's to say."""

    name = "N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            return int(str(value).strip())
        except ValueError:
            self.fail(f"必须是整数，收到 {value!r}（must be a whole number）", param, ctx)


class ChoiceType(click.Choice):  # type: ignore[type-arg]
    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value in self.choices:
            return value
        self.fail(f"{value!r} 无效，应为 {' / '.join(map(str, self.choices))} 之一"
                  f"（invalid choice）", param, ctx)


DATE = DateType()
MOMENT = MomentType()
POSITIVE = DaysType()
WHOLE = WholeNumberType()


def json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=json_default, indent=2)


def emit(data: Any, human: str | Callable[[], str] | None = None) -> None:
    """Print JSON with --json, otherwise the human text (or JSON if none)."""
    ctx: Context = click.get_current_context().find_object(Context)  # type: ignore[assignment]
    if ctx.json or human is None:
        click.echo(dumps(data))
    else:
        click.echo(human() if callable(human) else human)


def settings() -> Settings:
    """The settings of the running command (read once, at the start of the command line)."""
    ctx = click.get_current_context().find_object(Context)
    assert ctx is not None
    return ctx.settings


def pass_app(f: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: give the command the application service as ``app`` and ``actor``."""

    @click.pass_context
    def wrapper(click_ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        ctx = click_ctx.find_object(Context)
        assert ctx is not None
        return click_ctx.invoke(f, ctx.app, ctx.actor, *args, **kwargs)

    wrapper.__name__ = f.__name__
    wrapper.__doc__ = f.__doc__
    return wrapper


def default_actor() -> str:
    try:
        user = getpass.getuser()
    except Exception:
        user = "operator"
    return f"cli:{user}"


COMMANDS: dict[str, tuple[str, str]] = {
    "unit": ("core", "责任单位：登记、类别、群组成员。"),
    "finding": ("core", "督导发现的问题。"),
    "rectify": ("core", "限期整改：通知、报告、复查、延期。"),
    "interview": ("core", "约谈。"),
    "person": ("persons", "单位的人员：登记、离任、列出（主要负责人）。"),
    "escalate": ("escalate", "按升级策略扫描到期的问题，记录升级（各级由策略规定，提请问责由督导委员会决定）；raise：督学手动升级。"),
    "accountability": ("accountability",
                       "问责案件：调查核实、告知、陈述申辩、督导委员会决定（或不予问责）、问责决定书。"),
    "plan": ("plans", "实施方案：导入、工作台账、更正。"),
    "task": ("plans", "实施方案的任务：进度填报、销号、更正。"),
    "report": ("report", "问责报告与督导通报。"),
    "projections": ("report", "读模型（投影）。"),
    "audit": ("audit", "审计：轨迹、校验、检查点与回放。"),
    "calendar": ("calendar", "工作日历：查看某年的节假日与调休。"),
    "notices": ("notices", "升级通知：从事件日志发布到 NATS JetStream，或接收。"),
    "token": ("api", "HTTP API 的令牌。"),
    "user": ("users", "网页登录的用户账号：开设、改密码、停用、列出。"),
    "serve": ("api", "运行 HTTP API（/api/v1），SIGTERM 或 Ctrl-C 时干净地停止。"),
    "worker": ("api", "运行后台任务（升级巡检、通知发布、读模型更新），不提供 HTTP。"),
    "demo": ("demo", "运行演示：在全新的 SQLite 事件库上记录2024年的一批督导问题。"),
}
"""Every top-level command: the module of ``adapters.entrypoints.cli`` that defines it, and its one-line
help, which is the command's own help too. A command's module is imported only when the
command runs (or its own ``--help`` is asked for), so ``dudao --help`` and every command
start without loading what the others need (the web server, the demo, NATS)."""


class LazyGroup(click.Group):
    """The top-level group: commands are looked up in :data:`COMMANDS` and loaded on use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(f"adapters.entrypoints.cli.{COMMANDS[cmd_name][0]}")
        command = self.commands.get(cmd_name)
        if command is not None and cmd_name in COMMANDS:
            line = COMMANDS[cmd_name][1]
            if not (command.help or "").startswith(line):
                # the docstring dedented first: the line put before it would stop click's
                # own cleandoc from seeing the docstring's indentation
                command.help = (f"{line}\n\n{inspect.cleandoc(command.help)}" if command.help
                                else line)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1] if name in COMMANDS
                 else self.commands[name].get_short_help_str())
                for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", metavar="PATH|URL", help="事件库：SQLite 文件路径或 postgresql:// 地址（DUDAO_DB，默认 dudao.db）")
@click.option("--now", metavar="DATETIME", help="当前时间，ISO 8601，无时区按北京时间（DUDAO_NOW）")
@click.option("--json", "as_json", is_flag=True, help="在标准输出上输出 JSON")
@click.option("--actor", metavar="NAME", help="记录在事件上的操作人（DUDAO_ACTOR，默认 cli:<用户名>）")
@click.pass_context
def cli(click_ctx: click.Context, db: str | None, now: str | None, as_json: bool,
        actor: str | None) -> None:
    """dudao（督导）：教育督导问题整改与问责系统。"""
    settings = Settings.from_env(db=db, now=now, actor=actor)
    # recorded on every event: the same text check as any other value
    ctx = Context(settings=settings, json=as_json,
                  actor=check_text(settings.actor or default_actor(), "--actor", "操作人",
                                   max_len=100))
    click_ctx.obj = ctx
    click_ctx.call_on_close(ctx.close)


def hoist_globals(argv: list[str]) -> list[str]:
    """Let global options stand anywhere on the line, as users type them."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        name = arg.split("=", 1)[0]
        if arg in GLOBAL_FLAGS or (name in GLOBAL_VALUED and "=" in arg):
            front.append(arg)
        elif arg in GLOBAL_VALUED and i + 1 < len(argv):
            front.extend(argv[i : i + 2])
            i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


FIELD_OPTIONS = {
    "unit": "--unit", "on": "--on", "within": "--within", "to": "--to", "text": "--text",
    "severity": "--severity", "inspector": "--inspector", "reason": "--reason",
    "key": "--key", "task": "--task", "interviewee": "--interviewee",
    "minutes": "--minutes", "note": "--note", "name": "--name", "parent": "--parent",
    "principal": "--principal", "code": "CODE", "finding": "FINDING",
    "from": "--from", "post": "--post", "commitment": "--commitment",
    "case": "CASE", "basis": "--basis", "unit_mode": "--unit-mode", "person": "--person",
    "person_mode": "--person-mode", "effective_on": "--effective", "status": "--status",
    "user": "NAME", "display": "--display", "rung": "--rung", "falsified": "--falsified",
    "kind": "--kind", "members": "--members", "title": "--title", "deadline": "--deadline",
    "lead": "--lead", "units": "--units", "end": "--end",
}


def describe(error: DudaoError) -> str:
    if error.field and error.field in FIELD_OPTIONS:
        return f"{FIELD_OPTIONS[error.field]}: {error}"
    if error.field and error.field.startswith("-"):
        return f"{error.field}: {error}"
    return str(error)


def fail(message: str, code: int) -> int:
    click.echo(f"错误：{' '.join(message.split())}", err=True)
    return code


def run(group: click.Group, argv: list[str]) -> int:
    """Run the command line; errors become one line on stderr and a non-zero status."""
    try:
        result = group.main(args=hoist_globals(argv), prog_name="dudao", standalone_mode=False)
        if isinstance(result, int) and not isinstance(result, bool):
            return result  # click returns the code of a raised Exit(code) when not standalone
    except click.exceptions.NoArgsIsHelpError as e:
        click.echo(e.ctx.get_help() if e.ctx else "")
        return 0
    except click.MissingParameter as e:
        name = e.param.opts[0] if e.param is not None and e.param.opts else "参数"
        if e.param is not None and e.param.param_type_name == "argument":
            name = e.param.human_readable_name
        return fail(f"{name}: 缺少必填参数（missing required {name}）", 2)
    except click.BadParameter as e:
        hint = e.param_hint if isinstance(e.param_hint, str) else (
            e.param.opts[0] if e.param is not None and e.param.opts else "参数")
        if e.param is not None and e.param.param_type_name == "argument":
            hint = e.param.human_readable_name
        return fail(f"{hint.strip(QUOTES)}: {e.message}", 2)
    except click.NoSuchOption as e:
        return fail(f"{e.option_name}: 未知选项（no such option）", 2)
    except click.UsageError as e:
        return fail(e.format_message(), 2)
    except click.Abort:
        return fail("已中止（aborted）", 130)
    except DudaoError as e:
        return fail(describe(e), 1)
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    return 0


def echo_err(text: str) -> None:
    click.echo(text, err=True)


__all__ = ["DATE", "MOMENT", "POSITIVE", "Context", "cli", "emit", "pass_app", "run", "settings"]
