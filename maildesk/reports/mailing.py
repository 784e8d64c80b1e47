"""Report mails to supervisors: on demand, and from the scheduler (weekly, monthly, recurring problems).

The scheduled jobs run every few minutes and decide from the clock and the
outbox whether anything is due: the weekly report on Monday from 09:00, the
monthly one on the 1st from 09:00, both for the period just over, and the
recurring-problem alert with the weekly report. Each mail's dedup_key names
the period and the recipient, so a second run, a second daemon or a restart
never sends one twice, and a daemon that was down at 09:00 sends when it is
back (within CATCH_UP).
Figures are computed in one short transaction, charts drawn outside any
(SQLite holds its write lock for a transaction's whole life), mails queued in another.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from sqlalchemy import select

from maildesk.desk.setup import Desk
from maildesk.errors import MaildeskError
from maildesk.outbound.outbox import Outgoing, queue_mail
from maildesk.people.directory import Person
from maildesk.people.roles import holders_of_any
from maildesk.reports.charts import make_charts
from maildesk.reports.figures import Figures, compute_figures
from maildesk.reports.html import render_report
from maildesk.reports.period import Period, last_complete
from maildesk.reports.sections import Labels, Table
from maildesk.store.db import Store
from maildesk.store.models import OutboxMail

log = logging.getLogger(__name__)

__all__ = ["RECURRING_ALERT_COUNT", "SEND_AT", "build_figures", "monthly_report_job", "queue_report",
           "recurring_alert_job", "report_readers", "weekly_report_job"]

SEND_AT = time(9, 0)  # local time of the scheduled reports on their day
SUPERVISOR_ROLES = ("manager", "director")
RECURRING_ALERT_COUNT = 3
# A daemon that was down at 09:00 sends when it is back within this; a desk installed mid-month
# does not greet its supervisors with last month's report.
CATCH_UP = timedelta(days=3)  # tickets of one problem in one week that a supervisor should hear about


def report_readers(desk: Desk) -> list[Person]:
    """The people who receive reports: the directory's managers and directors."""
    found = (desk.directory.get(a) for a in holders_of_any(desk.directory, desk.settings, SUPERVISOR_ROLES))
    return [p for p in found if p is not None]


def build_figures(desk: Desk, store: Store, period: Period, now: datetime) -> Figures:
    names = {p.address: p.name for p in desk.directory.staff()}
    with store.session() as session:
        today = now.astimezone(desk.settings.tz).date()
        return compute_figures(session, period.start, period.end, desk.calendar_on(today),
                               priorities=desk.settings.priority_order(), names=names,
                               as_of=min(period.end, now), masker=desk.masker,
                               requirement_type=desk.settings.requirements.type,
                               clock_of=lambda t: desk.clock_of(t.type, t.priority, today))


def _dedup(prefix: str, period: Period, address: str) -> str:
    return f"{prefix}:{period.key}:{address}"


def _missing(desk: Desk, store: Store, prefix: str, period: Period, people: list[Person]) -> list[Person]:
    keys = {_dedup(prefix, period, p.address): p for p in people}
    with store.session() as session:
        sent = set(session.scalars(select(OutboxMail.dedup_key).where(OutboxMail.dedup_key.in_(list(keys)))))
    return [p for k, p in keys.items() if k not in sent]


def queue_report(desk: Desk, store: Store, period: Period, now: datetime, *, recipients: list[Person] | None = None,
                 scheduled: bool = False, figures: Figures | None = None) -> list[str]:
    """Queue the report of ``period`` to each recipient (default: the supervisors); returns who got one.

    A scheduled report is keyed by period and recipient; one asked for by hand is sent again each time.
    """
    people = report_readers(desk) if recipients is None else recipients
    if not people:
        raise MaildeskError("no one to send the report to: the directory has no manager or director")
    fig = figures or build_figures(desk, store, period, now)
    labels = Labels(desk.settings, desk.settings.language, desk.templates.phrases)
    charts = make_charts(fig, labels, domain=desk.settings.mail_domain)
    title = period.title(labels)
    queued = []
    with store.session() as session:
        for person in people:
            report = render_report(desk.templates, fig, labels, title=title,
                                   recipient_name=person.name or person.address, charts=charts)
            row = queue_mail(session, desk.settings, Outgoing(
                kind="report", to=[person.address], subject=report.mail.subject, text=report.mail.text,
                html=report.mail.html, inline_images=report.inline_images,
                dedup_key=_dedup("report", period, person.address) if scheduled else None,
            ), now=now)
            if row is not None:
                queued.append(person.address)
    return queued


def _due_period(kind: str, desk: Desk, now: datetime) -> Period | None:
    """The period whose scheduled report is due at ``now``: from its send time, for CATCH_UP."""
    period = last_complete(kind, now, desk.settings.tz)
    send_at = datetime.combine(period.end.date(), SEND_AT, tzinfo=desk.settings.tz)
    return period if send_at <= now < send_at + CATCH_UP else None


def _report_job(kind: str, desk: Desk, store: Store, now: datetime) -> str:
    period = _due_period(kind, desk, now)
    if period is None:
        return "not due"
    people = _missing(desk, store, "report", period, report_readers(desk))
    if not people:
        return f"{period.key}: sent before"
    queued = queue_report(desk, store, period, now, recipients=people, scheduled=True)
    log.info("%s report queued for %s", period.key, ", ".join(queued))
    return f"{period.key}: queued {len(queued)}"


def weekly_report_job(desk: Desk, store: Store, now: datetime) -> str:
    """The weekly report of last week, from Monday 09:00 (scheduler job)."""
    return _report_job("week", desk, store, now)


def monthly_report_job(desk: Desk, store: Store, now: datetime) -> str:
    """The monthly report of last month, from the 1st 09:00 (scheduler job)."""
    return _report_job("month", desk, store, now)


def recurring_alert_job(desk: Desk, store: Store, now: datetime) -> str:
    """Tell the supervisors about problems that came back RECURRING_ALERT_COUNT times or more last week."""
    period = _due_period("week", desk, now)
    if period is None:
        return "not due"
    people = _missing(desk, store, "recurring", period, report_readers(desk))
    if not people:
        return f"{period.key}: sent before"
    groups = [g for g in build_figures(desk, store, period, now).recurring if g.count >= RECURRING_ALERT_COUNT]
    if not groups:
        return f"{period.key}: no recurring problem"
    lb = Labels(desk.settings, desk.settings.language, desk.templates.phrases)
    table = Table(lb.t("report.recurring_problems"),
                  [lb.t("report.problem"), lb.t("report.type"), lb.t("report.tickets_2"), lb.t("report.numbers")],
                  [[g.title, lb.type(g.type), str(g.count), ", ".join(g.tickets)] for g in groups])
    summary = [{"label": lb.t("report.problems_that_came_back"), "value": str(len(groups))},
               {"label": lb.t("report.threshold"),
                "value": lb.t("report.recurring_threshold", count=RECURRING_ALERT_COUNT)}]
    queued = 0
    with store.session() as session:
        for person in people:
            rendered = desk.templates.render("report", lb.lang, {
                "recipient_name": person.name or person.address,
                "title": lb.t("report.recurring_problems_2"), "period_from": period.first.isoformat(),
                "period_to": period.last.isoformat(), "summary": summary, "tables": [table.as_context()],
                "charts": [],
            })
            queued += queue_mail(session, desk.settings, Outgoing(
                kind="recurring", to=[person.address], subject=rendered.subject, text=rendered.text,
                html=rendered.html, dedup_key=_dedup("recurring", period, person.address),
            ), now=now) is not None
    return f"{period.key}: {len(groups)} recurring, queued {queued}"
