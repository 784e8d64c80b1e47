"""The desk's steps, in the order a mail meets them: read this list top to bottom to know what a mail does.

Each step is a module with one ``handle(ctx, mail)`` and a docstring saying when it applies. A
step either ends the mail's way with a named result (``ingest.outcome.Result``) or notes what it
decided on the mail and lets the next one go on. The first group handles a mail on a ticket it
may join; the second makes a new ticket of everything else.
"""

from __future__ import annotations

from collections.abc import Callable

from maildesk.desk.context import Context
from maildesk.desk.handling import Handling
from maildesk.desk.steps import (
    acknowledge,
    assign,
    belonging,
    classify,
    failed_from,
    kb_request,
    late_reply,
    mobilise,
    noise,
    open_ticket,
    presence,
    recorded,
    reporter_reply,
    reporter_split,
    review_list,
    staff_reply,
    survey_answer,
    tell_assignee,
    unknown_sender,
    verdict,
)
from maildesk.ingest.outcome import Handled

Step = Callable[[Context, Handling], Handled | None]

STEPS: tuple[Step, ...] = (
    # on a ticket
    belonging.handle,  # the named ticket's people join it; anyone else gets a linked ticket of their own
    presence.handle,  # staff's out-of-office reply: away, urgent tickets handed on; their next mail: back
    noise.handle,  # auto-replies, bounces, lists, our own mail: kept, never answered
    late_reply.handle,  # to an archived ticket, or long after closing: a new ticket, linked
    staff_reply.handle,  # staff: proof, commands, a progress entry, the words relayed to the reporter
    failed_from.handle,  # the reporter's side, From failed at our mail server: kept, flagged, nothing applied
    kb_request.handle,  # "#kb 12" from the reporter's side: an article offered on the ticket, mailed back whole
    reporter_split.handle,  # "#split" from the reporter's side: the rest becomes a new ticket
    survey_answer.handle,  # scores for the survey; a poor one opens a review
    verdict.handle,  # solved / still a problem / needs improvement
    reporter_reply.handle,  # anything else: kept, and the engineer hears of it
    # a new ticket
    recorded.handle,  # staff recording a problem for a reporter (phone, IM, ...): the reporter's from here on
    unknown_sender.handle,  # the policy for senders the directory does not know
    classify.handle,  # the rules' decision
    assign.handle,  # who works it
    open_ticket.handle,  # the ticket, its first message, links, bursts
    acknowledge.handle,  # the reporter hears of it, with knowledge-base articles
    review_list.handle,  # a new P1/P2: the supervisors review (复核) type and priority at once
    mobilise.handle,  # a new P1 or burst incident: the people on call, the team lead, the manager, at once
    tell_assignee.handle,  # the engineer hears of it: "created"
)
