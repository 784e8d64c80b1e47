"""China's public holidays and make-up working days (调休补班), read from the `holidays` package.

The State Council publishes each year's schedule (国务院办公厅关于X年部分节假日安排的通知)
around November of the year before. `holidays.China` carries those notices (2001 onwards;
0.109 has them up to 2026, checked against the 2024–2026 notices): the swapped weekdays are
holidays ("休息日（由 … 调休）") and the weekend days people work instead are in
`weekend_workdays`. Weekend days inside a span (e.g. Sat–Sun in 国庆 Oct 1–7) are simply not
working days, since they are weekend days that are not make-up days.

For a year the package has no notice for yet, it still lists the statutory days (with guessed
in-lieu days) but no make-up days; we log a warning so the operator can fill the gap with
`extra_holidays` / `extra_workdays` until a newer `holidays` release has the notice. The warning
is said once a process (a calendar is built by every command, and again when the year turns),
and not at all for a year the operator's own days fill.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date
from importlib.metadata import version

import holidays

logger = logging.getLogger(__name__)

# Every year since 2008 has had at least one make-up working day, so a year without any means
# the package does not know that year's notice.
_MAKE_UP_DAYS_SINCE = 2008
_warned: set[int] = set()  # the years warned about in this process


def china_days(years: Iterable[int], filled: Iterable[int] = ()) -> tuple[frozenset[date], frozenset[date]]:
    """Return (days off, make-up working days) in mainland China for the given years. ``filled``: the years the
    operator's own extra days cover, for which a missing schedule is no news."""
    wanted = sorted(set(years))
    if not wanted:
        return frozenset(), frozenset()
    # A notice can put a make-up day in the previous December (e.g. 2005-12-31 for the 2006
    # New Year), so also read the year after the last one asked for.
    table = holidays.country_holidays("CN", years=[*wanted, wanted[-1] + 1])
    off = frozenset(d for d in table if d.year in wanted)
    make_up_all: set[date] = set(getattr(table, "weekend_workdays", set()))
    make_up = frozenset(d for d in make_up_all if d.year in wanted)
    unknown = {y for y in wanted if y >= _MAKE_UP_DAYS_SINCE and not any(d.year == y for d in make_up)}
    for year in sorted(unknown - set(filled) - _warned):
        _warned.add(year)
        logger.warning(
            "holidays %s has no published 调休 schedule for %d: its make-up working days are "
            "unknown and its holidays are estimates; set that year's days in business_hours.extra_workdays "
            "and extra_holidays (from the State Council's notice), or upgrade holidays",
            version("holidays"),
            year,
        )
    return off, make_up
