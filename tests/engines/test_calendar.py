"""Business calendar: working-time arithmetic with fixed datetimes (no clock)."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engines.calendar import BusinessCalendar, CalendarError, parse_duration
from engines.errors import ValidationErrors

SH = ZoneInfo("Asia/Shanghai")
OFFICE = {
    "key": "office", "version": 1, "label": {"zh-CN": "办公时间", "en": "Office hours"},
    "timezone": "Asia/Shanghai",
    "hours": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    # 国庆 2024: Oct 1–7 off, Sunday Sep 29 and Saturday Oct 12 worked (调休)
    "holidays": [{"from": "2024-10-01", "to": "2024-10-07", "label": "国庆节"}],
    "workdays": ["2024-09-29", "2024-10-12"],
}
LUNCH = {**OFFICE, "key": "lunch",
         "hours": {d: [["09:00", "12:00"], ["13:30", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}}


def at(y, mo, d, h=0, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=SH)


@pytest.fixture
def office():
    return BusinessCalendar.from_definition(OFFICE)


def test_friday_evening_plus_two_hours_is_monday_ten(office):
    assert office.add_working_time(at(2024, 6, 7, 17), timedelta(hours=2)) == at(2024, 6, 10, 10)


def test_start_outside_hours_counts_from_next_span(office):
    assert office.add_working_time(at(2024, 6, 8, 23), timedelta(hours=1)) == at(2024, 6, 10, 10)
    assert office.add_working_time(at(2024, 6, 10, 7), timedelta(minutes=30)) == at(2024, 6, 10, 9, 30)


def test_holiday_is_skipped(office):
    # Monday 30 Sep 17:00 + 2h: Oct 1–7 are holidays, Tuesday Oct 8 09:00 resumes
    assert office.add_working_time(at(2024, 9, 30, 17), timedelta(hours=2)) == at(2024, 10, 8, 10)


def test_extra_working_day_counts(office):
    # Saturday Sep 28 is off, Sunday Sep 29 is a 调休 working day
    assert office.add_working_time(at(2024, 9, 28, 10), timedelta(hours=1)) == at(2024, 9, 29, 10)
    assert office.is_working_day(date(2024, 10, 12)) and not office.is_working_day(date(2024, 10, 13))


def test_two_spans_a_day_skip_lunch():
    cal = BusinessCalendar.from_definition(LUNCH)
    assert cal.add_working_time(at(2024, 6, 10, 11), timedelta(hours=2)) == at(2024, 6, 10, 14, 30)
    assert cal.working_time_between(at(2024, 6, 10, 8), at(2024, 6, 10, 20)) == timedelta(hours=7, minutes=30)


def test_working_time_between(office):
    assert office.working_time_between(at(2024, 6, 7, 17), at(2024, 6, 10, 10)) == timedelta(hours=2)
    assert office.working_time_between(at(2024, 6, 10, 10), at(2024, 6, 7, 17)) == -timedelta(hours=2)
    assert office.working_time_between(at(2024, 6, 8), at(2024, 6, 9, 23)) == timedelta(0)


def test_workdays_between_counts_half_open_range(office):
    assert office.workdays_between(date(2024, 6, 10), date(2024, 6, 17)) == 5
    # Sep 29 (调休) and Sep 30 count, Oct 1–7 do not, Oct 8 is excluded (half open)
    assert office.workdays_between(date(2024, 9, 28), date(2024, 10, 8)) == 2
    assert office.workdays_between(at(2024, 6, 17, 12), at(2024, 6, 10, 12)) == -5


def test_add_working_days_keeps_time_of_day(office):
    assert office.add_working_days(at(2024, 9, 27, 15), 2) == at(2024, 9, 30, 15)  # Fri → Sun(调休) → Mon
    assert office.add_working_days(at(2024, 9, 30, 15), 1) == at(2024, 10, 8, 15)


def test_naive_datetimes_are_local_time(office):
    assert office.add_working_time(datetime(2024, 6, 7, 17), timedelta(hours=2)) == at(2024, 6, 10, 10)


def test_utc_input_is_converted(office):
    utc = datetime(2024, 6, 7, 9, tzinfo=ZoneInfo("UTC"))  # 17:00 in Shanghai
    assert office.add_working_time(utc, timedelta(hours=2)) == at(2024, 6, 10, 10)


def test_duration_on_calendar_and_wall_clock(office):
    d = parse_duration("P1DT2H")
    assert (d.days, d.time) == (1, timedelta(hours=2))
    assert d.after(at(2024, 6, 7, 17)) == at(2024, 6, 8, 19)
    assert d.after(at(2024, 6, 7, 17), office) == at(2024, 6, 11, 10)
    assert parse_duration("P2W").days == 14
    assert parse_duration("PT90M").time == timedelta(minutes=90)


@pytest.mark.parametrize("text", ["P1Y", "P1M", "PT", "P", "2h", "", "PT-1H"])
def test_bad_durations_are_refused_with_code(text):
    with pytest.raises(CalendarError) as exc:
        parse_duration(text)
    assert exc.value.code == "calendar.bad_duration"


def test_definition_errors_are_listed_at_once():
    with pytest.raises(ValidationErrors) as exc:
        BusinessCalendar.from_definition({
            "key": "bad", "timezone": "Mars/Base",
            "hours": {"mon": [["18:00", "09:00"]], "funday": [], "tue": [["9am", "5pm"]]},
            "holidays": ["2024-13-01"], "workdays": []})
    codes = {e["code"] for e in exc.value.errors}
    assert codes == {"calendar.bad_timezone", "calendar.empty_span", "calendar.bad_weekday",
                     "calendar.bad_time", "calendar.bad_date"}


def test_calendar_without_hours_is_refused():
    with pytest.raises(CalendarError) as exc:
        BusinessCalendar.from_definition({"key": "none", "timezone": "UTC", "hours": {}})
    assert exc.value.code == "calendar.no_working_hours"


def test_negative_amount_is_refused(office):
    with pytest.raises(CalendarError):
        office.add_working_time(at(2024, 6, 7, 17), timedelta(hours=-1))


def test_schema_example_is_valid_and_compiles():
    import schemas
    example = schemas.load("calendar")["examples"][0]
    assert list(schemas.validator("calendar").iter_errors(example)) == []
    assert BusinessCalendar.from_definition(example).is_working_day(date(2024, 10, 12))
