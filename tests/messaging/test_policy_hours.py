"""The next allowed slot (`messaging.quiet_hours.slot_next`), a pure function: France's default
windows, public holidays, the DST changes of Europe/Paris (last Sundays of March and October), and
the brand's own windows read from JSON."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import holidays
import pytest

from messaging.quiet_hours import (
    CALL_HOURS,
    EVERY_DAY,
    MARKETING_HOURS,
    MIDNIGHT,
    Hours,
    HoursInvalid,
    Window,
    hours_parse,
    slot_next,
    wall_clock,
)

PARIS = ZoneInfo("Europe/Paris")
FRANCE = holidays.country_holidays("FR")
# What `messaging.policy` asks of each kind of message.
MARKETING_CALL = [MARKETING_HOURS["voice"], CALL_HOURS]
MARKETING_SMS = [MARKETING_HOURS["sms"]]
ANY_CALL = [CALL_HOURS]


def paris(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=PARIS)


def slot(at: datetime, hours) -> datetime | None:
    return slot_next(at=at, tz=PARIS, hours=hours, holidays=FRANCE)


@pytest.mark.parametrize(
    ("at", "hours", "expected"),
    [
        # Marketing calls: weekdays 10:00-13:00 and 14:00-20:00.
        (paris(2027, 1, 15, 19, 59), MARKETING_CALL, paris(2027, 1, 15, 19, 59)),  # Friday, still open
        (paris(2027, 1, 15, 20, 0), MARKETING_CALL, paris(2027, 1, 18, 10, 0)),  # Friday 20:00 -> Monday
        (paris(2027, 1, 16, 11, 0), MARKETING_CALL, paris(2027, 1, 18, 10, 0)),  # Saturday
        (paris(2027, 1, 17, 15, 0), MARKETING_CALL, paris(2027, 1, 18, 10, 0)),  # Sunday
        (paris(2027, 1, 12, 7, 0), MARKETING_CALL, paris(2027, 1, 12, 10, 0)),  # early morning
        (paris(2027, 1, 12, 12, 59), MARKETING_CALL, paris(2027, 1, 12, 12, 59)),
        (paris(2027, 1, 12, 13, 0), MARKETING_CALL, paris(2027, 1, 12, 14, 0)),  # the lunch gap
        (paris(2027, 1, 12, 13, 30), MARKETING_CALL, paris(2027, 1, 12, 14, 0)),
        (paris(2027, 1, 12, 14, 0), MARKETING_CALL, paris(2027, 1, 12, 14, 0)),
        (paris(2027, 7, 13, 20, 0), MARKETING_CALL, paris(2027, 7, 15, 10, 0)),  # 14 July (a Wednesday)
        (paris(2027, 7, 14, 11, 0), MARKETING_CALL, paris(2027, 7, 15, 10, 0)),
        (paris(2026, 5, 1, 11, 0), MARKETING_CALL, paris(2026, 5, 4, 10, 0)),  # 1 May, a Friday
        (paris(2026, 12, 24, 20, 0), MARKETING_CALL, paris(2026, 12, 28, 10, 0)),  # Christmas, a Friday
        (paris(2027, 3, 26, 20, 0), MARKETING_CALL, paris(2027, 3, 30, 10, 0)),  # Easter Monday after
        # Marketing SMS: Monday to Saturday 08:00-20:00, not on public holidays.
        (paris(2027, 1, 16, 19, 59), MARKETING_SMS, paris(2027, 1, 16, 19, 59)),  # Saturday, open
        (paris(2027, 1, 16, 20, 0), MARKETING_SMS, paris(2027, 1, 18, 8, 0)),
        (paris(2027, 1, 17, 10, 0), MARKETING_SMS, paris(2027, 1, 18, 8, 0)),  # Sunday
        (paris(2027, 1, 12, 7, 59), MARKETING_SMS, paris(2027, 1, 12, 8, 0)),
        (paris(2026, 5, 1, 10, 0), MARKETING_SMS, paris(2026, 5, 2, 8, 0)),  # 1 May -> Saturday
        (paris(2027, 7, 14, 9, 0), MARKETING_SMS, paris(2027, 7, 15, 8, 0)),
        (paris(2026, 12, 25, 12, 0), MARKETING_SMS, paris(2026, 12, 26, 8, 0)),
        # Calls of any purpose: 08:00-21:00 every day, public holidays included.
        (paris(2027, 1, 12, 23, 0), ANY_CALL, paris(2027, 1, 13, 8, 0)),
        (paris(2026, 12, 25, 12, 0), ANY_CALL, paris(2026, 12, 25, 12, 0)),
        (paris(2027, 1, 17, 20, 59), ANY_CALL, paris(2027, 1, 17, 20, 59)),
        (paris(2027, 1, 17, 21, 0), ANY_CALL, paris(2027, 1, 18, 8, 0)),
    ],
)
def test_the_next_slot_of_frances_default_hours(at, hours, expected):
    assert slot(at, hours) == expected


@pytest.mark.parametrize(
    ("at", "hours", "expected_utc"),
    [
        # The night before clocks go forward (Sunday 29 March 2026, 02:00 -> 03:00): the slot is
        # the wall-clock time after the change, one hour less away than before it.
        (paris(2026, 3, 28, 22, 0), ANY_CALL, datetime(2026, 3, 29, 6, 0, tzinfo=UTC)),  # 9 h, not 10
        (paris(2026, 3, 28, 21, 0), MARKETING_SMS, datetime(2026, 3, 30, 6, 0, tzinfo=UTC)),
        (paris(2026, 3, 27, 20, 0), MARKETING_CALL, datetime(2026, 3, 30, 8, 0, tzinfo=UTC)),
        # The day of it, before and after the change.
        (paris(2026, 3, 29, 1, 30), ANY_CALL, datetime(2026, 3, 29, 6, 0, tzinfo=UTC)),
        (paris(2026, 3, 29, 21, 30), ANY_CALL, datetime(2026, 3, 30, 6, 0, tzinfo=UTC)),
        # Back (Sunday 25 October 2026, 03:00 -> 02:00): one hour more.
        (paris(2026, 10, 24, 22, 0), ANY_CALL, datetime(2026, 10, 25, 7, 0, tzinfo=UTC)),  # 11 h
        (paris(2026, 10, 24, 21, 0), MARKETING_SMS, datetime(2026, 10, 26, 7, 0, tzinfo=UTC)),
        (paris(2026, 10, 23, 20, 0), MARKETING_CALL, datetime(2026, 10, 26, 9, 0, tzinfo=UTC)),
        (paris(2026, 10, 25, 1, 30), ANY_CALL, datetime(2026, 10, 25, 7, 0, tzinfo=UTC)),
        (paris(2026, 10, 25, 21, 30), ANY_CALL, datetime(2026, 10, 26, 7, 0, tzinfo=UTC)),
    ],
)
def test_slots_across_the_dst_changes_are_wall_clock_times(at, hours, expected_utc):
    assert slot(at, hours) == expected_utc


NIGHT_WINDOW = [Hours(windows=(Window(days=EVERY_DAY, start=time(2, 30), end=time(4, 0)),))]


@pytest.mark.parametrize(
    ("at", "expected_utc"),
    [
        # 02:30 does not exist on 29 March 2026: the window opens when the clocks reach 03:00.
        (datetime(2026, 3, 28, 23, 0, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),  # 03:30 CEST
        (datetime(2026, 3, 29, 2, 0, tzinfo=UTC), datetime(2026, 3, 30, 0, 30, tzinfo=UTC)),  # 04:00: shut
        # 02:30 happens twice on 25 October 2026: the window opens at the first.
        (datetime(2026, 10, 24, 23, 0, tzinfo=UTC), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    ],
)
def test_a_window_starting_at_a_time_the_clocks_skip_or_repeat(at, expected_utc):
    assert slot(at, NIGHT_WINDOW) == expected_utc


def test_wall_clock_times_on_the_days_of_the_changes():
    assert wall_clock(date(2026, 3, 29), time(2, 30), PARIS) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert wall_clock(date(2026, 3, 29), time(3, 0), PARIS) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert wall_clock(date(2026, 3, 29), time(1, 59), PARIS) == datetime(2026, 3, 29, 0, 59, tzinfo=UTC)
    assert wall_clock(date(2026, 10, 25), time(2, 30), PARIS) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert wall_clock(date(2026, 10, 25), time(3, 0), PARIS) == datetime(2026, 10, 25, 2, 0, tzinfo=UTC)


def test_a_window_to_midnight_and_windows_that_never_meet():
    late = [Hours(windows=(Window(days=EVERY_DAY, start=time(22), end=MIDNIGHT),))]
    assert slot(paris(2027, 1, 12, 23, 30), late) == paris(2027, 1, 12, 23, 30)
    assert slot(paris(2027, 1, 13, 0, 10), late) == paris(2027, 1, 13, 22, 0)
    assert slot(paris(2027, 1, 12, 23, 30), [*late, CALL_HOURS]) is None
    always = [Hours(windows=(Window(days=EVERY_DAY, start=MIDNIGHT, end=MIDNIGHT),), public_holidays=True)]
    assert slot(paris(2026, 12, 25, 3, 0), always) == paris(2026, 12, 25, 3, 0)


def test_the_brands_own_hours_are_read_from_json():
    parsed = hours_parse(
        {
            "sms": {
                "windows": [{"days": ["sat", "sun"], "start": "09:30", "end": "24:00"}],
                "public_holidays": True,
            },
            "email": {"windows": [{"days": ["mon"], "start": "00:00", "end": "12:00"}]},
        },
        channels=["email", "sms", "voice", "post"],
    )
    assert parsed["sms"] == Hours(
        windows=(Window(days=frozenset({5, 6}), start=time(9, 30), end=MIDNIGHT),), public_holidays=True
    )
    assert parsed["email"].public_holidays is False
    assert slot(paris(2026, 12, 25, 8, 0), [parsed["sms"]]) == paris(
        2026, 12, 26, 9, 30
    )  # Friday -> Saturday


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ([], "must be an object of channels"),
        ({"fax": {"windows": []}}, "fax: not a channel"),
        ({"sms": []}, "sms: must be an object with windows and public_holidays"),
        ({"sms": {"windows": []}}, "sms.windows: must be a list of at least one window"),
        ({"sms": {"windows": [1]}}, "sms.windows[0]: must be an object with days, start and end"),
        (
            {"sms": {"windows": [{"days": ["lun"], "start": "08:00", "end": "20:00"}]}},
            "sms.windows[0].days: must be a list of days among mon, tue",
        ),
        (
            {"sms": {"windows": [{"days": ["mon", "mon"], "start": "08:00", "end": "20:00"}]}},
            "sms.windows[0].days: a day is repeated",
        ),
        (
            {"sms": {"windows": [{"days": ["mon"], "start": "25:00", "end": "20:00"}]}},
            "sms.windows[0].start: '25:00' is not a time of day as HH:MM (00:00 to 23:59)",
        ),
        (
            {"sms": {"windows": [{"days": ["mon"], "start": "8h", "end": "20:00"}]}},
            "sms.windows[0].start: '8h' is not a time of day",
        ),
        (
            {"sms": {"windows": [{"days": ["mon"], "start": "08:00", "end": "07:00"}]}},
            "sms.windows[0].end: must be after start (08:00)",
        ),
        (
            {"voice": {"windows": [{"days": ["mon"], "start": "08:00", "end": "20:00", "x": 1}]}},
            "voice.windows[0].x: unknown field",
        ),
        (
            {
                "sms": {
                    "windows": [{"days": ["mon"], "start": "08:00", "end": "20:00"}],
                    "public_holidays": "no",
                }
            },
            "sms.public_holidays: must be true or false",
        ),
    ],
)
def test_bad_hours_are_refused_naming_their_path(value, error):
    with pytest.raises(HoursInvalid) as refused:
        hours_parse(value, channels=["email", "sms", "voice", "post"])
    assert any(message.startswith(error) for message in refused.value.errors), refused.value.errors
