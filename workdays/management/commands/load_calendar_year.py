"""Load one year's holidays and adjusted working days (调休) from a small YAML file.

The file looks like::

    year: 2027
    source: "国务院办公厅关于2027年部分节假日安排的通知"
    holidays:
      - {date: 2027-01-01, name: 元旦}
    workdays:
      - {date: 2027-02-20, name: 春节调休}

Loading replaces every day of that year, so running it again with the same file changes
nothing, and running it with a corrected file leaves no stale day behind.
"""

import dataclasses
import datetime
from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from workdays import calendar
from workdays.models import CalendarDay, CalendarYear

SOURCE_MAX_LENGTH = CalendarYear._meta.get_field("source").max_length
NAME_MAX_LENGTH = CalendarDay._meta.get_field("name").max_length


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A year's schedule as read from the file, checked but not yet stored."""

    year: int
    source: str
    days: list[CalendarDay]


class Command(BaseCommand):
    help = "Load a year's holidays and adjusted working days from YAML; replaces that year."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, file, **options):
        schedule = read_schedule(file)
        store(schedule)
        holidays = sum(day.kind == CalendarDay.Kind.HOLIDAY for day in schedule.days)
        self.stdout.write(
            _("%(year)s年：已载入%(holidays)s个放假日、%(workdays)s个调休上班日。")
            % {
                "year": schedule.year,
                "holidays": holidays,
                "workdays": len(schedule.days) - holidays,
            }
        )


def read_schedule(path: Path) -> Schedule:
    """The schedule in ``path``; CommandError, saying what is wrong, if it is not usable."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CommandError(_("无法读取%(path)s：%(error)s") % {"path": path, "error": exc}) from exc
    if not isinstance(document, dict):
        raise CommandError(_("%(path)s的内容应为一个映射。") % {"path": path})
    year = document.get("year")
    if not isinstance(year, int) or not 1900 < year < 2200:
        raise CommandError(_("year应为四位年份。"))
    source = str(document.get("source") or "").strip()
    if not source or len(source) > SOURCE_MAX_LENGTH:
        raise CommandError(
            _("source（依据）不能为空，且不超过%(n)s个字。") % {"n": SOURCE_MAX_LENGTH}
        )
    days = [
        *_read_days(document, "holidays", CalendarDay.Kind.HOLIDAY, year),
        *_read_days(document, "workdays", CalendarDay.Kind.WORKDAY, year),
    ]
    _check_no_date_twice(days)
    return Schedule(year=year, source=source, days=days)


def store(schedule: Schedule) -> None:
    """Make the database hold exactly ``schedule`` for its year."""
    with transaction.atomic():
        calendar_year, _created = CalendarYear.objects.update_or_create(
            year=schedule.year, defaults={"source": schedule.source}
        )
        # Also days misfiled under another year's entry: the date is unique across years.
        CalendarDay.objects.filter(date__year=schedule.year).delete()
        for day in schedule.days:
            day.calendar = calendar_year
        CalendarDay.objects.bulk_create(schedule.days)
    # bulk_create sends no post_save signal, so the cache does not learn of the new days.
    calendar.clear_cache()


def _read_days(document: dict, key: str, kind: str, year: int) -> list[CalendarDay]:
    """The entries under ``key`` as unsaved CalendarDays of ``kind``, each checked."""
    entries = document.get(key) or []
    if not isinstance(entries, list):
        raise CommandError(_("%(key)s应为列表。") % {"key": key})
    return [_read_day(entry, key, kind, year) for entry in entries]


def _read_day(entry, key: str, kind: str, year: int) -> CalendarDay:
    """One ``{date: ..., name: ...}`` entry as an unsaved CalendarDay."""
    if not isinstance(entry, dict) or "date" not in entry:
        raise CommandError(_("%(key)s中的每一项都应包含date。") % {"key": key})
    date = _read_date(entry["date"])
    if date is None or date.year != year:
        raise CommandError(
            _("%(key)s中的日期%(date)s不在%(year)s年内。")
            % {"key": key, "date": entry["date"], "year": year}
        )
    name = str(entry.get("name") or "").strip()
    if len(name) > NAME_MAX_LENGTH:
        raise CommandError(_("节日名称“%(name)s”过长。") % {"name": name})
    return CalendarDay(date=date, kind=kind, name=name)


def _read_date(value) -> datetime.date | None:
    """A date from YAML, which gives unquoted dates as dates and quoted ones as strings."""
    if isinstance(value, datetime.datetime):
        return None  # a time of day means the entry is not what we think it is
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        return None


def _check_no_date_twice(days: list[CalendarDay]) -> None:
    """A date is either a holiday or a working day, and listed once."""
    seen = set()
    for day in days:
        if day.date in seen:
            raise CommandError(_("日期%(date)s重复出现。") % {"date": day.date.isoformat()})
        seen.add(day.date)
