"""Chinese working days, for promised time limits and for how long a case took.

A year that an administrator has entered (``CalendarYear``) is the authority for that year,
even when the ``chinese-calendar`` package also knows it: the package can lag behind or be
wrong, the administrator has the State Council's notice in hand. Otherwise the package
answers. A year known to neither is never guessed: callers get ``CalendarUnavailable`` and say
so to the user.

Deadlines are computed thousands of times a second, so each year is turned once into a dict
of the days that differ from the Mon–Fri rule. An administrator-entered year is read from the
database once per process and kept in memory, as is the fact that a year has no entry.
Saving or deleting a ``CalendarYear`` or ``CalendarDay`` empties the cache (the signals are
connected in ``WorkdaysConfig.ready``), again when the transaction commits, and a thread
never caches rows of its own that are not yet committed. Other processes (web workers,
Celery workers) see a change within ``RELOAD_SECONDS``, when their copy expires.
"""

import datetime
import functools
import threading
import time
from collections.abc import Callable

import chinese_calendar
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext

from .models import CalendarDay, CalendarYear

ONE_DAY = datetime.timedelta(days=1)

#: How long a process trusts its copy of an administrator-entered year (other processes'
#: changes reach it within this time).
RELOAD_SECONDS = 300.0

# year -> (when read, {date: is a working day} for the days an administrator listed); None
# when the year has no administrator entry (cached too, so package years cost no query).
_years: dict[int, tuple[float, dict[datetime.date, bool] | None]] = {}
# Bumped by every invalidation, so that a lookup that read the database before a change
# does not store what it read after the change emptied the cache.
_generation = 0
_lock = threading.Lock()
# Per thread: the outermost atomic block in which this thread changed the calendar. Until it
# ends, the thread reads its own uncommitted rows, which must not reach the shared cache (a
# rollback would leave them there).
_local = threading.local()


class CalendarUnavailable(Exception):
    """A date falls in a year for which no holiday schedule is known."""

    def __init__(self, year: int):
        self.year = year
        super().__init__(
            gettext("%(year)s年的法定节假日安排尚未录入，暂无法计算承诺办结日期。") % {"year": year}
        )


def is_working_day(day: datetime.date) -> bool:
    """Whether government offices work on ``day``; CalendarUnavailable if nobody knows."""
    day = _as_date(day)
    return _rule_for(day.year)(day)


def add_working_days(start: datetime.date, days: int) -> datetime.date:
    """The date on which ``days`` working days after ``start`` have passed.

    The day of ``start`` itself does not count (it is day 0), as with 法定期限 in general, so
    ``days=0`` gives ``start``.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    day = _as_date(start)
    rule, rule_year = None, None
    while days > 0:
        day += ONE_DAY
        if day.year != rule_year:
            rule, rule_year = _rule_for(day.year), day.year
        if rule(day):
            days -= 1
    return day


def working_days_between(start: datetime.date, end: datetime.date) -> int:
    """How many working days lie after ``start``, up to and including ``end``.

    Zero when ``end`` is not after ``start``. Measures how long something took, and how long
    the clock stood still while a supplement was awaited.
    """
    day, end = _as_date(start), _as_date(end)
    count = 0
    rule, rule_year = None, None
    while day < end:
        day += ONE_DAY
        if day.year != rule_year:
            rule, rule_year = _rule_for(day.year), day.year
        count += rule(day)
    return count


def calendar_status(year: int) -> str:
    """Who knows ``year``: "admin" (entered here), "package" (chinese-calendar) or "missing"."""
    if _admin_year(year) is not None:
        return "admin"
    if package_knows(year):
        return "package"
    return "missing"


def package_knows(year: int) -> bool:
    """Whether the installed chinese-calendar has the State Council's schedule for ``year``."""
    return _package_year(year) is not None


@functools.cache
def _package_year(year: int) -> dict[datetime.date, bool] | None:
    """chinese-calendar's exceptions to the Mon–Fri rule in ``year``, or None if unknown.

    Asked once per year: the package's own ``is_workday`` rescans its tables on every call,
    far too slow for deadlines computed thousands of times a second.
    """
    try:
        chinese_calendar.is_workday(datetime.date(year, 1, 1))
    except NotImplementedError:
        return None
    day, exceptions = datetime.date(year, 1, 1), {}
    while day.year == year:
        working = chinese_calendar.is_workday(day)
        if working != (day.weekday() < 5):
            exceptions[day] = working
        day += ONE_DAY
    return exceptions


def clear_cache() -> None:
    """Forget every cached year (lookups already reading the database will not store)."""
    global _generation
    with _lock:
        _years.clear()
        _generation += 1


def invalidate(**signal_kwargs) -> None:
    """Forget every cached year; a signal receiver for calendar saves and deletions."""
    clear_cache()
    using = signal_kwargs.get("using", DEFAULT_DB_ALIAS)
    connection = transaction.get_connection(using)
    if connection.in_atomic_block and connection.atomic_blocks:
        # Other threads may cache the committed rows again until this transaction commits,
        # and this thread must not cache its uncommitted ones (see _admin_year).
        _local.open_transaction = connection.atomic_blocks[0]
        transaction.on_commit(_forget_after_commit, using=using)


def connect_signals() -> None:
    """Empty the cache whenever a calendar year or one of its days is saved or deleted."""
    for model in (CalendarYear, CalendarDay):
        for signal in (post_save, post_delete):
            signal.connect(invalidate, sender=model, dispatch_uid=f"workdays-{model.__name__}")


def _forget_after_commit() -> None:
    """After the writing transaction commits, nobody may keep what was cached before."""
    _local.open_transaction = None
    clear_cache()


def _as_date(day: datetime.date) -> datetime.date:
    """A date from a date or datetime, since a datetime never equals the date it falls on."""
    return day.date() if isinstance(day, datetime.datetime) else day


def _rule_for(year: int) -> Callable[[datetime.date], bool]:
    """The function that says whether a day of ``year`` is a working day."""
    listed = _admin_year(year)
    if listed is None:
        listed = _package_year(year)
    if listed is None:
        raise CalendarUnavailable(year)
    return lambda day: listed.get(day, day.weekday() < 5)


def _admin_year(year: int) -> dict[datetime.date, bool] | None:
    """The administrator-listed days of ``year``, or None when it has no entry; cached."""
    if _in_transaction_that_changed_calendar():
        return _read_year(year)
    cached = _years.get(year)
    now = time.monotonic()
    if cached is not None and now - cached[0] < RELOAD_SECONDS:
        return cached[1]
    generation = _generation
    listed = _read_year(year)
    with _lock:
        if generation == _generation:
            _years[year] = (now, listed)
    return listed


def _in_transaction_that_changed_calendar() -> bool:
    """Whether this thread is still inside a transaction in which it changed the calendar.

    Its reads then see rows that a rollback may undo, so they bypass the shared cache. The
    outermost ``atomic`` block identifies the transaction: once it has gone (committed or
    rolled back, including a test's transaction), the cache is emptied and used again.
    """
    marker = getattr(_local, "open_transaction", None)
    if marker is None:
        return False
    blocks = transaction.get_connection().atomic_blocks
    if blocks and blocks[0] is marker:
        return True
    _local.open_transaction = None
    clear_cache()
    return False


def _read_year(year: int) -> dict[datetime.date, bool] | None:
    """The days listed for ``year`` in the database, or None when it has no entry."""
    if not CalendarYear.objects.filter(year=year).exists():
        return None
    days = CalendarDay.objects.filter(calendar__year=year).values_list("date", "kind")
    return {date: kind == CalendarDay.Kind.WORKDAY for date, kind in days}
