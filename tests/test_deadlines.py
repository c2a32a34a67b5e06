import datetime

import pytest

from applications.deadlines import CalendarUnavailable, add_working_days

D = datetime.date


def test_working_days_skip_national_day_and_count_the_adjusted_saturday():
    # 2026: 国庆 10/1–10/7 off; Saturday 10/10 is a working day.
    assert add_working_days(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert add_working_days(D(2026, 9, 30), 3) == D(2026, 10, 10)


def test_working_days_across_the_spring_festival():
    # 2026: 春节 2/15–2/23 off; Saturday 2/14 and 2/28 are working days.
    assert add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert add_working_days(D(2026, 2, 14), 1) == D(2026, 2, 24)


def test_a_year_without_calendar_is_reported_not_guessed():
    with pytest.raises(CalendarUnavailable) as raised:
        add_working_days(D(2026, 12, 28), 5)
    assert raised.value.year == 2027
    assert "2027" in str(raised.value)
