"""Step: the rules classify a new ticket: type, priority, team, assignee, tags, flags, bursts.

Applies to every mail that starts a new ticket. The rules are pure (``maildesk/rules``): they
read the mail and the sender's directory entry and return a decision with its reasons; a rule
may ask for the mail to be quarantined for a person instead.
"""

from __future__ import annotations

from datetime import datetime

from maildesk.desk.context import Context
from maildesk.desk.handling import Handling
from maildesk.desk.setup import Desk
from maildesk.ingest.outcome import Handled, QuarantineMail
from maildesk.mail import InboundMail
from maildesk.people.directory import Person
from maildesk.rules.engine import evaluate
from maildesk.rules.model import Decision


def decide(desk: Desk, mail: InboundMail, person: Person | None, now: datetime) -> Decision:
    """What the rules decide for ``mail`` at ``now`` (``maildesk rules test`` asks this too)."""
    in_hours = desk.calendar_on(now.astimezone(desk.settings.tz).date()).is_business_time(now)
    return evaluate(desk.rules, mail, person, in_business_hours=in_hours, defaults=desk.rule_defaults)


def handle(ctx: Context, mail: Handling) -> Handled | None:
    decision = decide(ctx.desk, mail.mail, mail.person, ctx.now)
    if decision.quarantine:
        raise QuarantineMail(f"rule {', '.join(decision.hits)} asked for quarantine")
    mail.decision = decision
    return None
