"""Working days: the State Council's 2026 schedule, administrator-entered years, the cache."""

import datetime
import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import transaction

from workdays import calendar
from workdays.calendar import (
    CalendarUnavailable,
    add_working_days,
    calendar_status,
    is_working_day,
    working_days_between,
)
from workdays.models import CalendarDay, CalendarYear

pytestmark = pytest.mark.django_db

D = datetime.date
EXAMPLE_2027 = Path(calendar.__file__).parent / "data" / "example-2027.yaml"


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts from what its own database says, not what an earlier test cached."""
    calendar.clear_cache()
    yield
    calendar.clear_cache()


def load_example_2027():
    """The invented 2027 year, loaded as an administrator would."""
    call_command("load_calendar_year", str(EXAMPLE_2027), stdout=io.StringIO())


# 2026, as published by the State Council (and known to chinese-calendar).


def test_spring_festival_2026_days():
    # 春节 2/15–2/23 off; Saturday 2/14 and 2/28 are working days.
    assert is_working_day(D(2026, 2, 14))
    assert not any(is_working_day(D(2026, 2, day)) for day in range(15, 24))
    assert is_working_day(D(2026, 2, 24))
    assert is_working_day(D(2026, 2, 28))
    assert not is_working_day(D(2026, 3, 1))


def test_add_working_days_across_the_spring_festival():
    assert add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert add_working_days(D(2026, 2, 14), 1) == D(2026, 2, 24)
    # 2/24–2/27 are four days, the working Saturday 2/28 the fifth.
    assert add_working_days(D(2026, 2, 13), 6) == D(2026, 2, 28)


def test_add_working_days_across_national_day():
    # 国庆 10/1–10/7 off; Sunday 9/20 and Saturday 10/10 are working days.
    assert add_working_days(D(2026, 9, 19), 1) == D(2026, 9, 20)
    assert add_working_days(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert add_working_days(D(2026, 9, 30), 3) == D(2026, 10, 10)
    assert add_working_days(D(2026, 9, 30), 4) == D(2026, 10, 12)


def test_zero_working_days_is_the_start_even_on_a_holiday():
    assert add_working_days(D(2026, 10, 3), 0) == D(2026, 10, 3)


def test_a_datetime_counts_as_its_date():
    moment = datetime.datetime(2026, 9, 30, 17, 45)
    assert add_working_days(moment, 1) == D(2026, 10, 8)
    assert not is_working_day(datetime.datetime(2026, 10, 1, 9, 0))


def test_working_days_between_across_the_spring_festival():
    # After 2/13: 2/14, then 2/24–2/27, then 2/28.
    assert working_days_between(D(2026, 2, 13), D(2026, 2, 23)) == 1
    assert working_days_between(D(2026, 2, 13), D(2026, 2, 28)) == 6


def test_working_days_between_across_national_day():
    # After 9/18: 9/20 (Sunday, working), 9/21–9/24 (中秋 is 9/25–9/27), 9/28–9/30,
    # then 10/8, 10/9 and the working Saturday 10/10.
    assert working_days_between(D(2026, 9, 18), D(2026, 10, 7)) == 8
    assert working_days_between(D(2026, 9, 18), D(2026, 10, 10)) == 11


def test_working_days_between_is_the_inverse_of_add_working_days():
    start = D(2026, 1, 30)
    for days in range(0, 200, 7):
        assert working_days_between(start, add_working_days(start, days)) == days


def test_working_days_between_counts_nothing_backwards():
    assert working_days_between(D(2026, 5, 6), D(2026, 5, 6)) == 0
    assert working_days_between(D(2026, 5, 6), D(2026, 4, 30)) == 0


# A year nobody knows, and a year an administrator entered.


def test_a_year_without_calendar_is_reported_not_guessed():
    assert calendar_status(2027) == "missing"
    with pytest.raises(CalendarUnavailable) as raised:
        add_working_days(D(2026, 12, 28), 5)
    assert raised.value.year == 2027
    assert "2027年的法定节假日安排尚未录入" in str(raised.value)
    with pytest.raises(CalendarUnavailable):
        working_days_between(D(2026, 12, 28), D(2027, 1, 5))


def test_a_deadline_that_stays_in_2026_needs_no_2027_calendar():
    assert add_working_days(D(2026, 12, 28), 3) == D(2026, 12, 31)


def test_an_entered_year_is_used_with_its_holidays():
    load_example_2027()
    assert calendar_status(2027) == "admin"
    # 12/29–12/31 are three; the example's 元旦 is 1/1–1/3; 1/4 and 1/5 are four and five.
    assert add_working_days(D(2026, 12, 28), 5) == D(2027, 1, 5)
    assert working_days_between(D(2026, 12, 28), D(2027, 1, 5)) == 5


def test_an_entered_year_honours_its_adjusted_working_days():
    load_example_2027()
    # Example 春节: Sunday 1/31 worked, 2/5–2/13 off, Saturday 2/20 worked.
    assert is_working_day(D(2027, 1, 31))
    assert add_working_days(D(2027, 2, 4), 1) == D(2027, 2, 15)
    assert add_working_days(D(2027, 2, 18), 2) == D(2027, 2, 20)
    # Days it does not list follow their weekday.
    assert is_working_day(D(2027, 3, 3))
    assert not is_working_day(D(2027, 3, 6))


def test_an_entered_year_overrides_the_package():
    assert calendar_status(2026) == "package"
    assert add_working_days(D(2026, 2, 27), 1) == D(2026, 2, 28)
    assert add_working_days(D(2026, 2, 28), 1) == D(2026, 3, 2)
    year = CalendarYear.objects.create(year=2026, source="测试")
    CalendarDay.objects.create(calendar=year, date=D(2026, 3, 2), kind="holiday", name="测试")
    assert calendar_status(2026) == "admin"
    assert not is_working_day(D(2026, 3, 2))
    assert add_working_days(D(2026, 2, 28), 1) == D(2026, 3, 3)
    # The entry is the whole year: 2/28 is no longer a working Saturday, 春节 no longer off.
    assert add_working_days(D(2026, 2, 27), 1) == D(2026, 3, 3)
    assert is_working_day(D(2026, 2, 16))


# The cache.


def test_an_edited_day_is_seen_at_once():
    load_example_2027()
    assert not is_working_day(D(2027, 6, 9))
    day = CalendarDay.objects.get(date=D(2027, 6, 9))
    day.kind = CalendarDay.Kind.WORKDAY
    day.save()
    assert is_working_day(D(2027, 6, 9))
    day.delete()
    assert is_working_day(D(2027, 6, 9))  # a Wednesday, listed or not
    CalendarDay.objects.filter(date=D(2027, 1, 1)).delete()
    assert is_working_day(D(2027, 1, 1))


def test_a_deleted_year_is_unknown_again():
    load_example_2027()
    assert is_working_day(D(2027, 1, 4))
    CalendarYear.objects.filter(year=2027).delete()
    with pytest.raises(CalendarUnavailable):
        is_working_day(D(2027, 1, 4))


def test_a_year_with_no_entry_is_remembered_until_one_is_made(django_assert_num_queries):
    with django_assert_num_queries(1):
        calendar_status(2026)
    with django_assert_num_queries(0):
        for _ in range(100):
            add_working_days(D(2026, 1, 5), 20)
    CalendarYear.objects.create(year=2026, source="测试")
    assert calendar_status(2026) == "admin"


def test_a_year_is_read_once_then_served_from_memory(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    # Committed, as the admin or the command would: the cache is then shared again.
    with django_capture_on_commit_callbacks(execute=True):
        load_example_2027()
    with django_assert_num_queries(2):
        add_working_days(D(2027, 1, 4), 30)
    with django_assert_num_queries(0):
        for _ in range(100):
            add_working_days(D(2027, 1, 4), 30)


@pytest.mark.django_db(transaction=True)
def test_uncommitted_changes_do_not_outlive_their_transaction():
    # A real transaction, rolled back: what was read inside it must not stay in the cache.
    with pytest.raises(RuntimeError), transaction.atomic():
        load_example_2027()
        assert calendar_status(2027) == "admin"
        raise RuntimeError("rolled back")
    assert calendar_status(2027) == "missing"


# Validation and the loading command.


def test_a_day_must_lie_in_its_year():
    year = CalendarYear.objects.create(year=2027, source="测试")
    day = CalendarDay(calendar=year, date=D(2026, 12, 31), kind="holiday")
    with pytest.raises(ValidationError) as raised:
        day.full_clean()
    assert "date" in raised.value.message_dict


def test_loading_twice_changes_nothing():
    load_example_2027()
    first = list(CalendarDay.objects.values_list("date", "kind", "name"))
    load_example_2027()
    assert list(CalendarDay.objects.values_list("date", "kind", "name")) == first
    assert CalendarYear.objects.filter(year=2027).count() == 1
    assert CalendarDay.objects.filter(kind="holiday").count() == 29
    assert CalendarDay.objects.filter(kind="workday").count() == 6


def test_loading_replaces_the_days_of_that_year(tmp_path):
    load_example_2027()
    corrected = tmp_path / "2027.yaml"
    corrected.write_text(
        'year: 2027\nsource: "更正"\nholidays:\n  - {date: 2027-01-01, name: 元旦}\n',
        encoding="utf-8",
    )
    call_command("load_calendar_year", str(corrected), stdout=io.StringIO())
    assert CalendarYear.objects.get(year=2027).source == "更正"
    assert list(CalendarDay.objects.values_list("date", flat=True)) == [D(2027, 1, 1)]
    assert is_working_day(D(2027, 2, 8))


def test_loading_refuses_a_date_outside_the_year(tmp_path):
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(
        'year: 2027\nsource: "测试"\nholidays:\n  - {date: 2026-12-31, name: 元旦}\n',
        encoding="utf-8",
    )
    with pytest.raises(CommandError, match="2026-12-31"):
        call_command("load_calendar_year", str(wrong))
    assert not CalendarYear.objects.exists()


# The admin.


def test_admin_lists_years_with_their_day_count(admin_client):
    load_example_2027()
    page = admin_client.get("/admin/workdays/calendaryear/").content.decode()
    assert "示例（非官方）" in page
    assert ">35<" in page
    assert "未包含" in page
    year = CalendarYear.objects.get(year=2027)
    assert admin_client.get(f"/admin/workdays/calendaryear/{year.pk}/change/").status_code == 200
    assert admin_client.get("/admin/workdays/calendaryear/add/").status_code == 200


def test_admin_refuses_a_day_outside_its_year(admin_client):
    response = admin_client.post(
        "/admin/workdays/calendaryear/add/",
        {
            "year": "2027",
            "source": "测试",
            "days-TOTAL_FORMS": "1",
            "days-INITIAL_FORMS": "0",
            "days-0-date": "2026-12-31",
            "days-0-kind": "holiday",
            "days-0-name": "元旦",
        },
    )
    assert response.status_code == 200
    assert "2026-12-31不在2027年内" in response.content.decode()
    assert not CalendarYear.objects.exists()


def test_admin_saves_a_year_and_deadlines_use_it(admin_client):
    response = admin_client.post(
        "/admin/workdays/calendaryear/add/",
        {
            "year": "2027",
            "source": "测试",
            "days-TOTAL_FORMS": "1",
            "days-INITIAL_FORMS": "0",
            "days-0-date": "2027-01-01",
            "days-0-kind": "holiday",
            "days-0-name": "元旦",
        },
    )
    assert response.status_code == 302
    assert add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 4)


@pytest.mark.django_db(transaction=True)
def test_a_change_made_by_another_process_is_seen_once_the_copy_expires(monkeypatch):
    """QuerySet.update sends no signal: as if another process had changed the calendar."""
    day = datetime.date(2026, 3, 2)
    year = CalendarYear.objects.create(year=2026, source="测试")
    CalendarDay.objects.create(calendar=year, date=day, kind=CalendarDay.Kind.HOLIDAY)
    assert not calendar.is_working_day(day)
    CalendarDay.objects.filter(date=day).update(kind=CalendarDay.Kind.WORKDAY)
    assert not calendar.is_working_day(day)  # this process's copy is still fresh
    monkeypatch.setattr(calendar, "RELOAD_SECONDS", 0)
    assert calendar.is_working_day(day)
