"""``#system X``, ``#impact X``, ``#occurred X`` (``#涉及系统``, ``#影响范围``, ``#发生时间``): the intake form.

The reporter may leave the form (登记表) half empty, or staff learn more on the phone: these fill
it in or correct it. Each change is audited with the old value; the time of occurrence keeps the
words as written and the moment they name, where they name one clearly (``ingest/form``).
"""

from __future__ import annotations

from maildesk.desk.commands.context import CommandContext
from maildesk.desk.tickets import set_field, set_occurred
from maildesk.ingest.form import SYSTEM_CHARS, TEXT_CHARS


def _value(cmd: CommandContext, arg: str, example: str) -> str:
    value = arg.strip()
    if not value:
        cmd.fail("command.form.empty", example=cmd.say(example))
    return value


def do_system(cmd: CommandContext, arg: str) -> None:
    set_field(cmd.ctx, cmd.ticket, "system", _value(cmd, arg, "command.form.system_example")[:SYSTEM_CHARS],
              actor=cmd.actor)


def do_impact(cmd: CommandContext, arg: str) -> None:
    set_field(cmd.ctx, cmd.ticket, "impact", _value(cmd, arg, "command.form.impact_example")[:TEXT_CHARS],
              actor=cmd.actor)


def do_occurred(cmd: CommandContext, arg: str) -> None:
    set_occurred(cmd.ctx, cmd.ticket, _value(cmd, arg, "command.form.occurred_example")[:TEXT_CHARS],
                 actor=cmd.actor)
