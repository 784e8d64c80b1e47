"""The supervisors' review (复核) of a new ticket's classification and priority, and what a priority change tells.

Step 2 of the support process: a supervisor checks the type and priority the rules gave. A new ticket
of ``intake.review_at_once_priorities`` (P1, P2) is mailed to the supervisors at once (``queue_review``);
the rest wait in the daily digest's "to review" list (``sweep/digest``) until someone reviews them. A
staff reply with ``#ok``, or ``#priority`` / ``#type`` from a lead, manager or director, is the review:
a "reviewed" event in the history (``record_review``). A priority change tells the assignee and the
reporter the new deadlines (``tell_priority_change``), in the desk's zone and the reader's language.
"""

from __future__ import annotations

from maildesk.desk.context import Context
from maildesk.desk.mailing import fmt_time, form_context, mask_for_ticket, to_reporter, to_staff
from maildesk.desk.mobilise import mobilise, mobilises, who_is_mobilised
from maildesk.desk.tickets import record
from maildesk.people.roles import supervisors
from maildesk.statuses import Status
from maildesk.store.models import Ticket
from maildesk.words import priority_name

REVIEWED = "reviewed"  # the audit action of a review (复核)
REVIEWER_ROLES = frozenset({"lead", "manager", "director"})
DESCRIPTION_CHARS = 1000
FINISHED = frozenset({Status.CLOSED.value, Status.ARCHIVED.value})


def is_reviewer(ctx: Context, address: str) -> bool:
    """Whether ``address`` may review (复核): a lead, a manager or a director of the directory."""
    person = ctx.directory.get(address)
    return person is not None and person.role in REVIEWER_ROLES


def record_review(ctx: Context, ticket: Ticket, *, actor: str, what: str) -> None:
    """The review (复核) on record: who checked the classification, and what they did (``#ok``, a change)."""
    record(ctx, ticket, actor=actor, action=REVIEWED, new=f"{ticket.type} {ticket.priority}", note=what)


def queue_review(ctx: Context, ticket: Ticket, description: str) -> None:
    """A new urgent ticket to the supervisors' review list, at once: the facts, the form and the reporter's words,
    masked (the supervisors are outside the conversation)."""
    if ticket.priority not in ctx.settings.intake.review_at_once_priorities:
        return
    # those the mobilisation mail reaches are asked to review there (desk/mobilise)
    mobilised = set(who_is_mobilised(ctx, ticket)) if mobilises(ctx, ticket) else set()
    for address in supervisors(ctx.directory, ctx.settings):
        if address in mobilised:
            continue
        context = {
            "recipient_name": ctx.person_name(address),
            "form": form_context(ctx, ticket, [address]),
            "description": mask_for_ticket(ctx, ticket, description.strip()[:DESCRIPTION_CHARS]),
            "team": ticket.team or "",
        }
        to_staff(ctx, ticket, "review_new", [address], context, dedup_key=f"review_new:{ticket.number}:{address}")


def tell_priority_change(ctx: Context, ticket: Ticket, old: str, *, actor: str) -> None:
    """The assignee (unless they made the change) and the reporter hear of a new priority, with the deadlines it
    sets; a closed ticket's reporter is not written to (nothing reaches them after the survey)."""
    def context(lang: str, reader: str) -> dict[str, object]:
        return {
            "reader_name": reader, "old_priority": old, "old_priority_name": priority_name(ctx.settings, old, lang),
            "changed_by": ctx.person_name(actor),
            "response_due": "" if ticket.first_response_at else fmt_time(ticket.response_due, ctx.settings),
            "resolve_due": fmt_time(ticket.resolve_due, ctx.settings),
        }

    stamp = f"{ticket.number}:{ctx.now.timestamp():.0f}:{ticket.priority}"
    if ticket.assignee and ticket.assignee != actor:
        to_staff(ctx, ticket, "priority_changed", [ticket.assignee],
                 {**context(ctx.lang, ctx.person_name(ticket.assignee)), "for_staff": True},
                 dedup_key=f"priority:{stamp}:staff")
    if ticket.status not in FINISHED:
        lang = ticket.language or ctx.lang
        to_reporter(ctx, ticket, "priority_changed", {**context(lang, ticket.reporter_name), "for_staff": False},
                    dedup_key=f"priority:{stamp}:reporter")
        if mobilises(ctx, ticket) and old not in ctx.settings.sla.mobilise_priorities:
            # raised to an urgent level after intake (a review, the engineer): called out as a new one would be
            mobilise(ctx, ticket, reason="raised", actor=actor, dedup_key=f"mobilise:{stamp}")

