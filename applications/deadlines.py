"""Deadlines in Chinese working days, by the statutory holiday calendar.

``chinese-calendar`` knows each year only once the State Council has published it. A deadline
that reaches a year it does not know is not guessed: the caller gets ``CalendarUnavailable``
and records the deadline as unknown, with the reason, instead of failing the submission.
"""

import datetime

import chinese_calendar


class CalendarUnavailable(Exception):
    def __init__(self, year: int):
        self.year = year
        super().__init__(f"{year}年的法定节假日安排尚未录入，暂无法计算承诺办结日期。")


def is_working_day(day: datetime.date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        raise CalendarUnavailable(day.year) from None


def add_working_days(start: datetime.date, days: int) -> datetime.date:
    """The date on which ``days`` working days after ``start`` have passed.

    The day of submission does not count (it is day 0), as with 法定期限 in general.
    """
    day = start
    remaining = days
    while remaining > 0:
        day += datetime.timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day
